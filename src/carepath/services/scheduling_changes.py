"""Changing booked visits: reschedule, cancel, complete, no-show, cancel the future, and
move visits off a therapist's leave.

SEQUENCE (RFC 5545 §3.8.7.4) rises by one on every change of time, length, therapist or
status, so calendar clients replace the old invite. A reschedule re-checks every hard
constraint, including the episode's rest days and the visit's cadence week.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow, TherapistLeaveRow
from carepath.domain.appointments import Appointment, next_status
from carepath.domain.config.models import Clinic, VisitType
from carepath.domain.scheduling import VisitRequest, check_slot, place_visit
from carepath.domain.scheduling.planning import VisitRequirement
from carepath.domain.scheduling.types import Busy, Placement, Unplaced
from carepath.domain.timeutil import local_datetime, week_start
from carepath.errors import InputError, NotFound, RaceLost, SlotTaken
from carepath.services import App
from carepath.services.booking_store import (
    clinic_with_leave,
    clinic_zone,
    episode_appointments,
    flush_or_taken,
    guard_placements,
    hold_units,
    load_busy,
    lock_therapists,
    release_units,
)
from carepath.services.calendar_views import appointment_from_row
from carepath.services.events import (
    AppointmentCancelled,
    AppointmentChanged,
    AppointmentsCancelled,
    publish,
)

RACE_RETRIES = 5  # a move that lost a race is tried again on fresh data


@dataclass(frozen=True)
class Change:
    """One visit moved (or, when nothing fits, cancelled) by a change such as leave."""

    appointment_id: int
    patient_id: str
    visit: str
    old_start: datetime
    old_therapist: str
    new_start: datetime | None
    new_therapist: str | None
    note: str = ""


def get_appointment(session: Session, appointment_id: int) -> AppointmentRow:
    row = session.get(AppointmentRow, appointment_id)
    if row is None:
        raise NotFound("appointment", appointment_id, "list them with: carepath appointments list")
    return row


def find_visit_type(app: App, session: Session, row: AppointmentRow) -> VisitType | None:
    """The visit type's definition: the episode's pathway first, then any pathway."""
    episode = session.get(EpisodeRow, row.episode_id) if row.episode_id else None
    pathways = list(app.config.pathways.values())
    if episode is not None and episode.pathway_id in app.config.pathways:
        pathways.insert(0, app.config.pathways[episode.pathway_id])
    for pathway in pathways:
        if row.visit_type in pathway.visit_types:
            return pathway.visit_types[row.visit_type]
    return None


def requirement_of(app: App, session: Session, row: AppointmentRow) -> VisitRequirement:
    """The requirement an existing appointment fulfils: needs, length and cadence window."""
    visit = find_visit_type(app, session, row)
    day = row.start_utc.astimezone(clinic_zone(app)).date()
    first = row.window_first or week_start(day)
    last = row.window_last or week_start(day) + timedelta(days=6)
    minutes = int((row.end_utc - row.start_utc).total_seconds() // 60)
    return VisitRequirement(
        seq=row.seq, visit_type=row.visit_type, name=row.visit_name, duration_minutes=minutes,
        week=0, earliest=first, latest=last,
        resources=tuple(visit.needs.resources) if visit else (),
        skills=tuple(visit.needs.skills) if visit else (),
        caregiver_invited=row.caregiver_invited)


def episode_rules(app: App, session: Session, row: AppointmentRow) -> tuple[int, bool]:
    """(min_rest_days, same_day_visits) of the appointment's pathway; (0, False) if none."""
    episode = session.get(EpisodeRow, row.episode_id) if row.episode_id else None
    pathway = app.config.pathways.get(episode.pathway_id) if episode else None
    return (pathway.min_rest_days, pathway.same_day_visits) if pathway else (0, False)


def sibling_days(app: App, session: Session, row: AppointmentRow) -> list[date]:
    if row.episode_id is None:
        return []
    zone = clinic_zone(app)
    return [a.start_utc.astimezone(zone).date() for a in
            episode_appointments(session, row.episode_id) if a.id != row.id]


def reschedule(app: App, appointment_id: int, new_start: datetime,
               therapist_id: str | None = None) -> Appointment:
    """Move a booked visit to ``new_start`` (and optionally another therapist).

    A concurrent booking that wins the race shows up at commit on PostgreSQL (exclusion
    constraint); the move is then tried again on fresh data, which either finds another
    free unit of the room or reports ``SlotTaken`` with the alternatives still free.
    """
    if new_start.tzinfo is None:
        raise InputError("new start", "has no time zone", "give the clinic's local time")
    if therapist_id:
        app.config.therapist(therapist_id)
    for _attempt in range(RACE_RETRIES):
        try:
            return appointment_from_row(
                _reschedule_once(app, appointment_id, new_start, therapist_id))
        except SlotTaken as error:
            if error.alternatives:  # seen on fresh data: final
                raise
            lost = error
    raise SlotTaken(lost.what, _still_free(app, appointment_id, new_start, therapist_id))


