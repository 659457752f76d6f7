"""Goal and measurement use cases: goals from the pathway, set a goal, record measurements
(one at a time or a CSV, all or nothing), record two-hour-rule reports.

The review sweep lives in ``carepath.services.review`` and is re-exported here as
``review_all``. The baseline of a goal is the measurement taken at the episode's evaluation
visit (the pathway's ``first_visit``); before one exists, the first measurement serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.db.mapping import to_goal
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    GoalRow,
    MeasurementRow,
    RecoveryReportRow,
)
from carepath.domain.config.models import Measure
from carepath.domain.goals.attendance import Recovery
from carepath.domain.goals.progress import (
    Reading,
    default_target,
    for_stratum,
    goal_status,
    parse_value,
    show_value,
)
from carepath.domain.scheduling.planning import plan_episode
from carepath.errors import InputError, NotFound
from carepath.services import App
from carepath.services.goal_store import ensure_goals, episode_of, fill_baseline
from carepath.services.instants import parse_instant
from carepath.services.patients import read_table
from carepath.services.review import ReviewReport, planned_end, review_all

__all__ = ["GoalView", "ReviewReport", "episode_of", "ensure_goals", "import_measurements",
           "list_goals", "record_measurement", "record_recovery", "review_all", "set_goal"]


@dataclass(frozen=True)
class GoalView:
    """A goal as people read it: values shown in the measure's own terms, with its verdict."""

    episode_id: int
    measure: str
    name: str
    unit: str
    baseline: str
    target: str
    due: date | None
    latest: str
    reviews: int  # planned reviews held (the pathway's cadence), not every value
    verdict: str
    baseline_value: float | None = None
    target_value: float | None = None
    on_track: bool = False  # improving below the MCID at a pace that reaches the target

    @property
    def shown_verdict(self) -> str:
        return "improving (on track)" if self.on_track else self.verdict.replace("_", " ")


def measure_of(app: App, measure_id: str) -> Measure:
    try:
        return app.config.measures[measure_id]
    except KeyError:
        known = ", ".join(sorted(app.config.measures))
        raise NotFound("measure", measure_id, f"known measures: {known}") from None


def set_goal(app: App, episode_id: int, measure_id: str, *, target: str,
             due: date | None = None) -> GoalView:
    """Set or revise a goal: ``target`` is "mcid", "maintain" or a value of the measure."""
    measure = measure_of(app, measure_id)
    with transaction(app.engine) as session:
        rows = {r.measure_id: r for r in ensure_goals(session, app, episode_id)}
        now = app.clock.now()
        row = rows.get(measure_id) or GoalRow(episode_id=episode_id, measure_id=measure_id,
                                              created_at=now, updated_at=now)
        if target in ("mcid", "maintain"):
            row.target_kind = target
            row.target = None if row.baseline is None else default_target(
                measure, row.baseline, target)  # type: ignore[arg-type]
        else:
            row.target_kind, row.target = "value", parse_value(measure_id, measure, target)[0]
        row.due_date, row.updated_at = due or row.due_date, now
        session.add(row)
        session.flush()
        if row.baseline is None:
            fill_baseline(session, app, row, app.config.pathway(
                episode_of(session, episode_id).pathway_id).first_visit)
        app.audit(session, "goal.set", "goal", f"{episode_id}/{measure_id}", target=target,
                  due=due)
        return _view(session, app, row)


def list_goals(app: App, episode_id: int) -> list[GoalView]:
    """The episode's goals (created from the pathway when missing), each with its verdict."""
    with transaction(app.engine) as session:
        return [_view(session, app, row) for row in ensure_goals(session, app, episode_id)
                if row.measure_id in app.config.measures]


def _view(session: Session, app: App, row: GoalRow) -> GoalView:
    """The goal as the review sees it now: planned reviews, trend, worsening from the best."""
    episode = episode_of(session, row.episode_id)
    pathway = app.config.pathway(episode.pathway_id)
    measure = for_stratum(app.config.measures[row.measure_id], _latest_edss(session, episode))
    goal = to_goal(row)
    readings = [Reading(m.value, m.taken_at, m.id) for m in session.exec(
        select(MeasurementRow).where(MeasurementRow.episode_id == row.episode_id,
                                     MeasurementRow.measure_id == row.measure_id))]
    offsets = tuple((r.earliest - episode.start_date).days
                    for r in plan_episode(pathway, episode.start_date).requirements)
    status = goal_status(measure, goal, readings, now=app.clock.now(),
                         every_weeks=pathway.goals.review_every_weeks,
                         planned_end=planned_end(episode.start_date, offsets))
    target = ("maintain" if row.target_kind == "maintain"
              else show_value(measure, row.target))
    latest = status.latest.value if status.latest else None
    return GoalView(row.episode_id, row.measure_id, measure.name, measure.unit,
                    show_value(measure, row.baseline), target, row.due_date,
                    show_value(measure, latest), len(status.reviews), status.verdict,
                    row.baseline, row.target, status.on_track)


