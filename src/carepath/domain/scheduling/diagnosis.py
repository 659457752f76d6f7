"""Why a visit could not be placed, in words a scheduler uses, and what is nearest.

The binding constraint is found by applying the hard constraints one at a time (``CASCADE``,
a table of steps), from the widest (the clinic is closed all week) to the narrowest (the rest
days between this week's visits), and naming the first one that empties the week.
Alternatives are real free slots: another therapist in the same week, and the earliest times
after the week.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from carepath.domain.scheduling.finder import Finder, Wishes
from carepath.domain.scheduling.planning import EpisodePlan, VisitRequirement
from carepath.domain.scheduling.types import Unplaced
from carepath.domain.timeutil import minutes_of

LOOK_AHEAD_DAYS = 14
SEARCHED = 12
ALTERNATIVES = 3


def explain(req: VisitRequirement, finder: Finder, wishes: Wishes, therapist_id: str | None,
            plan: EpisodePlan | None = None, *, placed: Sequence[date] = (),
            gap: int = 1) -> Unplaced:
    """The binding constraint of ``req`` and up to three nearest alternatives; ``placed``
    are the days of the episode's booked visits, ``gap`` the least days between two."""
    therapists = [therapist_id] if therapist_id else [t.id for t in finder.qualified(req.skills)]
    if plan is not None and plan.first_due is not None and req.rule:
        # later starts were tried up to the window's end: explain the whole window
        req = replace(req, latest=max(req.latest, plan.first_due))
    constraint = binding_constraint(req, finder, wishes, therapists, therapist_id,
                                    placed=placed, gap=gap)
    if plan is not None and plan.weeks < plan.max_weeks:
        constraint += f" (even stretched to {plan.max_weeks} weeks)"
    return Unplaced(req, constraint, alternatives(req, finder, wishes, therapist_id))


def least_loaded(finder: Finder, therapists: list[str]) -> list[str]:
    """The ``SEARCHED`` least-loaded of ``therapists``: in a big clinic, searching every
    therapist's diary for every failed visit would cost more than the booking."""
    if len(therapists) <= SEARCHED:
        return therapists
    return heapq.nsmallest(SEARCHED, therapists, key=finder.load_key())


def week_words(req: VisitRequirement) -> str:
    rule = f", {req.rule}" if req.rule else ""
    return f"week {req.week} ({req.earliest:%a %b %d}–{req.latest:%a %b %d}{rule})"


def day_words(days: list[date]) -> str:
    return "/".join(d.strftime("%a") for d in days) or "any day"


def skill_words(req: VisitRequirement) -> str:
    if not req.skills:
        return "no therapist"
    return "no therapist with the " + " and ".join(req.skills) + " skill"


@dataclass(frozen=True)
class Narrowed:
    """What a step of the cascade sees: the visit, who may take it, and the days of its week
    still possible once the wider constraints before this step are applied."""

    req: VisitRequirement
    finder: Finder
    wishes: Wishes
    therapists: list[str]
    fixed: str | None
    placed: Sequence[date]
    gap: int
    days: list[date]

    @property
    def week(self) -> str:
        return week_words(self.req)

    @property
    def who(self) -> str:
        return f"therapist {self.fixed}" if self.fixed else skill_words(self.req)


# A step names the constraint that empties the week, or hands on the days that survive it.
Step = Callable[[Narrowed], "str | Narrowed"]


def _in_window(n: Narrowed) -> str | Narrowed:
    days = n.finder.window_days(n.req, n.wishes)
    return replace(n, days=days) if days else f"its window, {n.week}, is already over"


def _clinic_open(n: Narrowed) -> str | Narrowed:
    cal = n.finder.cal
    days = [d for d in n.days if cal.open_spans(d)]
    if days:
        return replace(n, days=days)
    reasons = sorted({r for d in n.days if (r := cal.closed_reason(d))})
    return f"the clinic is closed every day of {n.week}: " + "; ".join(reasons)


def _patient_free(n: Narrowed) -> str | Narrowed:
    days = [d for d in n.days if n.finder.patient_free_day(n.wishes, d)]
    if days:
        return replace(n, days=days)
    if n.finder.patient_rest and n.wishes.patient_rest:
        return (f"the patient's other visits and {n.finder.patient_rest} rest day(s) "
                f"around each (patient_min_rest_days) leave no open day of {n.week}")
    return f"the patient already has a visit on every open day of {n.week}"


def _qualified(n: Narrowed) -> str | Narrowed:
    if n.fixed and n.fixed not in {t.id for t in n.finder.qualified(n.req.skills)}:
        return f"therapist {n.fixed} lacks the {' and '.join(n.req.skills)} skill"
    return n if n.therapists else f"{skill_words(n.req)} works at this clinic"


def _working(n: Narrowed) -> str | Narrowed:
    cal = n.finder.cal
    days = [d for d in n.days if any(cal.working_spans(t, d) for t in n.therapists)]
    if days:
        return replace(n, days=days)
    leave = sorted({r for t in n.therapists for d in n.days
                    if (r := cal.off_reason(cal.therapists[t], d))})
    return f"{n.who} works on {day_words(n.days)} in {n.week}: " + "; ".join(leave[:3])


