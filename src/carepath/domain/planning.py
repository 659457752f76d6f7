"""Planning: a pathway, a start date and a patient's preferences → the visits to book.

The plan says *what* and *within which dates*; scheduling decides *when* and *with whom*.
Week ``w`` of an episode is the seven days from ``start + 7·(w-1)``. The cadence gives
every session of each week; the pathway's ``first_visit`` replaces the first session and
``last_visit`` the last one, so an evaluation counts toward week 1's sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from carepath.domain.config import Pathway
from carepath.domain.timeutil import ClockRange


@dataclass(frozen=True)
class PatientPreferences:
    """What the patient would like; soft constraints the scheduler scores."""

    weekdays: tuple[int, ...] = ()  # date.weekday() values; empty means any day
    windows: tuple[ClockRange, ...] = ()  # wall-clock windows; empty means any time
    heat_sensitive: bool = False


@dataclass(frozen=True)
class VisitRequirement:
    """One visit the pathway asks for: its type, length, date window and needs."""

    seq: int
    visit_type: str
    name: str
    duration_minutes: int
    week: int
    earliest: date
    latest: date
    resources: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    caregiver_invited: bool = False
    role: str = "regular"  # "first", "last" or "regular"

    @property
    def label(self) -> str:
        return f"visit {self.seq} ({self.name}, week {self.week})"


@dataclass(frozen=True)
class EpisodePlan:
    """The ordered requirements of one episode, with the rules that bind them together."""

    pathway_id: str
    pathway_version: int
    start: date
    requirements: tuple[VisitRequirement, ...]
    preferences: PatientPreferences = field(default_factory=PatientPreferences)
    min_rest_days: int = 0
    same_day_visits: bool = False
    weeks: int = 0
    max_weeks: int = 0

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7 * self.weeks - 1)


def plan_episode(
    pathway: Pathway, start: date, preferences: PatientPreferences | None = None
) -> EpisodePlan:
    """The visit requirements of ``pathway`` for an episode starting on ``start``."""
    weekly = _weekly_types(pathway)
    weeks = max(weekly, default=0)
    requirements: list[VisitRequirement] = []
    for week in sorted(weekly):
        first_day = start + timedelta(days=7 * (week - 1))
        for visit_type in weekly[week]:
            requirements.append(_requirement(pathway, visit_type, len(requirements) + 1,
                                             week, first_day))
    requirements = _apply_first_and_last(pathway, requirements)
    return EpisodePlan(
        pathway_id=pathway.id, pathway_version=pathway.version, start=start,
        requirements=tuple(requirements), preferences=preferences or PatientPreferences(),
        min_rest_days=pathway.min_rest_days, same_day_visits=pathway.same_day_visits,
        weeks=weeks, max_weeks=pathway.length.max_weeks,
    )


def _weekly_types(pathway: Pathway) -> dict[int, list[str]]:
    """Visit types per week, interleaved so that one week mixes its types evenly."""
    per_week: dict[int, list[list[str]]] = {}
    for cadence in pathway.cadence:
        for week in range(cadence.weeks.first, cadence.weeks.last + 1):
            if cadence.per_week is not None:
                count = cadence.per_week
            else:
                count = 1 if (week - cadence.weeks.first) % (cadence.every_weeks or 1) == 0 else 0
            if count:
                per_week.setdefault(week, []).append([cadence.visit] * count)
    return {week: _interleave(groups) for week, groups in per_week.items()}


def _interleave(groups: list[list[str]]) -> list[str]:
    out: list[str] = []
    longest = max(len(g) for g in groups)
    for i in range(longest):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def _requirement(
    pathway: Pathway, visit_type: str, seq: int, week: int, first_day: date, role: str = "regular"
) -> VisitRequirement:
    visit = pathway.visit_types[visit_type]
    return VisitRequirement(
        seq=seq, visit_type=visit_type, name=visit.name,
        duration_minutes=visit.duration_minutes, week=week, earliest=first_day,
        latest=first_day + timedelta(days=6), resources=tuple(visit.needs.resources),
        skills=tuple(visit.needs.skills), caregiver_invited=visit.caregiver_invited, role=role,
    )


def _apply_first_and_last(
    pathway: Pathway, requirements: list[VisitRequirement]
) -> list[VisitRequirement]:
    if not requirements:
        return requirements
    if pathway.first_visit:
        first = requirements[0]
        requirements[0] = _requirement(pathway, pathway.first_visit, first.seq, first.week,
                                       first.earliest, role="first")
    if pathway.last_visit and len(requirements) > 1:
        last = requirements[-1]
        requirements[-1] = _requirement(pathway, pathway.last_visit, last.seq, last.week,
                                        last.earliest, role="last")
    return requirements


def stretch(plan: EpisodePlan, weeks: int) -> EpisodePlan:
    """The same visits spread over ``weeks`` (≤ the pathway's maximum) instead of ``plan.weeks``.

    Each requirement keeps its order; its window moves to the week its position maps to,
    so a short capacity week can be relieved by giving later visits more room.
    """
    weeks = min(max(weeks, plan.weeks), plan.max_weeks)
    if weeks == plan.weeks or plan.weeks == 0:
        return plan
    moved = []
    for req in plan.requirements:
        new_week = 1 + ((req.week - 1) * weeks) // plan.weeks
        last_week = 1 + (req.week * weeks - 1) // plan.weeks
        first_day = plan.start + timedelta(days=7 * (new_week - 1))
        last_day = plan.start + timedelta(days=7 * last_week - 1)
        moved.append(replace(req, week=new_week, earliest=first_day, latest=last_day))
    return replace(plan, requirements=tuple(moved), weeks=weeks)
