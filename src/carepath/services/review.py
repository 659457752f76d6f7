"""The goal-review sweep: load every active episode in a few queries, decide, apply.

Loading is one query per table for all active episodes together (no query per episode);
deciding is the pure ``review_episode``; applying writes goal verdicts in one bulk update and,
for each episode with something to escalate, the escalations and their effects inside a
savepoint of their own (committed in batches) — so one episode's failure never undoes another's.
Re-running the sweep finds the same dedupe keys on record and escalates nothing new.
"""

from __future__ import annotations

import time as timer
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, update
from sqlalchemy import select as _select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.db.mapping import goal_of
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    EscalationRow,
    GoalRow,
    MeasurementRow,
    PatientRow,
    RecoveryReportRow,
)
from carepath.domain.goals.attendance import Recovery, Visit
from carepath.domain.goals.escalations import KnownEscalation
from carepath.domain.goals.progress import Goal, Reading
from carepath.domain.goals.review import EpisodeFacts, ReviewDecision, review_episode
from carepath.domain.scheduling.planning import plan_episode
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.escalation_apply import apply_decision
from carepath.services.escalations import EscalationView
from carepath.services.goal_store import ensure_goals
from carepath.services.reassessment import Booker, book_with_scheduling

# Episodes whose escalations are written per transaction: savepoints keep them apart, and one
# commit per batch instead of per episode keeps a backlog sweep in seconds, not minutes.
APPLY_BATCH = 200


@dataclass
class ReviewReport:
    """What one sweep did: episodes and goals reviewed, escalations opened, time taken."""

    episodes: int = 0
    goals: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    escalations: list[EscalationView] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in sorted(self.verdicts.items()))
        text = (f"reviewed {self.episodes} episode(s), {self.goals} goal(s)"
                + (f" ({counts})" if counts else "")
                + f"; {len(self.escalations)} new escalation(s)")
        return text + f" in {self.seconds:.2f} s"


@dataclass(frozen=True)
class Loaded:
    facts: EpisodeFacts
    goal_rows: dict[str, tuple[int, str]]  # measure → (goal id, stored status)


def review_all(app: App, *, now: datetime, episode_id: int | None = None,
               book: Booker | None = None, id_range: tuple[int, int] | None = None
               ) -> ReviewReport:
    """Review every active episode (or one, or those with ids in ``id_range``, both ends
    included: one partition of a fanned-out sweep) as of ``now``; escalate what stalled."""
    started = timer.perf_counter()
    _ensure_missing_goals(app, episode_id, id_range)
    with transaction(app.engine) as session:
        loaded = load_facts(session, app, episode_id, id_range)
    seniors = [t.id for t in app.config.clinic.therapists if t.senior]
    report = ReviewReport(episodes=len(loaded))
    decisions = [(item, review_episode(item.facts, app.config.measures, now=now,
                                       senior_therapists=seniors)) for item in loaded]
    _save_verdicts(app, decisions, report)
    pending = [(item, d) for item, d in decisions if d.escalations]
    for first in range(0, len(pending), APPLY_BATCH):
        with transaction(app.engine) as session:
            for item, decision in pending[first:first + APPLY_BATCH]:
                report.escalations += _apply_one(session, app, decision, item.facts,
                                                 book or book_with_scheduling, now)
    report.seconds = timer.perf_counter() - started
    return report


def _apply_one(session: Session, app: App, decision: ReviewDecision, facts: EpisodeFacts,
               book: Booker, now: datetime) -> list[EscalationView]:
    """One episode's decision inside a savepoint: a concurrent sweep that already wrote the
    same dedupe key makes this episode a no-op, never a duplicate or a failed batch."""
    try:
        with session.begin_nested():
            return apply_decision(session, app, decision, facts, book, now=now)
    except IntegrityError as error:
        if "dedupe_key" not in str(error.orig):
            raise
        return []


def _ensure_missing_goals(app: App, episode_id: int | None,
                          id_range: tuple[int, int] | None = None) -> None:
    """Episodes enrolled before their goals were set get them from the pathway now."""
    query = (columns(EpisodeRow.id, EpisodeRow.pathway_id, func.count(col(GoalRow.id)))
             .join(GoalRow, col(GoalRow.episode_id) == EpisodeRow.id, isouter=True)
             .where(col(EpisodeRow.state) == "active").group_by(col(EpisodeRow.id)))
    query = _in_scope(query, episode_id, id_range)
    with transaction(app.engine) as session:
        for ident, pathway_id, count in list(session.execute(query)):
            if count < len(app.config.pathway(pathway_id).goals.measures):
                ensure_goals(session, app, ident)


def _save_verdicts(app: App, decisions: list[tuple[Loaded, ReviewDecision]],
                   report: ReviewReport) -> None:
    changed: list[dict[str, Any]] = []
    for item, decision in decisions:
        for goal in decision.goals:
            report.goals += 1
            report.verdicts[goal.verdict] = report.verdicts.get(goal.verdict, 0) + 1
            goal_id, stored = item.goal_rows[goal.measure_id]
            if stored != goal.verdict:
                changed.append({"id": goal_id, "status": goal.verdict})
    if changed:
        with transaction(app.engine) as session:
            session.execute(update(GoalRow), changed)


