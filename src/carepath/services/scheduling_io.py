"""Files into scheduling: batch enrolment and importing fixed appointments (export is
``appointment_export``).

Batch enrolment (columns ``patient_id,pathway_id,start[,therapist_id][,referred]
[,evaluation_appointment]``: the referral date the pathway's ``first_visit_window`` counts
from, and an imported evaluation that starts the episode — see ``first_visits``) checks every
row first — a row that contradicts the config stops the batch with every problem listed and
nothing booked — then schedules all episodes together (``schedule_batch``: most constrained
first, round-robin by week) in one transaction. An episode that cannot be booked whole is
reported and books nothing, unless ``partial``.

Import (columns ``patient_id,therapist_id,visit_type,start[,minutes][,resource]``) brings
bookings from a previous system in as fixed appointments, each checked against the hard
constraints (``resource`` names the room or unit it holds, ``pool-1`` or ``pool-1#0``); a
conflict is reported by line. Nothing is written when any row fails, unless
``skip_conflicts``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import PatientRow
from carepath.domain.config.models import Clinic
from carepath.domain.scheduling import VisitRequest, check_slot, schedule_batch
from carepath.domain.scheduling.availability import to_minute
from carepath.domain.scheduling.episode import calendar_for
from carepath.domain.scheduling.improve import Improvement, improve
from carepath.domain.scheduling.one_visit import requirement_for
from carepath.domain.scheduling.planning import plan_episode
from carepath.domain.scheduling.types import (
    Busy,
    EpisodeRequest,
    EpisodeSchedule,
    Placement,
    Unplaced,
)
from carepath.domain.timeline import Enrol, EpisodeView, TimelineConflict, decide
from carepath.domain.timeutil import horizon_problem
from carepath.errors import CarepathError, InputError, SlotTaken
from carepath.services import App
from carepath.services.booking_store import (
    NewBooking,
    clinic_with_leave,
    clinic_zone,
    flush_or_taken,
    guard_placements,
    insert_placements,
    load_busy,
)
from carepath.services.enrolment_store import (
    check_horizon,
    check_start,
    no_slot_error,
    not_before,
    save_enrolments,
)
from carepath.services.events import AppointmentsBooked, publish
from carepath.services.first_visits import Evaluation, find_evaluation, parse_referred
from carepath.services.local_time import parse_local
from carepath.services.patients import from_row, read_table
from carepath.services.timeline_store import load_timeline

BATCH_RETRIES = 3  # a batch that lost a race schedules again on fresh data


@dataclass
class BatchResult:
    """Per line of a batch: the episode booked, or why not."""

    booked: dict[int, int] = field(default_factory=dict)  # line → episode id
    failed: dict[int, str] = field(default_factory=dict)  # line → the reason
    # The same request again books nothing: line → the running episode it asked for
    # (enrolled before), or line → the earlier line of this batch that asks the same.
    existing: dict[int, int] = field(default_factory=dict)
    repeated: dict[int, int] = field(default_factory=dict)
    visits: int = 0
    waitlisted: int = 0
    waitlist: list[dict[str, Any]] = field(default_factory=list)  # one row per visit
    improvement: Improvement | None = None  # with --optimize-seconds


def waitlist_rows(line: int, patient_id: str, episode_id: int | None,
                  schedule: EpisodeSchedule) -> list[dict[str, Any]]:
    """The visits of one batch line that were not booked, each with its binding constraint
    and the nearest real alternative: what a scheduler works through by hand."""
    return [{"line": line, "patient": patient_id, "pathway": schedule.plan.pathway_id,
             "episode": episode_id, "visit": u.requirement.seq, "name": u.requirement.name,
             "week": u.requirement.week,
             "window": f"{u.requirement.earliest}..{u.requirement.latest}",
             "reason": u.constraint,
             "nearest": u.alternatives[0] if u.alternatives else ""}
            for u in schedule.unplaced]


BATCH_COLUMNS = ("patient_id", "pathway_id", "start", "therapist_id", "referred",
                 "evaluation_appointment")
IMPORT_COLUMNS = ("patient_id", "therapist_id", "visit_type", "start", "minutes", "resource")
LONGEST_MINUTES = 480  # a visit of eight hours; the busy-time reads assume none is longer


def _rows(path: Path, columns: tuple[str, ...],
          required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for line, record in read_table(path, columns, required):
        missing = [c for c in required if not (record.get(c) or "").strip()]
        if missing:
            raise InputError(f"{path.name} line {line}", f"missing {', '.join(missing)}",
                             f"columns: {', '.join(required)}")
        rows.append((line, {k: (v or "").strip() for k, v in record.items() if k}))
    return rows


def enroll_batch(app: App, path: Path, *, partial: bool = False,
                 optimize_seconds: float = 0.0) -> BatchResult:
    """Enrol every row of ``path`` with a view across all of them (see module docstring);
    ``optimize_seconds`` > 0 then runs the improvement phase (``domain.scheduling.improve``)
    for at most that long, inside the same transaction, before anything is written."""
    requests, problems = [], []
    evaluations: dict[int, Evaluation] = {}  # line → the imported evaluation it starts with
    with transaction(app.engine) as session:
        for line, row in _rows(path, BATCH_COLUMNS, ("patient_id", "pathway_id")):
            try:
                request, evaluation = _request(app, session, line, row, check_start)
            except CarepathError as error:
                problems.append(f"line {line}: {error}")
                continue
            requests.append(request)
            if evaluation is not None:
                evaluations[line] = evaluation
    problems += _shared_evaluations(evaluations)
    if problems:
        raise InputError(str(path), f"{len(problems)} problem(s), nothing booked:\n  "
                         + "\n  ".join(problems), "fix the rows and run again")
    for attempt in range(BATCH_RETRIES):
        try:
            return _book_batch(app, requests, partial, evaluations, optimize_seconds)
        except SlotTaken:  # a concurrent booking or leave won: schedule again on fresh data
            if attempt == BATCH_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _shared_evaluations(evaluations: dict[int, Evaluation]) -> list[str]:
    """One imported evaluation starts one episode: a second line naming it is an error."""
    first_line: dict[int, int] = {}
    problems = []
    for line, evaluation in sorted(evaluations.items()):
        earlier = first_line.setdefault(evaluation.appointment_id, line)
        if earlier != line:
            problems.append(f"line {line}: evaluation_appointment {evaluation.appointment_id} "
                            f"already starts line {earlier}'s episode — name another "
                            "appointment, or leave the column empty to book one")
    return problems


def _book_batch(app: App, requests: list[EpisodeRequest], partial: bool,
                evaluations: dict[int, Evaluation], optimize_seconds: float) -> BatchResult:
    result = BatchResult()
    with transaction(app.engine) as session:
        requests = _new_requests(session, app, requests, result)
        first = min((not_before(app, r.plan.start) for r in requests), default=app.clock.now())
        weeks = max((r.plan.max_weeks for r in requests), default=0)
        # a first_visit_window may start an episode as late as its first visit's last day
        last = max((max(r.plan.start, r.plan.first_due or r.plan.start) for r in requests),
                   default=first.date())
        busy = load_busy(session, first - timedelta(days=1),
                         first + timedelta(days=(last - first.date()).days + 7 * weeks + 7),
                         patients={r.patient_id for r in requests})
        clinic = clinic_with_leave(session, app)
        schedules = schedule_batch(requests, clinic, busy, zone=clinic_zone(app),
                                   not_before=first, partial=partial)
        if optimize_seconds > 0:
            deadline = time.monotonic() + optimize_seconds  # a budget of work, not a date
            schedules, result.improvement = improve(
                schedules, clinic, busy, zone=clinic_zone(app), not_before=first,
                stop=lambda: time.monotonic() > deadline)
        # every therapist of the batch locked at once, in order, before any row is written
        guard_placements(session, app, [p for s in schedules for p in s.placements],
                         "the batch")
        booked = [(r, s) for r, s in zip(requests, schedules, strict=True) if s.booked]
        saved = iter(save_enrolments(session, app, [(s, r.patient_id, evaluations.get(int(r.key)))
                                                    for r, s in booked],
                                     reason="enrolment", what="the batch", deferred=True))
        for request, schedule in zip(requests, schedules, strict=True):
            line = int(request.key)
            if not schedule.booked:
                result.failed[line] = str(no_slot_error(schedule))
                result.waitlist += waitlist_rows(line, request.patient_id, None, schedule)
                continue
            enrolment = next(saved)
            result.booked[line] = enrolment.episode_id
            result.visits += len(enrolment.appointment_ids)
            result.waitlisted += len(schedule.unplaced)
            result.waitlist += waitlist_rows(line, request.patient_id, enrolment.episode_id,
                                             schedule)
    return result


def _new_requests(session: Session, app: App, requests: list[EpisodeRequest],
                  result: BatchResult) -> list[EpisodeRequest]:
    """The rows that ask for something new: each checked against the patient's timeline (and
    the rows above it), a repeat of a running episode or of an earlier row noted, not booked.
    Patients are locked in id order, so two batches never wait on each other in a circle."""
    timelines = {pid: load_timeline(session, app, pid)
                 for pid in sorted({r.patient_id for r in requests})}
    seen: dict[tuple[str, str, date], int] = {}
    kept = []
    for request in requests:
        line, plan = int(request.key), request.plan
        key = (request.patient_id, plan.pathway_id, plan.start)
        if key in seen:
            result.repeated[line] = seen[key]
            continue
        timeline = timelines[request.patient_id]
        try:
            decision = decide(timeline, Enrol(plan.pathway_id, plan.start))
        except TimelineConflict as error:
            result.failed[line] = str(error)
            continue
        if decision.existing_episode_id is not None:
            result.existing[line] = decision.existing_episode_id
            continue
        seen[key] = line
        kept.append(request)
        pending = EpisodeView(-line, plan.pathway_id, "planned", plan.start, f"line {line}")
        timelines[request.patient_id] = replace(timeline, episodes=(*timeline.episodes, pending))
    return kept


def _request(app: App, session: Session, line: int, row: dict[str, str],
             check_start: Any) -> tuple[EpisodeRequest, Evaluation | None]:
    pathway = app.config.pathway(row["pathway_id"])
    therapist = row.get("therapist_id") or None
    if therapist:
        app.config.therapist(therapist)
    patient = session.get(PatientRow, row["patient_id"])
    if patient is None:
        raise InputError(f"patient {row['patient_id']!r}", "unknown",
                         "import patients first: carepath patients import")
    evaluation = None
    if row.get("evaluation_appointment"):
        evaluation = find_evaluation(session, app, patient.id, pathway,
                                     row["evaluation_appointment"])
    start = _start(row, evaluation)
    check_start(app, start)
    plan = plan_episode(pathway, start, from_row(patient).preferences,
                        referred=parse_referred(row.get("referred", "")),
                        open_weekdays=app.config.clinic.opening_hours.open_weekdays(),
                        first_booked=evaluation is not None)
    check_horizon(plan)
    return (EpisodeRequest(str(line), patient.id, plan, therapist,
                           evaluation.booked if evaluation else None), evaluation)


def _start(row: dict[str, str], evaluation: Evaluation | None) -> date:
    """The line's start: its ``start``, or the day of the evaluation that starts it."""
    text = row.get("start", "")
    if not text:
        if evaluation is None:
            raise InputError("start", "missing", "give the episode's first day, e.g. "
                             "2027-03-01 (or an evaluation_appointment it starts with)")
        return evaluation.day
    try:
        start = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"start {text!r}", "not a date", "write 2027-03-01") from None
    if evaluation is not None and start != evaluation.day:
        raise InputError(f"start {start}", f"the evaluation (appointment "
                         f"{evaluation.appointment_id}) is on {evaluation.day}, where the "
                         "episode starts", "leave start empty, or give the evaluation's day")
    return start


