"""The scheduling engine behind ``carepath.domain.scheduling`` (read its docstring first).

An episode is a chain: visits in order, each inside its week window, consecutive visits at
least ``gap`` days apart (rest days, or one visit per day). Days are chosen for the whole
chain at once by dynamic programming over "the day of the last placed visit", so a tight
week (3 visits with a rest day in a Mon–Fri clinic has one pattern) is solved exactly
instead of greedily; a visit that cannot be placed is "skipped" at a large cost, which makes
the same pass answer ``partial`` requests. Times within the chosen day come from ``Finder``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Clinic
from carepath.domain.scheduling.availability import ClinicCalendar, from_minute, to_minute
from carepath.domain.scheduling.diagnosis import explain
from carepath.domain.scheduling.finder import Candidate, Finder, Wishes
from carepath.domain.scheduling.planning import EpisodePlan, VisitRequirement, later_starts, stretch
from carepath.domain.scheduling.types import (
    BookedFirst,
    Busy,
    EpisodeRequest,
    EpisodeSchedule,
    Placement,
    Unplaced,
)

SKIP = 1000.0  # cost of leaving a visit out: any complete chain beats any partial one
PRIMARY_CANDIDATES = 2  # therapists tried for continuity before mixing therapists
MIXED_FEASIBLE = 3  # in a mixed chain, therapists compared per visit and day
MIXED_SCAN = 6  # least-loaded therapists tried first in a mixed chain

Chosen = list[Candidate | None]
Options = Callable[[VisitRequirement], list[str]]

_CALENDARS: dict[tuple[int, str], tuple[Clinic, ClinicCalendar]] = {}


def calendar_for(clinic: Clinic, zone: ZoneInfo) -> ClinicCalendar:
    """A cached calendar for this (frozen) clinic: repeated calls reuse day spans."""
    key = (id(clinic), zone.key)
    cached = _CALENDARS.get(key)
    if cached is None or cached[0] is not clinic:
        if len(_CALENDARS) > 8:
            _CALENDARS.clear()
        cached = (clinic, ClinicCalendar(clinic, zone))
        _CALENDARS[key] = cached
    return cached[1]


def gap_days(min_rest_days: int, same_day_visits: bool, patient_rest: int = 0) -> int:
    """Least number of days between consecutive visits of one episode (the pathway's rest
    days, or the clinic's between any two visits of a patient when longer)."""
    if same_day_visits and not min_rest_days:
        return 0
    return max(min_rest_days, patient_rest) + 1


def episode_gap(plan: EpisodePlan, finder: Finder) -> int:
    return gap_days(plan.min_rest_days, plan.same_day_visits, finder.patient_rest)


def skips(chosen: Chosen) -> int:
    return sum(1 for c in chosen if c is None)


def cost(chosen: Chosen) -> float:
    return sum(c.cost if c is not None else SKIP for c in chosen)


def best_of(req: VisitRequirement, day: date, therapists: list[str], finder: Finder,
            wishes: Wishes) -> Candidate | None:
    best: Candidate | None = None
    feasible = 0
    able, index = finder.able(day, req.duration_minutes), finder.therapist_index
    rooms = finder.rooms_fit(req.resources, day, req.duration_minutes) if able else 0
    if not able or not rooms:
        return None  # nobody has the time, or no room or device is free long enough
    for therapist_id in therapists:
        if not able >> index[therapist_id] & 1:
            continue
        found = finder.best(req, day, therapist_id, wishes, rooms)
        if found is None:
            continue
        if therapist_id == wishes.primary and not found.penalties:
            return found  # every other therapist costs OTHER_THERAPIST more
        feasible += 1
        if best is None or found.cost < best.cost:
            best = found
        if feasible >= MIXED_FEASIBLE:
            break
    return best


def chain(reqs: Sequence[VisitRequirement], finder: Finder, wishes: Wishes, options: Options,
          *, after: date | None, gap: int) -> Chosen:
    """The cheapest choice of day and slot per visit, respecting the gap between visits."""
    if len(reqs) == 1:
        return [_one(reqs[0], finder, wishes, options(reqs[0]), after=after, gap=gap)]
    states: dict[date | None, tuple[float, tuple[Candidate | None, ...]]] = {after: (0.0, ())}
    # Visits alike in what they need (three treatments of one week, or of overlapping
    # stretched weeks) have the same best slot per day, at a cost that differs only by
    # their windows' day cost: look each day up once per chain, not once per visit.
    memo: dict[tuple[object, ...], dict[date, Candidate | None]] = {}
    for req in reqs:
        found = _alike_days(req, finder, wishes, options, memo)
        grown: dict[date | None, tuple[float, tuple[Candidate | None, ...]]] = {}
        # An episode's first visit (the evaluation) is never left out while a day for it
        # exists: later visits without it are no treatment at all.
        skippable = not (found and (req.role == "first" or req.seq == 1))
        for last, (total, path) in states.items():
            if skippable:
                _keep(grown, last, total + SKIP, (*path, None))
            for day, candidate in found.items():
                if last is None or (day - last).days >= gap:
                    _keep(grown, day, total + candidate.cost, (*path, candidate))
        states = grown
    return list(min(states.values(), key=lambda state: state[0])[1])


def _alike_days(req: VisitRequirement, finder: Finder, wishes: Wishes, options: Options,
                memo: dict[tuple[object, ...], dict[date, Candidate | None]]
                ) -> dict[date, Candidate]:
    """The best slot of each day of ``req``'s window that has one."""
    alike = (req.visit_type, req.duration_minutes, req.resources, req.skills, req.role)
    if alike not in memo:
        memo[alike] = {}
    known, therapists = memo[alike], None
    found = {}
    for day in finder.window_days(req, wishes):
        if day not in known:
            if therapists is None:
                therapists = options(req)
            known[day] = (best_of(req, day, therapists, finder, wishes)
                          if finder.patient_free_day(wishes, day) else None)
        candidate = known[day]
        if candidate is not None:
            found[day] = candidate.with_day_cost(finder.day_cost(req, day, wishes)[0])
    return found


def _one(req: VisitRequirement, finder: Finder, wishes: Wishes, therapists: list[str], *,
         after: date | None, gap: int) -> Candidate | None:
    """One visit alone: try days cheapest-first and stop when no later day can do better."""
    days = [d for d in finder.window_days(req, wishes)
            if (after is None or (d - after).days >= gap) and finder.patient_free_day(wishes, d)]
    floors = sorted((finder.day_cost(req, d, wishes)[0], d) for d in days)
    best: Candidate | None = None
    for floor, day in floors:
        if best is not None and best.cost <= floor:
            break
        found = best_of(req, day, therapists, finder, wishes)
        if found is not None and (best is None or found.cost < best.cost):
            best = found
    return best


def _keep(states: dict[date | None, tuple[float, tuple[Candidate | None, ...]]],
          day: date | None, total: float, path: tuple[Candidate | None, ...]) -> None:
    if day not in states or total < states[day][0]:
        states[day] = (total, path)


def primary_candidates(reqs: Sequence[VisitRequirement], finder: Finder,
                       wishes: Wishes) -> list[str]:
    """Therapists ranked for continuity: qualified for the most visits, then the best fit to
    the patient's days and windows, then the least load."""
    unable = finder.unqualified_counts(tuple(r.skills for r in reqs))
    prefs = wishes.preferences
    heat = finder.cal.clinic.heat_safe_before

    open_days = prefs.weekdays or tuple(finder.cal.clinic.opening_hours.open_weekdays())


    def fit_misses(therapist_id: str) -> int:
        hours = finder.cal.therapists[therapist_id].working_hours
        count = 0
        for weekday in open_days:
            ranges = hours.on(weekday)
            outside = prefs.windows and not any(
                r.overlaps(w) for r in ranges for w in prefs.windows)
            too_warm = prefs.heat_sensitive and not any(r.start < heat for r in ranges)
            count += bool(not ranges or outside or too_warm)
        return count

    if prefs not in finder.fit_cache:
        finder.fit_cache[prefs] = {t: fit_misses(t) for t in finder.cal.therapists}
    misses, load = finder.fit_cache[prefs], finder.load_key()
    return sorted(unable, key=lambda t: (unable[t], misses[t], load(t)))


def _fixed(finder: Finder, therapist_id: str) -> Options:
    """The one therapist asked for, for the visits they are qualified for."""
    def options(req: VisitRequirement) -> list[str]:
        able = {t.id for t in finder.qualified(req.skills)}
        return [therapist_id] if therapist_id in able else []
    return options


def _only(therapist_id: str) -> Options:
    def options(req: VisitRequirement) -> list[str]:
        return [therapist_id]
    return options


def mixed_options(finder: Finder, primary: str | None, limit: int | None = None) -> Options:
    """The episode's therapist first, then the other qualified ones by load (the ``limit``
    least loaded, when given)."""
    def options(req: VisitRequirement) -> list[str]:
        qualified = finder.qualified(req.skills)
        others = [t.id for t in qualified if t.id != primary]
        able = len(others) < len(qualified)  # the primary is qualified for this visit
        if limit is not None and len(others) > limit:
            others = heapq.nsmallest(limit, others, key=finder.load_key())
        else:
            others.sort(key=finder.load_key())
        return [primary, *others] if able and primary else others
    return options


def evaluate(reqs: Sequence[VisitRequirement], finder: Finder, wishes: Wishes, *,
             therapist_id: str | None, primary: str | None, after: date | None,
             gap: int, whole: Sequence[VisitRequirement] = (),
             wide: bool = True, skip_single: bool = False) -> tuple[Chosen, str | None]:
    """Days and slots for ``reqs``: one therapist throughout when possible, else mixed.

    ``whole`` (default ``reqs``) are the episode's visits the continuity therapist is
    chosen for, when ``primary`` is not chosen yet.
    """
    if therapist_id is not None:
        return chain(reqs, finder, wishes, _fixed(finder, therapist_id), after=after,
                     gap=gap), therapist_id
    tried = [primary] if primary else primary_candidates(whole or reqs, finder, wishes)
    single = [t for t in tried[:PRIMARY_CANDIDATES]
              if all(t in {q.id for q in finder.qualified(r.skills)} for r in reqs)]
    best: tuple[Chosen, str | None] | None = None
    single = single if wide else single[:1]
    if (not single or skip_single) and tried:
        best, single = ([None] * len(reqs), tried[0]), []
    for candidate in single:
        chosen = chain(reqs, finder, replace(wishes, primary=candidate),
                       _only(candidate), after=after, gap=gap)
        if best is None or cost(chosen) < cost(best[0]):
            best = (chosen, candidate)
        if not skips(chosen) and all(not c.penalties for c in chosen if c):
            break
    for limit in (MIXED_SCAN, None):  # the least loaded first, then every qualified one
        if best is not None and not skips(best[0]):
            break
        lead = best[1] if best else None
        mixed = chain(reqs, finder, replace(wishes, primary=lead),
                      mixed_options(finder, lead, limit), after=after, gap=gap)
        if best is None or cost(mixed) < cost(best[0]):
            best = (mixed, lead)
    assert best is not None
    return best


@dataclass
class Run:
    """One episode's working state while it is being placed."""

    request: EpisodeRequest
    wishes: Wishes
    primary: str | None = None
    baseline: int | None = None  # local minute of day of the first (evaluation) visit
    last_day: date | None = None
    placed: list[Placement] = field(default_factory=list)
    skipped: list[VisitRequirement] = field(default_factory=list)


def commit(run: Run, reqs: Sequence[VisitRequirement], chosen: Chosen, finder: Finder) -> None:
    """Book each chosen candidate (re-checked against ``busy``) and remember the rest."""
    for req, candidate in zip(reqs, chosen, strict=True):
        fresh = None
        if candidate is not None:
            wishes = run.wishes
            if req.role == "last" and run.baseline is not None:
                wishes = replace(wishes, prefer_minute=run.baseline)
            fresh = finder.best(req, candidate.day, candidate.therapist_id, wishes)
        if fresh is None:
            run.skipped.append(req)
            continue
        finder.busy.add_minutes(fresh.start, fresh.end, therapist_id=fresh.therapist_id,
                                units=fresh.units, patient_id=run.wishes.patient_id or None)
        run.placed.append(Placement(req, fresh.therapist_id, from_minute(fresh.start),
                                    from_minute(fresh.end), fresh.units, fresh.penalties))
        run.last_day = fresh.day
        if req.role == "first":
            run.baseline = (fresh.start + finder.cal.offset(fresh.start)) % 1440


def keep_first(run: Run, plan: EpisodePlan, finder: Finder) -> None:
    """``partial`` books what fits, but never an episode's later visits without its first:
    when the first visit was left out, nothing of the episode stays booked."""
    first = plan.opening
    if first is None or not any(r.seq == first.seq for r in run.skipped):
        return
    rollback(run, finder)
    run.skipped = list(plan.requirements)


def rollback(run: Run, finder: Finder) -> None:
    for placement in run.placed:
        finder.busy.remove_minutes(to_minute(placement.start), to_minute(placement.end),
                                   therapist_id=placement.therapist_id,
                                   units=placement.resources,
                                   patient_id=run.wishes.patient_id or None)
    run.placed, run.skipped, run.last_day, run.baseline = [], [], None, None


def schedule_run(run: Run, finder: Finder, *, partial: bool, wide: bool = True,
                 stretching: bool = True) -> EpisodeSchedule:
    """Place a whole episode, stretching toward the pathway's maximum when visits do not fit.

    ``wide`` allows one last search over more therapists and tries every longer plan (a
    batch, short of time, tries only the longest); ``stretching`` allows longer plans at all
    (a batch turns it off once the clinic is visibly full: it costs, not helps).
    """
    plan, request = run.request.plan, run.request
    gap = episode_gap(plan, finder)
    used, stretched_from = plan, None
    chosen, primary = evaluate(plan.requirements, finder, run.wishes,
                               therapist_id=request.therapist_id, primary=run.primary,
                               after=run.last_day, gap=gap, wide=False, skip_single=not wide)
    longest = [plan.max_weeks] if stretching and plan.max_weeks > plan.weeks else []
    for weeks in range(plan.weeks + 1, plan.max_weeks + 1) if wide else longest:
        if not skips(chosen):
            break
        longer = stretch(plan, weeks)
        tried, lead = evaluate(longer.requirements, finder, run.wishes,
                               therapist_id=request.therapist_id, primary=run.primary,
                               after=run.last_day, gap=gap, wide=False, skip_single=not wide)
        if skips(tried) < skips(chosen):
            used, chosen, primary, stretched_from = longer, tried, lead, plan.weeks
    if skips(chosen) and wide:  # the quick passes left a visit out: look wider, once
        tried, lead = evaluate(used.requirements, finder, run.wishes,
                               therapist_id=request.therapist_id, primary=run.primary,
                               after=run.last_day, gap=gap)
        if cost(tried) < cost(chosen):
            chosen, primary = tried, lead
    run.primary = primary
    run.wishes = replace(run.wishes, primary=primary)
    if skips(chosen) and not partial:
        return finish(run, used, finder, stretched_from,
                      refused=[r for r, c in zip(used.requirements, chosen, strict=True)
                               if c is None], fitted=[c.day for c in chosen if c])
    commit(run, used.requirements, chosen, finder)
    keep_first(run, used, finder)
    return finish(run, used, finder, stretched_from)


def finish(run: Run, plan: EpisodePlan, finder: Finder, stretched_from: int | None, *,
           refused: Sequence[VisitRequirement] | None = None,
           fitted: Sequence[date] = ()) -> EpisodeSchedule:
    """The answer; with ``refused`` (the visits that did not fit; ``fitted`` the days of
    those that did) the episode is refused whole and nothing stays booked."""
    request = run.request
    if refused is not None:
        missing = list(refused)
        unplaced = tuple(explain(r, finder, run.wishes, request.therapist_id, plan,
                                 placed=fitted, gap=episode_gap(plan, finder))
                         for r in missing)
        total = len(plan.requirements)
        note = f"{total - len(missing)} of {total} visits fit; nothing was booked"
        return EpisodeSchedule(plan, (), unplaced, stretched_from, request.key,
                               request.patient_id, booked=False, notes=(note,))
    days = [finder.cal.local(to_minute(p.start)).date() for p in run.placed]
    if request.booked_first is not None:
        days.append(request.booked_first.day)
    first = plan.opening
    waiting = first is not None and not run.placed and any(r.seq == first.seq
                                                            for r in run.skipped)
    unplaced = tuple(
        Unplaced(r, f"waits for {first.label}: an episode is not started without its first "
                    "visit") if waiting and first is not None and r.seq != first.seq
        else explain(r, finder, run.wishes, request.therapist_id, plan, placed=days,
                     gap=episode_gap(plan, finder))
        for r in run.skipped)
    notes: tuple[str, ...] = ()
    if stretched_from is not None:
        notes = (f"stretched from {stretched_from} to {plan.weeks} weeks to fit capacity",)
    placed = tuple(sorted(run.placed, key=lambda p: p.requirement.seq))
    return EpisodeSchedule(plan, placed, unplaced, stretched_from, request.key,
                           request.patient_id, booked=True, notes=notes)


def new_run(request: EpisodeRequest, not_before: datetime) -> Run:
    plan = request.plan
    wishes = Wishes(patient_id=request.patient_id, preferences=plan.preferences,
                    not_before=to_minute(not_before), same_day=plan.same_day_visits)
    run = Run(request, wishes)
    booked = request.booked_first
    if booked is not None:  # the episode goes on from its booked first visit
        run.primary, run.last_day, run.baseline = booked.therapist_id, booked.day, booked.minute
        run.wishes = replace(wishes, primary=booked.therapist_id)
    return run


def schedule_episode(plan: EpisodePlan, clinic: Clinic, busy: Busy, *, zone: ZoneInfo,
                     not_before: datetime, patient_id: str = "",
                     therapist_id: str | None = None, partial: bool = False,
                     booked_first: BookedFirst | None = None) -> EpisodeSchedule:
    """Place every visit of ``plan``; see the module docstring of ``scheduling``.

    With a ``first_visit_window`` that reaches past week 1, an episode that does not fit
    whole at its cadence from its start is tried a week later, and so on while the first
    visit can still be inside the window; when none fits, the start is kept (stretching
    and ``partial`` apply as without a window).
    """
    finder = Finder(calendar_for(clinic, zone), busy)
    request = EpisodeRequest("", patient_id, plan, therapist_id, booked_first)
    later = later_starts(plan)
    if later:
        for candidate in (plan, *later):
            whole = schedule_run(new_run(replace(request, plan=candidate), not_before), finder,
                                 partial=False, wide=False, stretching=False)
            if whole.booked:
                return whole
    return schedule_run(new_run(request, not_before), finder, partial=partial)

