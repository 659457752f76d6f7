"""An episode's goals from its pathway, created when missing, their baselines filled in.

Used by the goal use cases (``goals``), the review sweep (``review``) and enrolment
(``goal_events``), kept apart so that the review does not import the use cases that
re-export it.
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from carepath.adapters.tables import AppointmentRow, EpisodeRow, GoalRow, MeasurementRow
from carepath.domain.goals.progress import TargetKind, default_target
from carepath.errors import NotFound
from carepath.services import App


def episode_of(session: Session, episode_id: int) -> EpisodeRow:
    episode = session.get(EpisodeRow, episode_id)
    if episode is None:
        raise NotFound("episode", episode_id, "check the episode id")
    return episode


def ensure_goals(session: Session, app: App, episode_id: int) -> list[GoalRow]:
    """The episode's goals, created from its pathway when missing, baselines filled in."""
    episode = episode_of(session, episode_id)
    pathway = app.config.pathway(episode.pathway_id)
    rows = {r.measure_id: r for r in session.exec(
        select(GoalRow).where(GoalRow.episode_id == episode_id))}
    now = app.clock.now()
    for template in pathway.goals.measures:
        if template.measure not in rows:
            rows[template.measure] = GoalRow(episode_id=episode_id, measure_id=template.measure,
                                             target_kind=template.target, created_at=now,
                                             updated_at=now)
    known = [measure for measure in rows if measure in app.config.measures]
    taken = _measurements(session, episode_id, known)  # one query for all the goals
    for row in rows.values():
        if row.measure_id in app.config.measures:
            _fill(app, row, taken.get(row.measure_id, []), pathway.first_visit)
        session.add(row)
    session.flush()
    return sorted(rows.values(), key=lambda r: r.measure_id)


Taken = list[tuple[MeasurementRow, str | None]]  # a measurement and its visit's type, if any


def fill_baseline(session: Session, app: App, row: GoalRow, first_visit: str | None) -> None:
    """Set the baseline (and a derived target) from the episode's measurements."""
    taken = _measurements(session, row.episode_id, [row.measure_id])
    _fill(app, row, taken.get(row.measure_id, []), first_visit)


def _measurements(session: Session, episode_id: int, measure_ids: list[str]
                  ) -> dict[str, Taken]:
    """The episode's measurements of these measures, oldest first, by measure."""
    query = (select(MeasurementRow, AppointmentRow.visit_type)
             .join(AppointmentRow, col(MeasurementRow.appointment_id) == AppointmentRow.id,
                   isouter=True)
             .where(MeasurementRow.episode_id == episode_id,
                    col(MeasurementRow.measure_id).in_(measure_ids))
             .order_by(col(MeasurementRow.taken_at), col(MeasurementRow.id)))
    by_measure: dict[str, Taken] = defaultdict(list)
    for measurement, visit_type in session.exec(query):
        by_measure[measurement.measure_id].append((measurement, visit_type))
    return by_measure


def _fill(app: App, row: GoalRow, found: Taken, first_visit: str | None) -> None:
    at_evaluation = [m for m, visit in found if first_visit and visit == first_visit]
    # The evaluation visit's value is the baseline; until one exists, the first value serves.
    candidates = at_evaluation or ([m for m, _ in found] if row.baseline is None else [])
    if not candidates or candidates[0].taken_at == row.baseline_at:
        return
    chosen = candidates[0]
    measure = app.config.measures[row.measure_id]
    row.baseline, row.baseline_at = chosen.value, chosen.taken_at
    if row.target_kind != "value" or row.target is None:
        kind: TargetKind = "maintain" if row.target_kind == "maintain" else "mcid"
        row.target = default_target(measure, chosen.value, kind)
    row.updated_at = app.clock.now()
