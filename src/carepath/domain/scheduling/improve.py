"""An optional improvement phase after a batch: one therapist per episode, where time allows.

The batch places each week when its turn comes, so an episode whose therapist was full in one
week keeps a second therapist for the rest of it even when the first could take those visits.
``improve`` first revisits every booked episode with more than one therapist and gives each
visit not with its lead (the therapist with most of its visits, the earliest first on a tie)
to the lead: at the same time when the lead is free then; else at the lead's best time that
day; else on another day of the visit's week, nearest first, between the episode's visits
before and after it (their order kept) and clear of their rest days (not for an episode
started by an imported visit, whose day is not among its placements) — never missing more of
the patient's wishes than before. Every move is checked against the hard rules (``fit_at``,
what ``check_slot`` checks, with the episode's other days and rest days) before it is kept,
and one that does not hold leaves the visit as it was. Then two visits of different episodes
at exactly the same time trade therapists where that gives one its lead and costs the other
nothing (only skills need checking: both therapists stay busy then). Rounds repeat while
they change something. Nothing here reads a clock: ``stop`` says when the budget is spent,
checked before each episode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Clinic
from carepath.domain.scheduling.availability import from_minute, to_minute
from carepath.domain.scheduling.episode import calendar_for, episode_gap
from carepath.domain.scheduling.finder import Finder, Wishes, rest_days
from carepath.domain.scheduling.one_visit import exact_wishes, fit_at
from carepath.domain.scheduling.types import (
    Busy,
    EpisodeSchedule,
    Placement,
    VisitRequest,
    patient_penalties,
)


@dataclass(frozen=True)
class Improvement:
    """What the phase did: visits moved to their episode's lead, episodes now with one
    therapist, mixed episodes looked at in the first round, whether the budget ran out, and
    pairs of visits at the same time that traded therapists."""

    moved: int = 0
    unified: int = 0
    looked_at: int = 0
    out_of_time: bool = False
    swapped: int = 0


ROUNDS = 3  # a round that changes nothing ends it sooner; a fourth rarely moved anything


def improve(schedules: Sequence[EpisodeSchedule], clinic: Clinic, busy: Busy, *,
            zone: ZoneInfo, not_before: datetime, stop: Callable[[], bool]
            ) -> tuple[list[EpisodeSchedule], Improvement]:
    """``schedules`` with visits moved to their episode's lead therapist (never before
    ``not_before``); ``busy`` follows every move. Rounds repeat while they change something
    (a move or a trade can free the slot another visit needs), up to ``ROUNDS``."""
    finder = Finder(calendar_for(clinic, zone), busy)
    improved, total = list(schedules), Improvement()
    for _round in range(ROUNDS):
        done = _one_round(improved, finder, clinic, zone, to_minute(not_before), stop)
        total = Improvement(moved=total.moved + done.moved,
                            looked_at=total.looked_at or done.looked_at,
                            out_of_time=done.out_of_time, swapped=total.swapped + done.swapped)
        if done.out_of_time or not (done.moved or done.swapped):
            break
    unified = sum(1 for before, after in zip(schedules, improved, strict=True)
                  if before.booked and not before.single_therapist and after.single_therapist)
    return improved, replace(total, unified=unified)


def _one_round(improved: list[EpisodeSchedule], finder: Finder, clinic: Clinic,
               zone: ZoneInfo, not_before: int, stop: Callable[[], bool]) -> Improvement:
    """Each mixed episode's visits toward its lead, then trades at the same time; in place."""
    moved = looked_at = 0
    for index, schedule in enumerate(improved):
        if not schedule.booked or schedule.single_therapist:
            continue
        if stop():
            return Improvement(moved=moved, looked_at=looked_at, out_of_time=True)
        looked_at += 1
        better, count = _toward_lead(schedule, finder, zone, not_before)
        improved[index], moved = better, moved + count
    swapped, out_of_time = _swap_at_the_same_time(improved, clinic, stop)
    return Improvement(moved=moved, looked_at=looked_at, out_of_time=out_of_time,
                       swapped=swapped)


def _swap_at_the_same_time(schedules: list[EpisodeSchedule], clinic: Clinic,
                           stop: Callable[[], bool]) -> tuple[int, bool]:
    """Two visits of different episodes at exactly the same time trade therapists when that
    gives one its lead and costs the other nothing: each therapist stays busy at that time
    (so hours, leave and other bookings hold as they did), the rooms stay with their visits,
    and only skills need checking. ``schedules`` changed in place; (pairs swapped, out of time)."""
    skills = {t.id: set(t.skills) for t in clinic.therapists}
    leads = {i: lead_of(s) for i, s in enumerate(schedules) if s.booked and s.placements}
    at: dict[tuple[datetime, datetime], list[tuple[int, int]]] = {}
    for i in leads:
        for j, p in enumerate(schedules[i].placements):
            at.setdefault((p.start, p.end), []).append((i, j))
    swapped = 0
    for i, lead in leads.items():
        if schedules[i].single_therapist:
            continue
        if stop():
            return swapped, True
        for j in range(len(schedules[i].placements)):
            mine = schedules[i].placements[j]
            if mine.therapist_id == lead or not set(mine.requirement.skills) <= skills[lead]:
                continue
            for k, m in at[(mine.start, mine.end)]:
                theirs = schedules[k].placements[m]
                if (k != i and theirs.therapist_id == lead and leads[k] != lead
                        and set(theirs.requirement.skills) <= skills[mine.therapist_id]):
                    _trade(schedules, (i, j), (k, m))
                    swapped += 1
                    break
    return swapped, False


