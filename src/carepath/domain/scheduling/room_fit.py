"""When a room or device is free long enough, as bit masks kept up to date booking by booking.

For a tag (``gym``, ``pool``), a day and a visit length, ``RoomFit`` answers the starts from
which one unit — the same one throughout — of some resource providing the tag is free and
in service for the whole visit, as bits from local midnight (``availability.span_mask``).
A batch asks this hundreds of thousands of times while it books; a large clinic's gyms
have 160 stations. So each answer keeps the mask of every unit and is brought up to date
from ``Busy.unit_log`` (the units changed on each UTC day): a booking recomputes the one
unit it took, not the 160.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import reduce
from operator import or_

from carepath.domain.config.models import Resource
from carepath.domain.scheduling.availability import ClinicCalendar, fitting_starts, span_mask
from carepath.domain.scheduling.types import Busy, Unit


@dataclass
class TagFit:
    """One tag, day and length: per unit, per resource and for the tag."""

    changes: int  # Busy.changes when last brought up to date
    marks: tuple[int, ...]  # how much of each UTC day's unit log was read
    in_service: dict[str, int]  # per resource: the minutes it is not under maintenance
    units: dict[str, list[int]]  # per resource, per unit number
    resources: dict[str, int]
    bits: int = 0


class RoomFit:
    """``of(tag, day, length)``: the starts for the tag, per resource in service and per
    unit of each."""

    def __init__(self, calendar: ClinicCalendar, busy: Busy,
                 providers: Callable[[str], list[Resource]]) -> None:
        self.cal, self.busy, self.providers = calendar, busy, providers
        self._answers: dict[tuple[str, date, int], TagFit] = {}

    def of(self, tag: str, day: date, length: int) -> TagFit:
        answer = self._answers.get((tag, day, length))
        if answer is not None and answer.changes == self.busy.changes:
            return answer  # nothing at all was booked since
        lo, hi = self.cal.day_bounds(day)
        utc_days = range(lo // 1440, (hi - 1) // 1440 + 1)
        log = self.busy.unit_log
        marks = tuple(len(log.get(utc_day, ())) for utc_day in utc_days)
        if answer is None:
            answer = self._first(tag, day, length, marks)
            self._answers[(tag, day, length)] = answer
        elif answer.marks != marks:
            changed = {unit for utc_day, seen in zip(utc_days, answer.marks, strict=True)
                       for unit in log.get(utc_day, ())[seen:] if unit[0] in answer.units}
            self._update(answer, changed, day, length)
            answer.marks = marks
        answer.changes = self.busy.changes
        return answer

    def _first(self, tag: str, day: date, length: int, marks: tuple[int, ...]) -> TagFit:
        lo, hi = self.cal.day_bounds(day)
        in_service = {
            r.id: ((1 << (hi - lo)) - 1) & ~span_mask(self.cal.resource_blocked(r, day), lo)
            for r in self.providers(tag) if not self.cal.resource_down(r, day)}
        units = {r.id: [0] * r.capacity for r in self.providers(tag) if r.id in in_service}
        answer = TagFit(self.busy.changes, marks, in_service, units,
                         dict.fromkeys(in_service, 0))
        self._update(answer, {(rid, n) for rid, numbers in units.items()
                              for n in range(len(numbers))}, day, length)
        return answer

    def _update(self, answer: TagFit, changed: set[Unit], day: date, length: int) -> None:
        lo, hi = self.cal.day_bounds(day)
        for unit in changed:
            free = answer.in_service[unit[0]] & ~self.busy.unit(unit).mask(lo, hi)
            answer.units[unit[0]][unit[1]] = fitting_starts(free, length)
        for resource_id in {unit[0] for unit in changed}:
            answer.resources[resource_id] = reduce(or_, answer.units[resource_id], 0)
        answer.bits = reduce(or_, answer.resources.values(), 0)