@dataclass
class ImportResult:
    imported: list[int] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def import_appointments(app: App, path: Path, *, skip_conflicts: bool = False) -> ImportResult:
    """Bring existing bookings in as fixed appointments; conflicts are reported by line."""
    result, zone = ImportResult(), clinic_zone(app)
    with transaction(app.engine) as session:
        clinic = clinic_with_leave(session, app)
        rows = _rows(path, IMPORT_COLUMNS, ("patient_id", "therapist_id", "visit_type", "start"))
        starts: dict[int, datetime] = {}
        for line, row in rows:
            try:
                starts[line] = parse_local(row["start"], zone)
            except CarepathError as error:
                result.conflicts.append(f"line {line}: {error}")
        span = sorted(starts.values()) or [app.clock.now()]
        busy = load_busy(session, span[0] - timedelta(days=1), span[-1] + timedelta(days=1),
                         patients={row["patient_id"] for _, row in rows})
        known = _known_patients(session, {row["patient_id"] for _, row in rows})
        placements = []
        for line, row in rows:
            if line not in starts:
                continue
            try:
                placements.append((line, row, _check_row(app, known, row, starts[line],
                                                         clinic, busy)))
            except CarepathError as error:
                result.conflicts.append(f"line {line}: {error}")
        if result.conflicts and not skip_conflicts:
            raise InputError(str(path), f"{len(result.conflicts)} conflict(s), nothing imported:"
                             "\n  " + "\n  ".join(result.conflicts),
                             "fix the rows, or pass --skip-conflicts")
        guard_placements(session, app, [placed for _l, _r, placed in placements],
                         f"an appointment of {path.name}")
        with flush_or_taken(session, f"an appointment of {path.name}"):
            result.imported = insert_placements(session, app, [
                NewBooking(placed, row["patient_id"], None, seq=0, fixed=True)
                for _line, row, placed in placements])
        app.audit(session, "appointment.import", "appointment", path.name,
                  imported=len(result.imported), conflicts=len(result.conflicts))
        if result.imported:
            publish(session, app, AppointmentsBooked(tuple(result.imported), None, "imported",
                                                     deferred=True))
    return result


