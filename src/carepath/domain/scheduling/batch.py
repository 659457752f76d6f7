"""Batch scheduling: many enrolments with a view across all of them, fair to every patient.

Order matters (DESIGN.md): the most constrained episodes go first — restricted weekdays,
time windows, heat sensitivity, a fixed therapist, scarce rooms or skills, dense weeks.
Then placement runs round-robin by episode week: every episode gets its week 1 before any
gets its week 2, so the first rows of a file cannot take every morning of the quarter.
When an episode's week does not fit, that week and all its later visits are placed at
once in the windows of the plan stretched to the pathway's maximum length (after the visits
already booked, keeping rest days) — stretching when capacity is short, reported in the
answer. Without ``partial`` an episode that still does not fit is taken back whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Clinic
from carepath.domain.scheduling.availability import to_minute
from carepath.domain.scheduling.episode import (
    Run,
    calendar_for,
    chain,
    commit,
    episode_gap,
    evaluate,
    finish,
    keep_first,
    mixed_options,
    new_run,
    rollback,
    skips,
)
from carepath.domain.scheduling.finder import Finder
from carepath.domain.scheduling.planning import later_starts, stretch
from carepath.domain.scheduling.types import Busy, EpisodeRequest, EpisodeSchedule


def tightness(request: EpisodeRequest, finder: Finder) -> float:
    """How constrained an episode is: higher is placed first."""
    plan, prefs = request.plan, request.plan.preferences
    score = 0.0
    if prefs.weekdays:
        score += 7 - len(prefs.weekdays)
    score += 2.0 * bool(prefs.windows) + 2.0 * prefs.heat_sensitive
    score += 3.0 * (request.therapist_id is not None)
    per_week = Counter(r.week for r in plan.requirements)
    score += 1.5 * max(per_week.values(), default=0)
    for tag in {t for r in plan.requirements for t in r.resources}:
        capacity = sum(r.capacity for r in finder.providers(tag))
        score += 2.0 / max(capacity, 1)
    for skills in {r.skills for r in plan.requirements if r.skills}:
        score += 2.0 / max(len(finder.qualified(skills)), 1)
    return score


def schedule_batch(requests: Sequence[EpisodeRequest], clinic: Clinic, busy: Busy, *,
                   zone: ZoneInfo, not_before: datetime,
                   partial: bool = False) -> list[EpisodeSchedule]:
    """Place every request; results come back in the order of ``requests``."""
    finder = Finder(calendar_for(clinic, zone), busy)
    order = sorted(range(len(requests)), key=lambda i: (-tightness(requests[i], finder), i))
    runs = {i: new_run(requests[i], not_before) for i in order}
    done: dict[int, EpisodeSchedule] = {}
    last_week = max((r.plan.weeks for r in requests), default=0)
    for week in range(1, last_week + 1):
        for i in order:
            run = runs[i]
            if i in done:
                continue
            if not _place_week(run, week, finder) and not _start_later(run, week, finder):
                done[i] = _stretch_rest(run, week, finder, partial=partial)
    results: dict[int, EpisodeSchedule] = {}
    for i in order:
        results[i] = done[i] if i in done else finish(runs[i], runs[i].request.plan, finder,
                                                       None)
    return [results[i] for i in range(len(requests))]


def _stretch_rest(run: Run, week: int, finder: Finder, *, partial: bool) -> EpisodeSchedule:
    """Week ``week`` does not fit: place it and every later visit now, in the windows of the
    plan stretched to the pathway's maximum, after the visits already booked.

    Without ``partial`` an episode that still does not fit is taken back whole.
    """
    plan = run.request.plan
    longer = {r.seq: r for r in stretch(plan, plan.max_weeks).requirements}
    rest = [longer[r.seq] for r in plan.requirements if r.week >= week]
    chosen = chain(rest, finder, run.wishes, mixed_options(finder, run.primary),
                   after=run.last_day,
                   gap=episode_gap(plan, finder))
    used = replace(plan, requirements=tuple(longer[r.seq] if r.week >= week else r
                                            for r in plan.requirements),
                   weeks=max(plan.weeks, plan.max_weeks))
    stretched_from = plan.weeks if used.weeks > plan.weeks else None
    if skips(chosen) and not partial:
        fitted = [c.day for c in chosen if c] + [finder.cal.local(to_minute(p.start)).date()
                                                 for p in run.placed]
        rollback(run, finder)
        return finish(run, used, finder, stretched_from, fitted=fitted,
                      refused=[r for r, c in zip(rest, chosen, strict=True) if c is None])
    commit(run, rest, chosen, finder)
    keep_first(run, used, finder)
    return finish(run, used, finder, stretched_from)


def _start_later(run: Run, week: int, finder: Finder) -> bool:
    """Week 1 is full: start the episode a week later, and so on while its first visit can
    still be inside the pathway's ``first_visit_window``. False (plan kept) when none fits."""
    if week != 1 or run.placed:
        return False
    original = run.request
    for plan in later_starts(original.plan):
        run.request = replace(original, plan=plan)
        if _place_week(run, 1, finder):
            return True
        if run.placed:  # a visit lost its slot while being booked: stretch from here
            return False
    run.request = original
    return False


def _place_week(run: Run, week: int, finder: Finder) -> bool:
    """Place this episode's visits of ``week``; False (and nothing placed) when one of them
    does not fit."""
    plan = run.request.plan
    reqs = [r for r in plan.requirements if r.week == week]
    if not reqs:
        return True
    chosen, primary = evaluate(reqs, finder, run.wishes, therapist_id=run.request.therapist_id,
                               primary=run.primary, after=run.last_day,
                               gap=episode_gap(plan, finder),
                               whole=plan.requirements, wide=False)
    if skips(chosen):
        return False
    if run.primary is None:
        run.primary = primary
        run.wishes = replace(run.wishes, primary=primary)
    commit(run, reqs, chosen, finder)
    return not run.skipped
