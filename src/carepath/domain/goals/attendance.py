"""Attendance and tolerance rules: two-hour-rule failures, no-shows, under-scheduled episodes.

Each rule looks at an episode's history and names the conditions that hold, each with a
stable key: the same history always gives the same keys, and a longer history only adds
keys. Late cancellations are cancellations made less than ``LATE_CANCEL`` before the visit;
the cancellation time is when the appointment last changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from carepath.domain.config.models import StallRule
from carepath.domain.goals.escalations import EscalationKind

LATE_CANCEL = timedelta(hours=24)
HELD = frozenset({"booked", "completed"})
LOST = frozenset({"cancelled", "no_show"})


@dataclass(frozen=True)
class Recovery:
    """A two-hour-rule report: did the patient feel recovered within two hours?"""

    recovered: bool
    at: datetime
    ident: int | None = None


@dataclass(frozen=True)
class Visit:
    """An appointment of the episode, as attendance sees it."""

    ident: int
    status: str
    start: datetime
    changed_at: datetime
    visit_type: str = ""


@dataclass(frozen=True)
class Condition:
    """Something that should reach a clinician: its key, a summary and the facts behind it."""

    key: str
    kind: EscalationKind
    summary: str
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attendance:
    completed: int
    booked: int
    no_shows: int
    cancelled: int
    late_cancellations: int


def attendance(visits: Sequence[Visit]) -> Attendance:
    """Counts of an episode's visits by outcome."""
    def count(status: str) -> int:
        return sum(1 for v in visits if v.status == status)

    late = sum(1 for v in visits
               if v.status == "cancelled" and v.start - v.changed_at < LATE_CANCEL)
    return Attendance(count("completed"), count("booked"), count("no_show"), count("cancelled"),
                      late)


def two_hour_failures(episode_id: int, reports: Sequence[Recovery],
                      rule: StallRule) -> list[Condition]:
    """Runs of ``failures`` non-recoveries within ``within_days``: hold progression.

    Failures are grouped from the oldest: a group starts at a failure and closes at the
    one that completes the count inside the window; the next group starts after it.
    """
    window = timedelta(days=rule.two_hour_rule.within_days)
    needed = rule.two_hour_rule.failures
    failed = sorted((r for r in reports if not r.recovered), key=lambda r: r.at)
    found: list[Condition] = []
    start = 0
    while start + needed <= len(failed):
        group = failed[start:start + needed]
        if group[-1].at - group[0].at <= window:
            tag = group[0].ident if group[0].ident is not None else group[0].at.isoformat()
            days = ", ".join(f"{r.at:%Y-%m-%d}" for r in group)
            found.append(Condition(
                f"e{episode_id}:two_hour:r{tag}", "two_hour",
                f"not recovered within two hours {needed} times in "
                f"{rule.two_hour_rule.within_days} days: hold progression",
                (f"two-hour rule failed on {days}",)))
            start += needed
        else:
            start += 1
    return found


def no_shows(episode_id: int, visits: Sequence[Visit], rule: StallRule) -> list[Condition]:
    """Every ``no_shows`` missed visits in the episode is one adherence concern."""
    missed = sorted((v for v in visits if v.status == "no_show"), key=lambda v: v.start)
    found = []
    for n in range(rule.no_shows, len(missed) + 1, rule.no_shows):
        days = ", ".join(f"{v.start:%Y-%m-%d}" for v in missed[:n])
        found.append(Condition(f"e{episode_id}:no_show:{n}", "no_show",
                               f"{n} missed visits in this episode: check adherence",
                               (f"no-show on {days}",)))
    return found


def under_scheduled(episode_id: int, visits: Sequence[Visit], planned_days: Sequence[date],
                    today: date) -> list[Condition]:
    """Cancelled or missed visits not rebooked leave the episode short of its cadence.

    Compared up to the booking horizon — the later of today and the last visit held — so an
    episode booked a few weeks at a time (rolling boosters) is not short of visits it has
    simply not booked yet. ``planned_days`` are the first days of the planned visits' windows.
    """
    held = [v for v in visits if v.status in HELD]
    lost = sorted((v for v in visits if v.status in LOST), key=lambda v: (v.changed_at, v.ident))
    horizon = max([today, *(v.start.date() for v in held)])
    due = sum(1 for day in planned_days if day <= horizon)
    if due <= len(held) or not lost:
        return []
    return [Condition(
        f"e{episode_id}:under_scheduled:a{lost[-1].ident}", "under_scheduled",
        f"{due - len(held)} of the {due} visits planned up to {horizon} are not booked: "
        "cancelled or missed visits were not rebooked",
        tuple(f"visit {v.ident} ({v.visit_type}) on {v.start:%Y-%m-%d}: {v.status}"
              for v in lost))]