def _known_patients(session: Session, ids: set[str]) -> set[str]:
    """Which of ``ids`` are patients: one query per thousand, not one per row."""
    ordered, known = sorted(ids), set()
    for chunk in range(0, len(ordered), 1000):
        known |= set(session.exec(select(PatientRow.id).where(
            col(PatientRow.id).in_(ordered[chunk:chunk + 1000]))))
    return known


def _check_row(app: App, known: set[str], row: dict[str, str], start: datetime,
               clinic: Any, busy: Any) -> Any:
    from carepath.services.scheduling_changes import refusal

    app.config.therapist(row["therapist_id"])
    if row["patient_id"] not in known:
        raise InputError(f"patient {row['patient_id']!r}", "unknown", "import patients first")
    visit = next((p.visit_types[row["visit_type"]] for p in app.config.pathways.values()
                  if row["visit_type"] in p.visit_types), None)
    if visit is None:
        raise InputError(f"visit type {row['visit_type']!r}", "not in any pathway",
                         "use a visit type id from config/pathways")
    if row.get("minutes"):
        visit = visit.model_copy(update={"duration_minutes": _minutes(row["minutes"])})
    day = start.astimezone(clinic_zone(app)).date()
    problem = horizon_problem(day)
    if problem:
        raise InputError(f"start {row['start']}", problem, "give an earlier date")
    req = requirement_for(visit, row["visit_type"], day, day)
    request = VisitRequest(req, patient_id=row["patient_id"], therapist_id=row["therapist_id"])
    placed = check_slot(request, clinic, busy, zone=clinic_zone(app), start=start,
                        patient_rest=False)
    if isinstance(placed, Unplaced):
        raise refusal(f"{row['visit_type']} at {row['start']} with {row['therapist_id']}",
                      placed)
    if row.get("resource"):
        return _on_named_unit(placed, row["resource"], clinic, busy, zone=clinic_zone(app))
    return placed