def _equipment_up(n: Narrowed) -> str | Narrowed:
    cal, finder = n.finder.cal, n.finder
    for tag in n.req.resources:
        if not any(not cal.resource_down(r, d) for r in finder.providers(tag) for d in n.days):
            down = sorted({m for r in finder.providers(tag) for d in n.days
                           if (m := cal.resource_down(r, d))})
            return f"no {tag} is available in {n.week}: " + "; ".join(down or ["none configured"])
    return n


def _time_free(n: Narrowed) -> str | Narrowed:
    # Every qualified therapist is looked at (bit masks rule the full ones out cheaply):
    # "nobody is free" must be true of everyone, not of the dozen least loaded.
    days = [d for d in n.days if _anyone_free(n.req, d, n.therapists, n.finder, n.wishes)]
    if days:
        return replace(n, days=days)
    needs = " with a free " + "/".join(n.req.resources) if n.req.resources else ""
    counted = "" if n.fixed else f" (all {len(n.therapists)} qualified looked at)"
    return (f"{n.who} has {n.req.duration_minutes} free minutes{needs}"
            f"{_part_of_day(n.wishes, n.finder)} on {day_words(n.days)} in {n.week}{counted}")


def _rest_days(n: Narrowed) -> str | Narrowed:
    too_close = [d for d in n.days if any(abs((d - p).days) < n.gap for p in n.placed)]
    if not n.placed or len(too_close) < len(n.days):
        return replace(n, days=[d for d in n.days if d not in too_close])
    booked = ", ".join(f"{p:%a %b %d}" for p in sorted(n.placed)
                       if any(abs((d - p).days) < n.gap for d in n.days))
    return (f"the rest days around this episode's visits on {booked} leave no day for it "
            f"in {n.week} (free on {day_words(n.days)})")


# The relaxation cascade, widest constraint first: the first step that leaves no day of the
# week is the binding constraint.
CASCADE: tuple[Step, ...] = (_in_window, _clinic_open, _patient_free, _qualified, _working,
                             _equipment_up, _time_free, _rest_days)


def binding_constraint(req: VisitRequirement, finder: Finder, wishes: Wishes,
                       therapists: list[str], fixed: str | None, *,
                       placed: Sequence[date] = (), gap: int = 1) -> str:
    narrowed = Narrowed(req, finder, wishes, therapists, fixed, placed, gap, days=[])
    for step in CASCADE:
        outcome = step(narrowed)
        if isinstance(outcome, str):
            return outcome
        narrowed = outcome
    return (f"every slot in {narrowed.week} was taken by other bookings of this batch when "
            f"it was placed; free now on {day_words(narrowed.days)} (book it by hand)")


def _anyone_free(req: VisitRequirement, day: date, therapists: list[str], finder: Finder,
                 wishes: Wishes) -> bool:
    able, index = finder.able(day, req.duration_minutes), finder.therapist_index
    return any(finder.best(req, day, t, wishes) for t in therapists if able >> index[t] & 1)


def _part_of_day(wishes: Wishes, finder: Finder) -> str:
    prefs = wishes.preferences
    if prefs.heat_sensitive:
        return f" mornings (before {finder.cal.clinic.heat_safe_before:%H:%M})"
    if prefs.windows and all(minutes_of(w.end) <= 12 * 60 for w in prefs.windows):
        return " mornings"
    return ""


def alternatives(req: VisitRequirement, finder: Finder, wishes: Wishes,
                 therapist_id: str | None) -> tuple[str, ...]:
    """Nearest real options: another therapist this week, then the first slots after it."""
    out: list[str] = []
    everyone = least_loaded(finder, [t.id for t in finder.qualified(req.skills)])
    for day in finder.window_days(req, wishes):
        found = _first(req, day, [therapist_id] if therapist_id else everyone, finder, wishes)
        if found:
            out.append("same week: " + found)
            break
    if therapist_id:
        others = [t for t in everyone if t != therapist_id]
        for day in finder.window_days(req, wishes):
            found = _first(req, day, others, finder, wishes)
            if found:
                out.append("another therapist: " + found)
                break
    day = max(req.latest + timedelta(days=1), finder.cal.local(wishes.not_before).date())
    for _ in range(LOOK_AHEAD_DAYS):
        if len(out) >= ALTERNATIVES:
            break
        found = _first(req, day, [therapist_id] if therapist_id else everyone, finder, wishes)
        if found:
            out.append("later: " + found)
        day += timedelta(days=1)
    return tuple(out)


def _first(req: VisitRequirement, day: date, therapists: list[str], finder: Finder,
           wishes: Wishes) -> str | None:
    if not finder.patient_free_day(wishes, day):
        return None
    for therapist_id in therapists:
        found = finder.best(req, day, therapist_id, wishes)
        if found is not None:
            local = finder.cal.local(found.start)
            return f"{local:%a %Y-%m-%d %H:%M} with {therapist_id}"
    return None