def _still_free(app: App, appointment_id: int, new_start: datetime,
                therapist_id: str | None) -> list[str]:
    """After repeated lost races: what a fresh read offers instead (read only)."""
    with transaction(app.engine) as session:
        row = get_appointment(session, appointment_id)
        busy = load_busy(session, new_start - timedelta(days=2), new_start + timedelta(days=9),
                         patients=[row.patient_id], exclude={appointment_id})
        request = VisitRequest(requirement_of(app, session, row), patient_id=row.patient_id,
                               therapist_id=therapist_id or row.therapist_id)
        result = check_slot(request, clinic_with_leave(session, app), busy,
                            zone=clinic_zone(app), start=new_start)
        session.rollback()
    if isinstance(result, Unplaced):
        return list(result.alternatives)
    return [f"{new_start.astimezone(clinic_zone(app)):%a %Y-%m-%d %H:%M} (free again: retry)"]


def _reschedule_once(app: App, appointment_id: int, new_start: datetime,
                     therapist_id: str | None) -> AppointmentRow:
    with transaction(app.engine) as session:
        row = get_appointment(session, appointment_id)
        next_status(appointment_id, row.status, "reschedule")
        who = therapist_id or row.therapist_id
        req = requirement_of(app, session, row)
        rest, same_day = episode_rules(app, session, row)
        zone = clinic_zone(app)
        busy = load_busy(session, new_start - timedelta(days=rest + 1),
                         new_start + timedelta(days=rest + 2), patients=[row.patient_id],
                         exclude={appointment_id})
        request = VisitRequest(req, patient_id=row.patient_id,
                               episode_days=tuple(sibling_days(app, session, row)),
                               min_rest_days=rest, same_day_visits=same_day, therapist_id=who)
        result = check_slot(request, clinic_with_leave(session, app), busy, zone=zone,
                            start=new_start)
        when = f"{new_start.astimezone(zone):%a %Y-%m-%d %H:%M %Z} with {who}"
        if isinstance(result, Unplaced):
            raise refusal(f"appointment {appointment_id} at {when}", result)
        move(session, app, row, result, reason="rescheduled", what=when)
    return row


def refusal(what: str, result: Unplaced) -> Exception:
    """``SlotTaken`` when other bookings are in the way, else the broken rule."""
    if result.taken:
        return SlotTaken(what, result.alternatives)
    fix = ("nearest free: " + "; ".join(result.alternatives)) if result.alternatives else \
        "pick another time"
    return InputError(what, result.constraint, fix)


def move(session: Session, app: App, row: AppointmentRow, placed: Placement, *, reason: str,
         what: str) -> None:
    """Give ``row`` the placement's time, therapist and units; SEQUENCE + 1; publish."""
    assert row.id is not None
    guard_placements(session, app, [placed], what)
    previous_start, previous_therapist = row.start_utc, row.therapist_id
    release_units(session, row.id)
    row.start_utc, row.end_utc = placed.start, placed.end
    row.therapist_id, row.sequence = placed.therapist_id, row.sequence + 1
    row.updated_at = app.clock.now()
    session.add(row)
    with flush_or_taken(session, what):
        hold_units(session, row, placed.resources)
    app.audit(session, "appointment.move", "appointment", row.id, reason=reason,
              before=previous_start.isoformat(), after=row.start_utc.isoformat(),
              therapist=row.therapist_id)
    publish(session, app, AppointmentChanged(row.id, previous_start, previous_therapist, reason))


def _set_status(app: App, appointment_id: int, event: str, reason: str = "") -> Appointment:
    with transaction(app.engine) as session:
        row = get_appointment(session, appointment_id)
        set_status(session, app, row, event, reason)
    return appointment_from_row(row)


def set_status(session: Session, app: App, row: AppointmentRow, event: str,
               reason: str = "", *, announce: bool = True) -> None:
    assert row.id is not None
    before = row.status
    row.status = next_status(row.id, row.status, event)
    row.sequence += 1
    row.updated_at = app.clock.now()
    session.add(row)
    if row.status in ("cancelled", "no_show"):
        release_units(session, row.id)
    app.audit(session, f"appointment.{event}", "appointment", row.id, before=before,
              after=row.status, reason=reason)
    if row.status == "cancelled" and announce:
        publish(session, app, AppointmentCancelled(row.id, reason or "cancelled"))


def cancel(app: App, appointment_id: int, reason: str) -> Appointment:
    """Cancel a booked visit: its therapist, rooms and equipment are free again."""
    return _set_status(app, appointment_id, "cancel", reason)


def complete(app: App, appointment_id: int) -> Appointment:
    return _set_status(app, appointment_id, "complete")


def no_show(app: App, appointment_id: int) -> Appointment:
    return _set_status(app, appointment_id, "no_show")