def _trade(schedules: list[EpisodeSchedule], first: tuple[int, int],
           second: tuple[int, int]) -> None:
    (i, j), (k, m) = first, second
    a, b = schedules[i].placements[j], schedules[k].placements[m]
    _put(schedules, i, j, replace(a, therapist_id=b.therapist_id, penalties=tuple(
        p for p in a.penalties if not p.startswith("therapist"))))  # now with its lead
    _put(schedules, k, m, replace(b, therapist_id=a.therapist_id))


def _put(schedules: list[EpisodeSchedule], i: int, j: int, placement: Placement) -> None:
    placements = list(schedules[i].placements)
    placements[j] = placement
    schedules[i] = replace(schedules[i], placements=tuple(placements))


def lead_of(schedule: EpisodeSchedule) -> str:
    """The therapist with most of the episode's visits; on a tie, the one seen first."""
    counts = Counter(p.therapist_id for p in schedule.placements)
    first = {t: i for i, t in reversed(list(enumerate(p.therapist_id
                                                      for p in schedule.placements)))}
    return min(counts, key=lambda t: (-counts[t], first[t]))


def _toward_lead(schedule: EpisodeSchedule, finder: Finder, zone: ZoneInfo,
                 not_before: int) -> tuple[EpisodeSchedule, int]:
    lead, moved = lead_of(schedule), 0
    wishes = Wishes(patient_id=schedule.patient_id, preferences=schedule.plan.preferences,
                    primary=lead, not_before=not_before, same_day=schedule.plan.same_day_visits)
    placements = list(schedule.placements)
    gap = episode_gap(schedule.plan, finder)
    for index, placement in enumerate(placements):
        if placement.therapist_id == lead:
            continue
        days = [p.start.astimezone(zone).date() for p in placements]
        episode = Neighbours(tuple(days[:index] + days[index + 1:]), gap,
                             max(days[:index], default=None), min(days[index + 1:], default=None),
                             other_days=not schedule.plan.started)
        found = _with_lead(placement, lead, wishes, episode, finder, zone)
        if found is not None:
            placements[index], moved = found, moved + 1
    return replace(schedule, placements=tuple(placements)), moved


@dataclass(frozen=True)
class Neighbours:
    """The rest of the episode around one visit: its other days, the least days between two
    visits, and the days of the visits just before and after it."""

    days: tuple[date, ...]
    gap: int
    before: date | None
    after: date | None
    # An episode started by an imported visit has a day these placements do not show (its
    # rest days and order count from it): its visits keep their days.
    other_days: bool = True

    def allow(self, day: date) -> bool:
        return (self.other_days and (self.before is None or day > self.before)
                and (self.after is None or day < self.after))


def _with_lead(placement: Placement, lead: str, wishes: Wishes, episode: Neighbours,
               finder: Finder, zone: ZoneInfo) -> Placement | None:
    """``placement`` with ``lead``, booked into the finder's diary; or None with the diary
    as it was."""
    busy, owner = finder.busy, wishes.patient_id or None
    start, end = to_minute(placement.start), to_minute(placement.end)
    busy.remove_minutes(start, end, therapist_id=placement.therapist_id,
                        units=placement.resources, patient_id=owner)
    same_time = replace(placement, therapist_id=lead, penalties=tuple(  # continuity met now
        p for p in placement.penalties if not p.startswith("therapist")))
    moved = _holds(same_time, wishes, episode, finder, zone)
    if moved is None:
        moved = _elsewhere(placement, lead, wishes, episode, finder, zone)
    kept = moved or placement
    busy.add_minutes(to_minute(kept.start), to_minute(kept.end), therapist_id=kept.therapist_id,
                     units=kept.resources, patient_id=owner)
    return moved


def _elsewhere(placement: Placement, lead: str, wishes: Wishes, episode: Neighbours,
               finder: Finder, zone: ZoneInfo) -> Placement | None:
    """The lead's best time on the visit's day, else on the nearest other day that keeps
    the episode's order and rest days; None when no day holds one."""
    req, home = placement.requirement, placement.start.astimezone(zone).date()
    blocked = replace(wishes, blocked_days=rest_days(episode.days, max(episode.gap - 1, 0)))
    days = [d for d in finder.window_days(req, blocked) if d == home or episode.allow(d)]
    for day in sorted(days, key=lambda d: (abs((d - home).days), d)):
        if day != home and not finder.patient_free_day(blocked, day):
            continue
        found = finder.best(req, day, lead, blocked)
        if found is None:
            continue
        later = replace(placement, therapist_id=lead, start=from_minute(found.start),
                        end=from_minute(found.end), penalties=found.penalties)
        if len(patient_penalties(later)) <= len(patient_penalties(placement)):
            moved = _holds(later, wishes, episode, finder, zone)
            if moved is not None:
                return moved
    return None


def _holds(placement: Placement, wishes: Wishes, episode: Neighbours, finder: Finder,
           zone: ZoneInfo) -> Placement | None:
    """``placement`` with the units it would hold when it breaks no hard rule, else None."""
    request = VisitRequest(placement.requirement, patient_id=wishes.patient_id,
                           episode_days=episode.days, min_rest_days=max(episode.gap - 1, 0),
                           same_day_visits=wishes.same_day, therapist_id=placement.therapist_id)
    problem, _taken, units = fit_at(request, finder, exact_wishes(request, placement.start),
                                    placement.start, zone)
    return None if problem else replace(placement, resources=units)
