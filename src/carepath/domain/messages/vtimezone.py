"""VTIMEZONE components with yearly RRULEs, the form every client and CalDAV server reads.

Why not icalendar's ``add_missing_timezones``: it lists each change as an RDATE. Measured
against vobject (the parser inside Radicale): a VTIMEZONE whose observances carry more than
one RDATE is read as if only the first applied, so a two-year window already puts later
summer visits an hour off; and vobject keeps the *first* definition it meets per TZID for
the whole process, so narrow per-object windows (one object knowing only EST, the next only
EDT) shift other objects by an hour. Google, Outlook and Apple write one STANDARD and one
DAYLIGHT with ``RRULE:FREQ=YEARLY;BYMONTH=…;BYDAY=…`` — so do we: the rule is derived from
the zone's own transitions (zoneinfo), DTSTART is its first onset in 1970, and the text is
identical in every object we write, whatever the visit dates.

When a zone's rule is not the same in every year the calendar covers (a government changed
it, or a zone with more than two changes a year), ``vtimezone`` returns None and the caller
falls back to icalendar's RDATE form over the visits' own dates.
"""

from __future__ import annotations

import calendar as monthcal
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
EPOCH_YEAR = 1970


@dataclass(frozen=True)
class Onset:
    """One yearly change: 'the 2nd Sunday of March at 02:00, from -05:00 to -04:00'."""

    month: int
    weekday: int
    nth: int  # 1..4, or -1 for the last one in the month
    at: time  # local wall-clock time before the change
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool

    def day_in(self, year: int) -> date:
        days = [d for d in range(1, monthcal.monthrange(year, self.month)[1] + 1)
                if date(year, self.month, d).weekday() == self.weekday]
        return date(year, self.month, days[self.nth - 1 if self.nth > 0 else -1])


def vtimezone(zone: ZoneInfo, first: date, last: date) -> Timezone | None:
    """The zone as RRULE observances valid for every year from ``first`` to ``last``."""
    # At least three years, so a one-off pattern (Ramadan shifts) is not taken for a rule.
    years = range(first.year, max(last.year, first.year + 2) + 1)
    rules = {year: _onsets(zone.key, year) for year in years}
    distinct = set(rules.values())
    if len(distinct) != 1:
        return None
    (onsets,) = distinct
    if len(onsets) == 0:
        return _fixed(zone, first)
    if len(onsets) != 2:
        return None
    component = Timezone()
    component.add("tzid", zone.key)
    for onset in onsets:
        component.add_component(_observance(onset))
    return component


def _observance(onset: Onset) -> TimezoneStandard | TimezoneDaylight:
    part = TimezoneDaylight() if onset.daylight else TimezoneStandard()
    part.add("dtstart", datetime.combine(onset.day_in(EPOCH_YEAR), onset.at))
    part.add("rrule", {"freq": "yearly", "bymonth": onset.month,
                       "byday": f"{onset.nth}{DAY_CODES[onset.weekday]}"})
    part.add("tzname", onset.name)
    part.add("tzoffsetfrom", onset.offset_from)
    part.add("tzoffsetto", onset.offset_to)
    return part


def _fixed(zone: ZoneInfo, first: date) -> Timezone:
    """A zone without daylight saving: one STANDARD observance."""
    local = datetime.combine(first, time(12), tzinfo=zone)
    offset = local.utcoffset() or timedelta(0)
    component = Timezone()
    component.add("tzid", zone.key)
    part = TimezoneStandard()
    part.add("dtstart", datetime.combine(date(EPOCH_YEAR, 1, 1), time(0)))
    part.add("tzname", local.tzname() or zone.key)
    part.add("tzoffsetfrom", offset)
    part.add("tzoffsetto", offset)
    component.add_component(part)
    return component


@lru_cache(maxsize=256)
def _onsets(zone_key: str, year: int) -> tuple[Onset, ...]:
    """Every change of UTC offset in ``year``, as a rule that names its day in the month."""
    zone = ZoneInfo(zone_key)
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while day < end:
        following = day + timedelta(days=1)
        if _offset(zone, day) != _offset(zone, following):
            found.append(_onset(zone, _change_between(zone, day, following)))
        day = following
    return tuple(sorted(found, key=lambda o: o.month))


def _onset(zone: ZoneInfo, instant: datetime) -> Onset:
    before, after = _offset(zone, instant - timedelta(minutes=1)), _offset(zone, instant)
    local = (instant + before).replace(tzinfo=None)
    last_week = local.day + 7 > monthcal.monthrange(local.year, local.month)[1]
    moment = instant.astimezone(zone)
    return Onset(month=local.month, weekday=local.weekday(),
                 nth=-1 if last_week else (local.day - 1) // 7 + 1, at=local.time(),
                 offset_from=before, offset_to=after, name=moment.tzname() or zone.key,
                 daylight=bool(moment.dst()))


def _change_between(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first minute with the new offset (bisection; changes fall on whole minutes)."""
    old = _offset(zone, low)
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            middle = low + timedelta(minutes=1)
        if _offset(zone, middle) == old:
            low = middle
        else:
            high = middle
    return high


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)
