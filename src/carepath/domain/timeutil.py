"""Small time values: clock ranges, weekday names and wall-clock → UTC conversion.

Plan in the clinic's zone, store in UTC. ``local_datetime`` is the one place a wall-clock
time becomes an instant: a time that does not exist (the spring-forward gap) is an error
unless the caller asks to shift it, and an ambiguous time (the autumn fold) takes the
first occurrence, as calendar clients do (RFC 5545 §3.3.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The days carepath plans: the holiday tables (the holidays package) have no entries after
# 2100, so a later day would look open on every public holiday.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)
HORIZON_WHY = f"the holiday data carepath plans with ends on {LATEST_DATE}"


def horizon_problem(day: date) -> str | None:
    """Why ``day`` is outside the dates carepath can plan, or None."""
    if day > LATEST_DATE:
        return f"is after {LATEST_DATE}: {HORIZON_WHY}"
    if day < EARLIEST_DATE:
        return f"is before {EARLIEST_DATE}"
    return None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, order=True)
class ClockRange:
    """A half-open wall-clock range within one day, e.g. 08:00–12:00."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> ClockRange:
        """Parse ``"08:00-12:30"``; raise ValueError with the expected form otherwise."""
        match = _RANGE.match(text)
        if not match:
            raise ValueError(f"expected a range like 08:00-12:00, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{text!r} is not a valid time of day")
        end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
        if (h1, m1) >= (h2, m2):
            raise ValueError(f"range {text!r} ends before it starts")
        return cls(time(h1, m1), end)

    @property
    def minutes(self) -> int:
        return minutes_of(self.end) - minutes_of(self.start)

    def overlaps(self, other: ClockRange) -> bool:
        return self.start < other.end and other.start < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def minutes_of(t: time) -> int:
    """Minutes since midnight."""
    return t.hour * 60 + t.minute


class NonexistentLocalTime(ValueError):
    """A wall-clock time skipped by a daylight-saving change."""


def is_valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # OSError: a name too long for a file path
        return False
    return True


def local_datetime(day: date, at: time, zone: ZoneInfo, *, shift_gap: bool = False) -> datetime:
    """The aware instant of wall-clock ``at`` on ``day`` in ``zone``.

    Ambiguous times resolve to the first occurrence (fold=0). Nonexistent times raise
    ``NonexistentLocalTime`` unless ``shift_gap``, which moves them forward by the gap.
    """
    naive = datetime.combine(day, at)
    candidate = naive.replace(tzinfo=zone, fold=0)
    round_trip = candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        if not shift_gap:
            raise NonexistentLocalTime(
                f"{day} {at:%H:%M} does not exist in {zone.key} (clocks go forward)"
            )
        # PEP 495: in a gap, fold=0 applies the offset from before the change, which
        # lands the same distance past the gap: 02:30 → 03:30 on a one-hour change.
        return candidate.astimezone(UTC).astimezone(zone)
    return candidate


def is_ambiguous(day: date, at: time, zone: ZoneInfo) -> bool:
    """True when ``at`` happens twice on ``day`` (clocks go back)."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0).utcoffset()
    second = naive.replace(tzinfo=zone, fold=1).utcoffset()
    return first != second and first is not None and second is not None and first > second


def to_utc(moment: datetime) -> datetime:
    """Convert an aware datetime to UTC; a naive one is a programming error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: every datetime must carry its zone")
    return moment.astimezone(UTC)


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def days(start: date, end: date) -> list[date]:
    """Every date from start to end inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