def load_facts(session: Session, app: App, episode_id: int | None = None,
               id_range: tuple[int, int] | None = None) -> list[Loaded]:
    """Everything the review needs for the active episodes, one query per table."""
    # Core rows, not ORM results: tens of thousands of plain tuples, no identity map.
    read = session.connection().execute
    episodes = _episodes(session, episode_id, id_range)
    if episode_id is not None and not episodes:
        raise NotFound("active episode", episode_id, "only active episodes are reviewed")
    ids = _in_scope(select(EpisodeRow.id).where(col(EpisodeRow.state) == "active"),
                    episode_id, id_range)
    goals = _group(read(columns(
        GoalRow.episode_id, GoalRow.id, GoalRow.measure_id, GoalRow.baseline, GoalRow.target,
        GoalRow.target_kind, GoalRow.due_date, GoalRow.baseline_at, GoalRow.status).where(
        col(GoalRow.episode_id).in_(ids))))
    readings = _group(read(columns(
        MeasurementRow.episode_id, MeasurementRow.measure_id, MeasurementRow.value,
        MeasurementRow.taken_at, MeasurementRow.id).where(
        col(MeasurementRow.episode_id).in_(ids))))
    recoveries = _group(read(columns(
        RecoveryReportRow.episode_id, RecoveryReportRow.recovered, RecoveryReportRow.reported_at,
        RecoveryReportRow.id).where(col(RecoveryReportRow.episode_id).in_(ids))))
    visits = _group(read(columns(
        AppointmentRow.episode_id, AppointmentRow.id, AppointmentRow.status,
        AppointmentRow.start_utc, AppointmentRow.updated_at, AppointmentRow.visit_type).where(
        col(AppointmentRow.episode_id).in_(ids))))
    known = _group(read(columns(
        EscalationRow.episode_id, EscalationRow.dedupe_key, EscalationRow.level,
        EscalationRow.kind, EscalationRow.status, EscalationRow.created_at,
        AppointmentRow.start_utc, AppointmentRow.status, EscalationRow.appointment_id).join(
        AppointmentRow, col(EscalationRow.appointment_id) == AppointmentRow.id, isouter=True)
        .where(col(EscalationRow.episode_id).in_(ids))))
    planned = _planned_offsets(app)
    return [_facts(app, e, goals[e[0]], readings[e[0]], recoveries[e[0]], visits[e[0]],
                   known[e[0]], planned) for e in episodes]


def _episodes(session: Session, episode_id: int | None,
              id_range: tuple[int, int] | None) -> list[Any]:
    query = (columns(EpisodeRow.id, EpisodeRow.pathway_id, EpisodeRow.therapist_id,
                     PatientRow.physician_email, EpisodeRow.start_date)
             .join(PatientRow, col(EpisodeRow.patient_id) == PatientRow.id)
             .where(col(EpisodeRow.state) == "active").order_by(col(EpisodeRow.id)))
    return list(session.execute(_in_scope(query, episode_id, id_range)))


SelectT = TypeVar("SelectT", bound=Select[Any])


def _in_scope(query: SelectT, episode_id: int | None,
              id_range: tuple[int, int] | None) -> SelectT:
    """``query`` narrowed to one episode, or to a partition's range of episode ids."""
    if episode_id is not None:
        query = query.where(col(EpisodeRow.id) == episode_id)
    if id_range is not None:
        query = query.where(col(EpisodeRow.id).between(*id_range))
    return query


def columns(*attributes: Any) -> Select[Any]:
    """A select of plain columns: tuples, not ORM objects (the sweep reads tens of thousands)."""
    return _select(*attributes)


def _group(rows: Iterable[Any]) -> defaultdict[int, list[Any]]:
    grouped: defaultdict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row[1:])
    return grouped


def _planned_offsets(app: App) -> dict[str, tuple[int, ...]]:
    """Days from an episode's start to each planned visit's window, per pathway: planning
    once per pathway instead of once per episode (the offsets do not depend on the start)."""
    reference = date(2000, 1, 3)
    return {pid: tuple((r.earliest - reference).days
                       for r in plan_episode(p, reference).requirements)
            for pid, p in app.config.pathways.items()}


def _facts(app: App, episode: Any, goals: list[Any], readings: list[Any], recoveries: list[Any],
           visits: list[Any], known: list[Any],
           planned: dict[str, tuple[int, ...]]) -> Loaded:
    episode_id, pathway_id, therapist_id, physician, start = episode
    by_measure: defaultdict[str, list[Reading]] = defaultdict(list)
    for measure_id, value, at, ident in readings:
        by_measure[measure_id].append(Reading(value, at, ident))
    facts = EpisodeFacts(
        episode_id=episode_id, pathway=app.config.pathway(pathway_id), therapist_id=therapist_id,
        goals=tuple(_goal(g) for g in goals), readings=by_measure,
        recoveries=tuple(Recovery(r, at, i) for r, at, i in recoveries),
        visits=tuple(Visit(i, s, start, changed, vt) for i, s, start, changed, vt in visits),
        escalations=tuple(KnownEscalation(k, lv, kd, st, at, rs, rst, aid)
                          for k, lv, kd, st, at, rs, rst, aid in known),
        planned_days=tuple(start + timedelta(days=d) for d in planned.get(pathway_id, ())),
        has_physician=bool(physician), planned_end=planned_end(start, planned.get(pathway_id)))
    return Loaded(facts, {g[1]: (g[0], g[7]) for g in goals})


def planned_end(start: date, offsets: tuple[int, ...] | None) -> datetime | None:
    """The end of the last planned visit's day: when a trend must have reached its target."""
    if not offsets:
        return None
    return datetime.combine(start + timedelta(days=max(offsets) + 1), time(0), UTC)


def _goal(row: Any) -> Goal:
    _, measure_id, baseline, target, kind, due, baseline_at, _status = row
    return goal_of(measure_id, baseline, target, kind, due, baseline_at)
