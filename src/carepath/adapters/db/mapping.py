"""Rows turned into domain values: each mapping written once, whoever reads the row.

A row may come as a table object (``GoalRow``) or as a plain tuple of columns fetched by a
sweep that reads tens of thousands (``review.load_facts``); both go through the same function.
"""

from __future__ import annotations

from datetime import date, datetime

from carepath.adapters.db.tables import GoalRow
from carepath.domain.goals.progress import Goal, TargetKind


def goal_of(measure_id: str, baseline: float | None, target: float | None, target_kind: str,
            due: date | None, baseline_at: datetime | None) -> Goal:
    """A goal from its stored columns; an unknown target kind reads as a plain value."""
    kind: TargetKind = target_kind if target_kind in ("mcid", "maintain") else "value"  # type: ignore[assignment]
    return Goal(measure_id, baseline, target, kind, due, baseline_at)


def to_goal(row: GoalRow) -> Goal:
    return goal_of(row.measure_id, row.baseline, row.target, row.target_kind, row.due_date,
                   row.baseline_at)
