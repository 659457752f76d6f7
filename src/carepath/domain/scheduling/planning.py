"""Planning: a pathway, a start date and a patient's preferences → the visits to book.

The plan says *what* and *within which dates*; scheduling decides *when* and *with whom*.
Week ``w`` of an episode is the seven days from ``start + 7·(w-1)``, or with ``weeks_are:
calendar`` the Monday–Sunday week ``w-1`` weeks after the start's (week 1 then runs from the
start to its Sunday, its ``per_week`` counts pro rata to the open days left in it, and never
more visits than those days hold with the rest days between them).
The cadence gives every session of each week; the pathway's ``first_visit`` replaces the
first session and ``last_visit`` the last one, so an evaluation counts toward week 1's
sessions. A ``first_visit_window`` bounds the first visit to days after the referral.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from carepath.domain.config.models import FirstVisitWindow, Pathway
from carepath.domain.config.pathway_checks import max_visits_per_week
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
    rule: str = ""  # a config rule bounding the window besides the week (first_visit_window)

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
    calendar_weeks: bool = False  # weeks run Monday to Sunday (weeks_are: calendar)
    first_due: date | None = None  # the last day the first visit may be (first_visit_window)
    # The first visit is already booked (an imported evaluation that starts the episode):
    # ``requirements`` holds only the visits after it.
    started: bool = False

    @property
    def end(self) -> date:
        return self.week_window(self.weeks)[1]

    def week_window(self, week: int) -> tuple[date, date]:
        return week_window(self.start, week, calendar=self.calendar_weeks)

    @property
    def opening(self) -> VisitRequirement | None:
        """The visit that opens the episode and is still to be booked (None once it is)."""
        if self.started:
            return None
        return min(self.requirements, key=lambda r: r.seq, default=None)


def week_window(start: date, week: int, *, calendar: bool = False) -> tuple[date, date]:
    """First and last day of ``week`` (1-based) of an episode starting on ``start``."""
    if not calendar:
        first = start + timedelta(days=7 * (week - 1))
        return first, first + timedelta(days=6)
    monday = start - timedelta(days=start.weekday()) + timedelta(days=7 * (week - 1))
    return max(monday, start), monday + timedelta(days=6)


def calendar_start(start: date, open_weekdays: Sequence[int]) -> date:
    """With calendar weeks an episode starting when its week has no open day left (a
    Saturday in a Mon–Fri clinic) starts on the next Monday: week 1 is never empty."""
    left = [d for d in range(start.weekday(), 7) if d in open_weekdays]
    if left or not open_weekdays:
        return start
    return start + timedelta(days=7 - start.weekday())


def first_week_share(start: date, open_weekdays: Sequence[int]) -> float:
    """The part of a calendar week 1 still open on and after ``start`` (1.0 from a Monday)."""
    total = len(set(open_weekdays))
    if not total:
        return 1.0
    return sum(1 for d in set(open_weekdays) if d >= start.weekday()) / total


def _fits_after(start: date, open_weekdays: Sequence[int], rest_days: int) -> int:
    """How many visits the open days of ``start``'s week from ``start`` on can hold with
    ``rest_days`` between them: a partial week never asks for more."""
    left = sorted(d for d in set(open_weekdays) if d >= start.weekday())
    return max_visits_per_week(left, rest_days, repeating=False)


def pro_rata(per_week: int, share: float) -> int:
    """``per_week`` visits in a partial week: rounded half up, at least one."""
    return max(1, math.floor(per_week * share + 0.5))


ALL_DAYS = tuple(range(7))


def plan_episode(
    pathway: Pathway, start: date, preferences: PatientPreferences | None = None, *,
    referred: date | None = None, open_weekdays: Sequence[int] = ALL_DAYS,
    first_booked: bool = False,
) -> EpisodePlan:
    """The visit requirements of ``pathway`` for an episode starting on ``start``.

    ``referred`` (default ``start``) is the day the ``first_visit_window`` counts from; the
    episode starts no earlier than the window's first day. ``open_weekdays`` (the clinic's)
    share a partial calendar week 1 out. ``first_booked``: the first visit is already booked
    (on ``start``, which the weeks then start from) and is not planned again.
    """
    window = pathway.first_visit_window if not first_booked else None
    due = None
    if window is not None:
        referral = referred or start
        start = max(start, referral + timedelta(days=window.earliest_days))
        due = referral + timedelta(days=window.latest_days)
    calendar = pathway.weeks_are == "calendar"
    if calendar and not first_booked:
        start = calendar_start(start, open_weekdays)
    share = first_week_share(start, open_weekdays) if calendar else 1.0
    weekly = _weekly_types(pathway, share)
    if share < 1 and 1 in weekly and not pathway.same_day_visits:
        weekly[1] = weekly[1][:max(1, _fits_after(start, open_weekdays, pathway.min_rest_days))]
    weeks = max(weekly, default=0)
    requirements: list[VisitRequirement] = []
    for week in sorted(weekly):
        first_day, last_day = week_window(start, week, calendar=calendar)
        for visit_type in weekly[week]:
            requirements.append(_requirement(pathway, visit_type, len(requirements) + 1,
                                             week, first_day, last_day=last_day))
    requirements = _apply_first_and_last(pathway, requirements)
    if requirements and due is not None and window is not None:
        requirements[0] = due_by(requirements[0], due, _window_rule(window, referred or start))
    plan = EpisodePlan(
        pathway_id=pathway.id, pathway_version=pathway.version, start=start,
        requirements=tuple(requirements), preferences=preferences or PatientPreferences(),
        min_rest_days=pathway.min_rest_days, same_day_visits=pathway.same_day_visits,
        weeks=weeks, max_weeks=pathway.length.max_weeks, calendar_weeks=calendar,
        first_due=due,
    )
    return started_with_first(plan) if first_booked else plan


def _window_rule(window: FirstVisitWindow, referral: date) -> str:
    return (f"first_visit_window: {window.earliest_days}–{window.latest_days} days after the "
            f"referral on {referral:%a %b %d}")


def due_by(req: VisitRequirement, due: date, rule: str) -> VisitRequirement:
    """The first visit no later than ``due``, the rule that says so named."""
    return replace(req, latest=min(req.latest, due), rule=rule)


def started_with_first(plan: EpisodePlan) -> EpisodePlan:
    """The plan without its first visit, which is already booked."""
    opening = plan.opening
    rest = tuple(r for r in plan.requirements if opening is None or r.seq != opening.seq)
    return replace(plan, requirements=rest, started=True, first_due=None)


def later_starts(plan: EpisodePlan) -> list[EpisodePlan]:
    """The same episode started one, two, … weeks later while its first visit can still be
    inside its ``first_visit_window``: what to try when week 1 is full."""
    if plan.first_due is None or plan.started:
        return []
    return [shift(plan, days) for days in range(7, (plan.first_due - plan.start).days + 1, 7)]


def shift(plan: EpisodePlan, days: int) -> EpisodePlan:
    """Every visit ``days`` later; the first visit still no later than ``first_due``."""
    step = timedelta(days=days)
    opening = plan.opening
    moved = []
    for req in plan.requirements:
        later = replace(req, earliest=req.earliest + step, latest=req.latest + step)
        if opening is not None and req.seq == opening.seq and plan.first_due is not None:
            later = replace(later, latest=min(later.latest, plan.first_due))
        moved.append(later)
    return replace(plan, start=plan.start + step, requirements=tuple(moved))


def _weekly_types(pathway: Pathway, first_share: float = 1.0) -> dict[int, list[str]]:
    """Visit types per week, interleaved so that one week mixes its types evenly;
    ``first_share`` < 1 is a partial calendar week 1 (its per_week counts pro rata)."""
    per_week: dict[int, list[list[str]]] = {}
    for cadence in pathway.cadence:
        for week in range(cadence.weeks.first, cadence.weeks.last + 1):
            if cadence.per_week is not None:
                share = first_share if week == 1 else 1.0
                count = pro_rata(cadence.per_week, share) if share < 1 else cadence.per_week
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
    pathway: Pathway, visit_type: str, seq: int, week: int, first_day: date, role: str = "regular",
    *, last_day: date | None = None,
) -> VisitRequirement:
    visit = pathway.visit_types[visit_type]
    return VisitRequirement(
        seq=seq, visit_type=visit_type, name=visit.name,
        duration_minutes=visit.duration_minutes, week=week, earliest=first_day,
        latest=last_day or first_day + timedelta(days=6), resources=tuple(visit.needs.resources),
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
                                       first.earliest, role="first", last_day=first.latest)
    if pathway.last_visit and len(requirements) > 1:
        last = requirements[-1]
        requirements[-1] = _requirement(pathway, pathway.last_visit, last.seq, last.week,
                                        last.earliest, role="last", last_day=last.latest)
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
    opening = plan.opening
    for req in plan.requirements:
        new_week = 1 + ((req.week - 1) * weeks) // plan.weeks
        last_week = 1 + (req.week * weeks - 1) // plan.weeks
        first_day = plan.week_window(new_week)[0]
        last_day = plan.week_window(last_week)[1]
        if opening is not None and req.seq == opening.seq and plan.first_due is not None:
            last_day = min(last_day, plan.first_due)  # stretching never makes it late
        moved.append(replace(req, week=new_week, earliest=first_day, latest=last_day))
    return replace(plan, requirements=tuple(moved), weeks=weeks)
