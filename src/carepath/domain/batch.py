"""Batch scheduling: many enrolments with a view across all of them, fair to every patient.

Order matters (DESIGN.md): the most constrained episodes go first — restricted weekdays,
time windows, heat sensitivity, a fixed therapist, scarce rooms or skills, dense weeks.
Then placement runs round-robin by episode week: every episode gets its week 1 before any
gets its week 2, so the first rows of a file cannot take every morning of the quarter. An
episode that does not fit this way is taken back and placed again whole (with automatic
stretching) after the rounds. Once many of those retries in a row still leave visits out,
the clinic is full for this horizon: the rest are placed without trying longer plans, which
would only cost time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from carepath.domain.config import Clinic
from carepath.domain.placement import Finder
from carepath.domain.schedule_types import Busy, EpisodeRequest, EpisodeSchedule
from carepath.domain.scheduler import (
    Run,
    calendar_for,
    commit,
    evaluate,
    finish,
    gap_days,
    new_run,
    rollback,
    schedule_run,
    skips,
)

FULL_AFTER = 25  # consecutive failed retries after which stretching stops being tried


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
    retry: list[int] = []
    last_week = max((r.plan.weeks for r in requests), default=0)
    for week in range(1, last_week + 1):
        for i in order:
            run = runs[i]
            if i in retry:
                continue
            if not _place_week(run, week, finder):
                rollback(run, finder)
                retry.append(i)
    results: dict[int, EpisodeSchedule] = {}
    misses = 0  # retries in a row that still left visits out: the clinic is full
    for i in order:
        if i in retry:
            runs[i] = new_run(requests[i], not_before)
            results[i] = schedule_run(runs[i], finder, partial=partial, wide=False,
                                      stretching=misses < FULL_AFTER)
            misses = misses + 1 if results[i].unplaced or not results[i].booked else 0
        else:
            results[i] = finish(runs[i], runs[i].request.plan, finder, None)
    return [results[i] for i in range(len(requests))]


def _place_week(run: Run, week: int, finder: Finder) -> bool:
    """Place this episode's visits of ``week``; False when one of them does not fit."""
    plan = run.request.plan
    reqs = [r for r in plan.requirements if r.week == week]
    if not reqs:
        return True
    chosen, primary = evaluate(reqs, finder, run.wishes, therapist_id=run.request.therapist_id,
                               primary=run.primary, after=run.last_day,
                               gap=gap_days(plan.min_rest_days, plan.same_day_visits),
                               whole=plan.requirements, wide=False)
    if skips(chosen):
        return False
    if run.primary is None:
        run.primary = primary
        run.wishes = replace(run.wishes, primary=primary)
    commit(run, reqs, chosen, finder)
    return not run.skipped