def _minutes(text: str) -> int:
    """A visit's length: a whole number of minutes, 1 to eight hours."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= LONGEST_MINUTES:
        raise InputError(f"minutes {text[:20]!r}", f"not a whole number from 1 to "
                         f"{LONGEST_MINUTES}", "write the visit's length, e.g. 45")
    return int(text)


def _on_named_unit(placed: Placement, named: str, clinic: Clinic, busy: Busy, *,
                   zone: ZoneInfo) -> Placement:
    """The previous system said which room or unit (``pool-2`` or ``pool-2#1``): hold that
    one instead of the one the check chose, when it is free and provides a needed tag."""
    resource_id, _, number_text = named.partition("#")
    resource = next((r for r in clinic.resources if r.id == resource_id), None)
    if resource is None:
        raise InputError(f"resource {named!r}", "not in clinic.yaml",
                         "use a resource id from clinic.yaml, e.g. pool-1 or pool-1#0")
    tags = [t for t in placed.requirement.resources if t in resource.provides]
    if not tags:
        raise InputError(f"resource {named!r}", f"does not provide what "
                         f"{placed.requirement.visit_type} needs "
                         f"({', '.join(placed.requirement.resources) or 'nothing'})",
                         "name a room or device that provides it, or leave the column empty")
    start, end = to_minute(placed.start), to_minute(placed.end)
    calendar = calendar_for(clinic, zone)
    day = placed.start.astimezone(zone).date()
    busy.remove_minutes(start, end, units=placed.resources)
    numbers = [int(number_text)] if number_text.isdigit() else list(range(resource.capacity))
    free = [n for n in numbers if n < resource.capacity
            and not busy.unit((resource.id, n)).overlaps(start, end)]
    down = calendar.resource_down(resource, day) or any(
        lo < end and start < hi for lo, hi in calendar.resource_blocked(resource, day))
    if not free or down:
        busy.add_minutes(start, end, units=placed.resources)
        why = "under maintenance then" if down else "already booked then"
        raise InputError(f"resource {named!r}", why, "name another unit, or leave it empty")
    units = tuple((resource.id, free[0]) if tag == tags[0] else unit
                  for tag, unit in zip(placed.requirement.resources, placed.resources,
                                       strict=True))
    busy.add_minutes(start, end, units=units)
    return replace(placed, resources=units)