def cancel_future(session: Session, app: App, episode_id: int, after: datetime,
                  reason: str) -> list[int]:
    """Cancel the episode's booked visits after ``after`` (e.g. a relapse pauses boosters),
    announced as one ``AppointmentsCancelled``: the patient gets one email, not one a visit."""
    rows = session.exec(select(AppointmentRow).where(
        AppointmentRow.episode_id == episode_id, AppointmentRow.status == "booked",
        col(AppointmentRow.start_utc) > after).order_by(col(AppointmentRow.start_utc))).all()
    for row in rows:
        set_status(session, app, row, "cancel", reason, announce=False)
    ids = [row.id for row in rows if row.id is not None]
    if ids:
        publish(session, app, AppointmentsCancelled(tuple(ids), episode_id, reason))
    return ids


def therapist_leave(app: App, therapist_id: str, start: date, end: date,
                    reason: str = "") -> list[Change]:
    """Record leave (table ``therapist_leave``) and move every visit it touches.

    Each visit goes to the same therapist later in its week if possible, else to another
    qualified therapist in its week; when nothing fits it is cancelled, and said so.
    """
    therapist = app.config.therapist(therapist_id)
    if end < start:
        raise InputError(f"leave {start} – {end}", "ends before it starts", "swap the dates")
    for attempt in range(RACE_RETRIES):
        try:
            return _leave_once(app, therapist.id, start, end, reason)
        except SlotTaken as error:  # a booking took a slot a visit was being moved to
            if attempt == RACE_RETRIES - 1:
                raise RaceLost(
                    f"leave for {therapist.id} {start} – {end} not recorded: while its visits "
                    f"were being moved, {error.what} was just taken by another booking "
                    f"{RACE_RETRIES} times; nothing changed — run the command again") from None
    raise AssertionError("unreachable")


def _leave_once(app: App, therapist_id: str, start: date, end: date,
                reason: str) -> list[Change]:
    zone = clinic_zone(app)
    with transaction(app.engine) as session:
        # before anything is read: a booking for this therapist either committed already
        # (and is moved below) or waits for this leave and then books around it
        lock_therapists(session, [therapist_id])
        session.add(TherapistLeaveRow(therapist_id=therapist_id, first_day=start, last_day=end,
                                      reason=reason[:200], created_at=app.clock.now()))
        session.flush()
        clinic = clinic_with_leave(session, app)
        lo = local_datetime(start, time(0), zone, shift_gap=True)
        hi = local_datetime(end + timedelta(days=1), time(0), zone, shift_gap=True)
        affected = session.exec(select(AppointmentRow).where(
            AppointmentRow.therapist_id == therapist_id, AppointmentRow.status == "booked",
            col(AppointmentRow.start_utc) >= lo, col(AppointmentRow.start_utc) < hi)
            .order_by(col(AppointmentRow.start_utc))).all()
        changes = []
        for row in affected:
            # read per visit, leaving out only the visit being moved: the others still hold
            # their rooms until they move (leaving all of them out offered one visit the gym
            # unit another still held — an exclusion violation on every retry), and the
            # visits moved so far are read where they now are
            busy = load_busy(session, lo - timedelta(days=7), hi + timedelta(days=14),
                             patients={row.patient_id}, exclude={row.id or 0})
            changes.append(_move_off_leave(session, app, row, clinic, busy, end))
        app.audit(session, "therapist.leave", "therapist", therapist_id, start=str(start),
                  end=str(end), moved=len(changes))
    return changes


def _move_off_leave(session: Session, app: App, row: AppointmentRow, clinic: Clinic,
                    busy: Busy, leave_end: date) -> Change:
    zone, req = clinic_zone(app), requirement_of(app, session, row)
    rest, same_day = episode_rules(app, session, row)
    now = app.clock.now()
    anyone = VisitRequest(req, patient_id=row.patient_id,
                          episode_days=tuple(sibling_days(app, session, row)),
                          min_rest_days=rest, same_day_visits=same_day)
    placed: Placement | Unplaced = Unplaced(req, "its week ends with the leave")
    after_leave = leave_end + timedelta(days=1)
    if after_leave <= req.latest:  # first the same therapist once back, in the same week
        later = replace(req, earliest=max(req.earliest, after_leave))
        first = max(now, local_datetime(later.earliest, time(0), zone, shift_gap=True))
        placed = place_visit(replace(anyone, requirement=later, therapist_id=row.therapist_id),
                             clinic, busy, zone=zone, not_before=first)
    if isinstance(placed, Unplaced):
        first = max(now, local_datetime(req.earliest, time(0), zone, shift_gap=True))
        placed = place_visit(anyone, clinic, busy, zone=zone, not_before=first)
    assert row.id is not None
    old = (row.start_utc, row.therapist_id)
    if isinstance(placed, Unplaced):
        set_status(session, app, row, "cancel", "therapist leave: " + placed.constraint)
        return Change(row.id, row.patient_id, row.visit_name, *old, None, None,
                      "cancelled: " + placed.constraint)
    move(session, app, row, placed, reason="therapist leave", what=row.visit_name)
    return Change(row.id, row.patient_id, row.visit_name, *old, placed.start,
                  placed.therapist_id, "same therapist" if placed.therapist_id == old[1]
                  else "another therapist")