def _latest_edss(session: Session, episode: EpisodeRow) -> float | None:
    """The patient's latest EDSS in this episode: which disability stratum's MCIDs apply."""
    row = session.exec(select(MeasurementRow).where(
        MeasurementRow.episode_id == episode.id, MeasurementRow.measure_id == "edss")
        .order_by(col(MeasurementRow.taken_at).desc())).first()
    return row.value if row else None


def record_measurement(app: App, episode_id: int, measure: str, value: str | float, *,
                       at: datetime | None = None,
                       appointment_id: int | None = None) -> GoalView | None:
    """Record one value (checked against the measure) and return its goal, re-classified."""
    with transaction(app.engine) as session:
        _add_measurement(session, app, episode_id, measure, value, at, appointment_id)
        goals = ensure_goals(session, app, episode_id)
        app.audit(session, "measurement.record", "episode", episode_id, measure=measure,
                  value=str(value))
        row = next((g for g in goals if g.measure_id == measure), None)
        return None if row is None else _view(session, app, row)


def _add_measurement(session: Session, app: App, episode_id: int, measure_id: str,
                     value: str | float, at: datetime | None,
                     appointment_id: int | None) -> None:
    measure = measure_of(app, measure_id)
    number, raw = parse_value(measure_id, measure, value)
    episode = episode_of(session, episode_id)
    taken = _checked_instant(app, at)
    opened = min(episode.start_date, episode.created_at.date())
    if at is not None and taken.date() < opened - MEASUREMENT_LEAD:
        # a typed year-1 (or last year's) time would become the episode's baseline
        raise InputError(f"time {taken.isoformat()}", f"is before episode {episode_id} "
                         f"(enrolled {episode.created_at.date()}, starting "
                         f"{episode.start_date}; a baseline may be up to "
                         f"{MEASUREMENT_LEAD.days} days earlier)", "check the date")
    _check_appointment(session, episode_id, appointment_id)
    session.add(MeasurementRow(episode_id=episode_id, measure_id=measure_id, value=number,
                               raw=raw[:20], taken_at=taken, appointment_id=appointment_id,
                               recorded_by=app.settings.actor[:100]))


MEASUREMENT_LEAD = timedelta(days=30)  # a baseline taken at referral, before the first visit


def _checked_instant(app: App, at: datetime | None) -> datetime:
    now = app.clock.now()
    if at is None:
        return now
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"time {at.isoformat()}", "has no time zone",
                         "give an offset, e.g. 2027-03-01T10:00-05:00")
    if at > now:
        raise InputError(f"time {at.isoformat()}", "is in the future",
                         "record measurements after they are taken")
    return at


def _check_appointment(session: Session, episode_id: int, appointment_id: int | None) -> None:
    if appointment_id is None:
        return
    visit = session.get(AppointmentRow, appointment_id)
    if visit is None or visit.episode_id != episode_id:
        raise NotFound("appointment", appointment_id, f"not a visit of episode {episode_id}")


def import_measurements(app: App, path: Path) -> int:
    """Import a CSV (episode,measure,value[,at][,appointment]); nothing is written when any
    row is wrong, and every wrong row is reported with its line number."""
    problems: list[str] = []
    rows = read_table(path, ("episode", "measure", "value", "at", "appointment"),
                      ("episode", "measure", "value"))
    if not rows:
        return 0
    zone = app.config.clinic.timezone
    with transaction(app.engine) as session:
        for line, record in rows:
            try:
                with session.begin_nested():
                    _import_row(session, app, record, zone)
            except (InputError, NotFound) as error:
                problems.append(f"line {line}: {error}")
        if problems:
            session.rollback()
            raise InputError(str(path), f"{len(problems)} problem(s), nothing imported:\n  "
                             + "\n  ".join(problems), "fix the rows and import again")
        for episode_id in {int(r["episode"] or 0) for _, r in rows}:
            ensure_goals(session, app, episode_id)
        app.audit(session, "measurement.import", "measurement", path.name, rows=len(rows))
    return len(rows)


def _import_row(session: Session, app: App, record: dict[str, str | None], zone: str) -> None:
    if record.pop("__extra__", None):
        raise InputError("row", "more values than columns")
    episode = _whole(record.get("episode"), "episode")
    appointment = _whole(record.get("appointment"), "appointment") if record.get(
        "appointment") else None
    at = parse_instant(record["at"], zone) if record.get("at") else None
    _add_measurement(session, app, episode, (record.get("measure") or "").strip(),
                     record.get("value") or "", at, appointment)
    session.flush()


def _whole(text: str | None, what: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        raise InputError(what, f"{text!r} is not a whole number") from None


def record_recovery(app: App, episode_id: int, recovered: bool, *,
                    appointment_id: int | None = None,
                    at: datetime | None = None) -> Recovery:
    """Record a two-hour-rule report: did the patient feel recovered within two hours?"""
    with transaction(app.engine) as session:
        episode_of(session, episode_id)
        _check_appointment(session, episode_id, appointment_id)
        row = RecoveryReportRow(episode_id=episode_id, appointment_id=appointment_id,
                                recovered=recovered, reported_at=_checked_instant(app, at))
        session.add(row)
        session.flush()
        app.audit(session, "recovery.record", "episode", episode_id, recovered=recovered)
        return Recovery(row.recovered, row.reported_at, row.id)
