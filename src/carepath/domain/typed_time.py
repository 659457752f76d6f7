"""One policy for times people type, used by every command and importer.

- ``2027-03-01`` means the start of that day in the clinic's zone.
- ``2027-03-01 10:30`` (or ``T10:30``) is wall-clock time in the clinic's zone; with an offset
  (``10:30+01:00``) it is that exact instant.
- A wall-clock time skipped by a spring-forward change (``2027-03-14 02:30`` in New York) is
  refused, naming the first valid time — never silently moved.
- A wall-clock time that happens twice on a fall-back night (``2027-11-07 01:30``) means the
  first, as calendar clients read it (RFC 5545 §3.3.5); write an offset for the second.
- Where a visit start is meant, seconds are refused rather than rounded (``whole_minutes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from carepath.domain.timeutil import NonexistentLocalTime, local_datetime

_LONGEST_GAP_MINUTES = 24 * 60  # historic zones skipped whole days; today's gaps are ≤ 1 h


@dataclass(frozen=True)
class TypedTimeError(ValueError):
    """A typed time that means no instant: what is wrong and the fix."""

    why: str
    fix: str

    def __str__(self) -> str:
        return f"{self.why} — {self.fix}"


def read_instant(text: str, zone: ZoneInfo, *, whole_minutes: bool = False) -> datetime:
    """The aware instant ``text`` names (in ``zone`` unless it carries an offset)."""
    raw = text.strip()
    if len(raw) == 10:
        return _start_of_day(_date(raw), zone)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise TypedTimeError("not an ISO date or date-time",
                             "write e.g. 2027-03-01 or 2027-03-01 10:30") from None
    if whole_minutes and (moment.second or moment.microsecond):
        raise TypedTimeError("visits start on a whole minute",
                             f"write e.g. {moment:%Y-%m-%d %H:%M}")
    if moment.tzinfo is not None:
        return moment
    try:
        return local_datetime(moment.date(), moment.time(), zone)
    except NonexistentLocalTime as error:
        first = first_valid_after(moment, zone)
        raise TypedTimeError(str(error), f"pick {first:%H:%M} or later") from None


def first_valid_after(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first wall-clock minute after ``naive`` (inside a gap) that exists in ``zone``."""
    for minutes in range(1, _LONGEST_GAP_MINUTES + 1):
        candidate = naive.replace(second=0, microsecond=0) + timedelta(minutes=minutes)
        try:
            return local_datetime(candidate.date(), candidate.time(), zone)
        except NonexistentLocalTime:
            continue
    raise AssertionError(f"no valid time within a day after {naive} in {zone.key}")


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise TypedTimeError("not a valid date", "write e.g. 2027-03-01") from None


def _start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight, or the first minute of the day where midnight is skipped (São Paulo 2018)."""
    try:
        return local_datetime(day, time(0, 0), zone)
    except NonexistentLocalTime:
        return first_valid_after(datetime.combine(day, time(0, 0)), zone)
