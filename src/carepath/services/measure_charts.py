"""Each measure of an episode as a ``ChartSpec``: one source for every picture of it.

The episode report draws these specs as SVG; the escalation email draws the same specs as
PNG (``carepath.adapters.chart_png``). Both read them here, inside the caller's transaction,
so a therapist sees the same values, band and target in the email as in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from carepath.adapters.tables import GoalRow, MeasurementRow
from carepath.domain.config.models import Measure
from carepath.domain.goals.charts import ChartSpec
from carepath.domain.goals.progress import band, bounds, show_value
from carepath.services import App


@dataclass(frozen=True)
class MeasureChart:
    """One measure's chart and its caption (the values as a clinician reads them)."""

    measure_id: str
    spec: ChartSpec
    caption: str


def episode_charts(session: Session, app: App, episode_id: int, *,
                   only: Sequence[str] | None = None) -> list[MeasureChart]:
    """The episode's charts: its goals' measures (by id), then other measures it recorded.

    ``only`` picks measures, in its order. Goals are read as they are (a report ensures
    them first); a measure the config no longer knows is left out.
    """
    goals = {g.measure_id: g for g in session.exec(
        select(GoalRow).where(GoalRow.episode_id == episode_id))}
    points: dict[str, list[tuple[datetime, float]]] = {}
    for m in session.exec(select(MeasurementRow).where(MeasurementRow.episode_id == episode_id)
                          .order_by(col(MeasurementRow.taken_at), col(MeasurementRow.id))):
        points.setdefault(m.measure_id, []).append((m.taken_at, m.value))
    wanted = list(only) if only is not None else sorted(goals) + sorted(set(points) - set(goals))
    charts = []
    for measure_id in dict.fromkeys(wanted):
        measure = app.config.measures.get(measure_id)
        if measure is None:
            continue
        values = points.get(measure_id, [])
        charts.append(MeasureChart(measure_id, chart_spec(measure, values,
                                                          goals.get(measure_id)),
                                   _caption(measure, values)))
    return charts


def chart_spec(measure: Measure, points: Sequence[tuple[datetime, float]],
               goal: GoalRow | None) -> ChartSpec:
    """The band of no real change around the goal's baseline, and its target."""
    baseline = goal.baseline if goal else None
    return ChartSpec(title=measure.name, unit=measure.unit, better=measure.better,
                     points=tuple(points),
                     band=band(measure, baseline) if baseline is not None else None,
                     target=goal.target if goal else None, bounds=bounds(measure),
                     levels=tuple(measure.levels))


def _caption(measure: Measure, points: Sequence[tuple[datetime, float]]) -> str:
    shown = ", ".join(show_value(measure, v) for _, v in points)
    return f"{measure.name}: {shown}" if shown else f"{measure.name}: no values"
