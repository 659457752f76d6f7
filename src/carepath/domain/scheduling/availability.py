"""Availability as interval arithmetic, after cal.com's slots: working ranges → intersect →
subtract busy → cut into slots. Unlike cal.com, ``now`` and the settings come in as arguments.

Instants are whole minutes since the Unix epoch in UTC (``int``), so that a large clinic's
year of bookings is compared with integer arithmetic, not datetime objects. A ``Span`` is a
half-open ``(start, end)`` pair of such minutes. Wall-clock ranges (opening hours, working
hours) become spans through ``timeutil.local_datetime`` day by day, so a 09:00 opening stays
09:00 local on both sides of a daylight-saving change.

Public API::

    to_minute(moment: datetime) -> int            # aware datetime → UTC minute
    from_minute(minute: int) -> datetime          # UTC minute → aware UTC datetime
    normalize(spans) -> list[Span]                # sorted, overlaps merged
    intersect(a, b) -> list[Span]                 # both normalized
    subtract(a, b) -> list[Span]                  # both normalized
    cut(free, *, length, step, offset=0) -> list[int]   # slot starts inside free spans
    span_mask, mask_spans, fitting_starts, grid_mask, set_bits  # minutes as bits of an int
    BusyList                                      # merged busy spans with O(log n) checks
    ClinicCalendar(clinic, zone)                  # cached open/working spans per day
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Clinic, Period, Resource, Therapist, WeeklyHours
from carepath.domain.public_holidays import public_holidays
from carepath.domain.timeutil import local_datetime

Span = tuple[int, int]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_minute(moment: datetime) -> int:
    """Whole minutes since the epoch (UTC) of an aware datetime; seconds are dropped."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: every datetime must carry its zone")
    return int((moment - EPOCH).total_seconds() // 60)


def from_minute(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


def normalize(spans: Iterable[Span]) -> list[Span]:
    """Sorted spans with overlapping or touching ones merged; empty spans dropped."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """The instants in both ``a`` and ``b`` (each normalized)."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """The instants in ``a`` and not in ``b`` (each normalized)."""
    out: list[Span] = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k, cursor = j, start
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def cut(free: Sequence[Span], *, length: int, step: int, offset: int = 0) -> list[int]:
    """Slot starts of ``length`` minutes inside ``free``, on the local ``step`` grid.

    ``offset`` is the zone's UTC offset in minutes, so that a 15-minute grid falls on
    :00, :15, :30 and :45 local time even in a zone offset by half an hour.
    """
    starts: list[int] = []
    for start, end in free:
        first = start + (-(start + offset)) % step
        starts.extend(range(first, end - length + 1, step))
    return starts


def span_mask(spans: Iterable[Span], origin: int) -> int:
    """The minutes of ``spans`` as the bits of an ``int``: bit ``i`` is minute ``origin + i``.

    A day is 1,440 bits; and, or and shifts of such numbers run in C, so checking a hundred
    therapists' days for a free stretch costs microseconds each, not a loop per booking.
    """
    bits = 0
    for start, end in spans:
        bits |= ((1 << (end - start)) - 1) << (start - origin)
    return bits


def mask_spans(bits: int, origin: int) -> list[Span]:
    """The runs of set bits as spans, the inverse of :func:`span_mask`."""
    spans: list[Span] = []
    while bits:
        start = (bits & -bits).bit_length() - 1
        run = bits >> start
        length = (run ^ (run + 1)).bit_length() - 1  # trailing ones of run
        spans.append((origin + start, origin + start + length))
        bits = (run >> length) << (start + length)
    return spans


def fitting_starts(bits: int, length: int) -> int:
    """Bit ``i`` set when bits ``i … i + length - 1`` of ``bits`` all are: the minutes from
    which ``length`` free minutes follow (doubling shifts: about log2(length) steps)."""
    for shift in _doubling_shifts(length):
        bits &= bits >> shift
    return bits


@cache
def _doubling_shifts(length: int) -> tuple[int, ...]:
    """1, 2, 4, … then the rest: after them, bit ``i`` stands for ``length`` bits from ``i``."""
    shifts, have = [], 1
    while have < length:
        shifts.append(min(have, length - have))
        have += shifts[-1]
    return tuple(shifts)


def grid_mask(spans: Iterable[Span], origin: int, *, step: int, offset: int) -> int:
    """Bits of the minutes inside ``spans`` on the local ``step`` grid (see :func:`cut`)."""
    bits = 0
    for start, end in spans:
        for minute in range(start + (-(start + offset)) % step, end, step):
            bits |= 1 << (minute - origin)
    return bits


def set_bits(bits: int, limit: int) -> list[int]:
    """The positions of the lowest ``limit`` set bits, in ascending order."""
    found: list[int] = []
    while bits and len(found) < limit:
        lowest = bits & -bits
        found.append(lowest.bit_length() - 1)
        bits ^= lowest
    return found


class BusyList:
    """Busy spans of one therapist, resource unit or patient, merged, with fast lookups."""

    __slots__ = ("starts", "ends")

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        merged = normalize(spans)
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]

    def add(self, start: int, end: int) -> None:
        lo = bisect_left(self.ends, start)  # first span that ends at or after start
        hi = bisect_right(self.starts, end)  # spans starting after end stay
        if lo < hi:
            start, end = min(start, self.starts[lo]), max(end, self.ends[hi - 1])
        self.starts[lo:hi] = [start]
        self.ends[lo:hi] = [end]

    def extend(self, spans: Iterable[Span]) -> None:
        """Add many spans at once: one sort and merge, not one insertion each."""
        merged = normalize([*zip(self.starts, self.ends, strict=True), *spans])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]

    def extend_sorted(self, starts: list[int], ends: list[int]) -> None:
        """Add spans given as start and end lists. When they are in time order, disjoint
        and after every span held (a diary read from the database), they are appended as
        they are — touching spans stay apart, which no lookup minds; else merged."""
        in_order = (all(map(operator.lt, starts, ends))
                    and all(map(operator.le, ends[:-1], starts[1:])))
        if in_order and (not self.ends or not starts or self.ends[-1] <= starts[0]):
            self.starts += starts
            self.ends += ends
        else:
            self.extend(zip(starts, ends, strict=True))

    def remove(self, start: int, end: int) -> None:
        """Free ``[start, end)`` again (bookings never overlap, so merging lost nothing)."""
        kept = subtract(list(zip(self.starts, self.ends, strict=True)), [(start, end)])
        self.starts = [s for s, _ in kept]
        self.ends = [e for _, e in kept]

    def overlaps(self, start: int, end: int) -> bool:
        """True when any busy span meets the half-open ``[start, end)``."""
        i = bisect_right(self.starts, start) - 1
        if i >= 0 and self.ends[i] > start:
            return True
        return i + 1 < len(self.starts) and self.starts[i + 1] < end

    def within(self, start: int, end: int) -> list[Span]:
        """The busy spans that meet ``[start, end)``, clipped to it."""
        i, j = self._meeting(start, end)
        if i >= j:
            return []
        out = list(zip(self.starts[i:j], self.ends[i:j], strict=True))
        if out[0][0] < start:
            out[0] = (start, out[0][1])
        if out[-1][1] > end:
            out[-1] = (out[-1][0], end)
        return out

    def mask(self, start: int, end: int) -> int:
        """The busy minutes of ``[start, end)`` as a :func:`span_mask` from ``start``."""
        i, j = self._meeting(start, end)
        if i >= j:
            return 0
        # Disjoint spans: their bits are a sum of (2**end - 2**start). Counted from the
        # earliest minute involved, then shifted to ``start`` and cut at ``end``.
        base = min(self.starts[i], start)
        bits = 0
        for lo, hi in zip(self.starts[i:j], self.ends[i:j], strict=True):
            bits += (1 << (hi - base)) - (1 << (lo - base))
        return (bits >> (start - base)) & ((1 << (end - start)) - 1)

    def _meeting(self, start: int, end: int) -> tuple[int, int]:
        """Indexes ``[i, j)`` of the spans that meet ``[start, end)`` (spans are disjoint
        and in order, so only the last one starting before ``start`` may end before it)."""
        i = max(bisect_right(self.starts, start) - 1, 0)
        j = bisect_left(self.starts, end, i)
        if i < j and self.ends[i] <= start:
            i += 1
        return i, j

    def copy(self) -> BusyList:
        clone = BusyList()
        clone.starts, clone.ends = list(self.starts), list(self.ends)
        return clone

    def __len__(self) -> int:
        return len(self.starts)


class ClinicCalendar:
    """The clinic's open and working time, day by day, in UTC minutes (cached).

    Built once per scheduling run; every answer is derived from the frozen config.
    """

    def __init__(self, clinic: Clinic, zone: ZoneInfo) -> None:
        self.clinic, self.zone = clinic, zone
        self.step = clinic.slot_step_minutes
        self.therapists = {t.id: t for t in clinic.therapists}
        self.resources = {r.id: r for r in clinic.resources}
        self._closures = {c.date: c.reason or "clinic closure" for c in clinic.closures}
        self._open: dict[date, list[Span]] = {}
        self._working: dict[tuple[str, date], list[Span]] = {}
        self._day_bounds: dict[date, Span] = {}
        self._clock_spans: dict[tuple[tuple[tuple[time, time], ...], date], list[Span]] = {}
        self._offsets: dict[int, int] = {}
        self._grid: dict[date, int] = {}
        self._working_bits: dict[tuple[str, date], int] = {}
        self._working_fit: dict[tuple[str, date, int], int] = {}
        self._resource_blocked: dict[tuple[str, date], list[Span]] = {}

    def closed_reason(self, day: date) -> str | None:
        """Why the clinic is closed all day (holiday, closure, no opening hours), or None."""
        if day in self._closures:
            return f"closed for {self._closures[day]}"
        holiday = self._holidays(day.year).get(day)
        if holiday:
            return f"closed for the public holiday {holiday}"
        if not self.clinic.opening_hours.on(day.weekday()):
            return "closed on " + day.strftime("%A") + "s"
        return None

    def open_spans(self, day: date) -> list[Span]:
        if day not in self._open:
            closed = self.closed_reason(day) is not None
            self._open[day] = [] if closed else self._spans(self.clinic.opening_hours, day)
        return self._open[day]

    def off_reason(self, therapist: Therapist, day: date) -> str | None:
        """Why ``therapist`` does not work on ``day`` (leave, no hours), or None."""
        for period in therapist.leave:
            if period.covers(day):
                return f"{therapist.name} is on leave" + (
                    f" ({period.reason})" if period.reason else "")
        if not therapist.working_hours.on(day.weekday()):
            return f"{therapist.name} does not work on " + day.strftime("%A") + "s"
        return None

    def working_spans(self, therapist_id: str, day: date) -> list[Span]:
        """Clinic hours ∩ the therapist's hours on ``day``; empty on leave or a closed day."""
        key = (therapist_id, day)
        if key not in self._working:
            therapist = self.therapists[therapist_id]
            if self.off_reason(therapist, day) is not None:
                self._working[key] = []
            else:
                own = self._spans(therapist.working_hours, day)
                working = intersect(self.open_spans(day), own)
                self._working[key] = subtract(working, self.blocked(therapist.leave, day))
        return self._working[key]

    def blocked(self, periods: Sequence[Period], day: date) -> list[Span]:
        """The hours of ``day`` taken by periods with ``hours`` (a meeting, a few hours'
        maintenance), as UTC-minute spans; whole-day periods are ``covers``'s business."""
        clocks = [(r.start, r.end) for p in periods if (r := p.blocks(day)) is not None]
        if not clocks:
            return []
        return normalize((to_minute(local_datetime(day, start, self.zone, shift_gap=True)),
                          to_minute(local_datetime(day, end, self.zone, shift_gap=True)))
                         for start, end in clocks)

    def resource_blocked(self, resource: Resource, day: date) -> list[Span]:
        """The hours of ``day`` when ``resource`` is under maintenance (cached)."""
        key = (resource.id, day)
        if key not in self._resource_blocked:
            self._resource_blocked[key] = self.blocked(resource.maintenance, day)
        return self._resource_blocked[key]

    def working_mask(self, therapist_id: str, day: date) -> int:
        """:meth:`working_spans` as bits from local midnight (:func:`span_mask`)."""
        key = (therapist_id, day)
        if key not in self._working_bits:
            self._working_bits[key] = span_mask(self.working_spans(therapist_id, day),
                                                self.day_bounds(day)[0])
        return self._working_bits[key]

    def working_fit(self, therapist_id: str, day: date, length: int) -> int:
        """``fitting_starts`` of :meth:`working_mask`: where a visit of ``length`` minutes
        fits the therapist's hours on ``day``."""
        key = (therapist_id, day, length)
        if key not in self._working_fit:
            self._working_fit[key] = fitting_starts(self.working_mask(therapist_id, day), length)
        return self._working_fit[key]

    def start_grid(self, day: date) -> int:
        """The minutes of the day's opening hours on the slot grid (``cut``'s starts), as
        bits from local midnight (:func:`span_mask`)."""
        if day not in self._grid:
            origin = self.day_bounds(day)[0]
            self._grid[day] = 0
            for span in self.open_spans(day):
                self._grid[day] |= grid_mask([span], origin, step=self.step,
                                             offset=self.offset(span[0]))
        return self._grid[day]

    def resource_down(self, resource: Resource, day: date) -> str | None:
        for period in resource.maintenance:
            if period.covers(day):
                why = f" ({period.reason})" if period.reason else ""
                return f"{resource.name} is under maintenance{why}"
        return None

    def day_bounds(self, day: date) -> Span:
        """Local midnight to the next local midnight, in UTC minutes (23 or 25 h on DST days)."""
        if day not in self._day_bounds:
            start = local_datetime(day, time(0, 0), self.zone, shift_gap=True)
            end = local_datetime(day + timedelta(days=1), time(0, 0), self.zone, shift_gap=True)
            self._day_bounds[day] = (to_minute(start), to_minute(end))
        return self._day_bounds[day]

    def local(self, minute: int) -> datetime:
        return from_minute(minute).astimezone(self.zone)

    def offset(self, minute: int) -> int:
        if minute not in self._offsets:
            delta = self.local(minute).utcoffset()
            self._offsets[minute] = int(delta.total_seconds() // 60) if delta is not None else 0
        return self._offsets[minute]

    def _holidays(self, year: int) -> dict[date, str]:
        spec = self.clinic.holidays
        return public_holidays(spec.country, spec.subdivision, year) if spec else {}

    def _spans(self, hours: WeeklyHours, day: date) -> list[Span]:
        # Most therapists share a few shift patterns: convert each pattern once per day.
        clocks = tuple((clock.start, clock.end) for clock in hours.on(day.weekday()))
        key = (clocks, day)
        if key not in self._clock_spans:
            spans = []
            for start, end in clocks:
                spans.append((to_minute(local_datetime(day, start, self.zone, shift_gap=True)),
                              to_minute(local_datetime(day, end, self.zone, shift_gap=True))))
            self._clock_spans[key] = normalize(spans)
        return self._clock_spans[key]
