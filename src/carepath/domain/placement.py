"""The slot finder: the best time for one requirement on one day with one therapist.

Hard constraints filter (working spans, busy therapist/unit/patient, not_before); soft
costs rank what is left. Costs are small numbers so that a missed patient wish (10) always
outweighs a later day in the week (≤ 6) and a change of therapist (8) outweighs a slightly
later time of day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from carepath.domain.availability import (
    ClinicCalendar,
    Span,
    cut,
    fitting_starts,
    intersect,
    mask_spans,
    span_mask,
    subtract,
)
from carepath.domain.config import Resource, Therapist
from carepath.domain.planning import PatientPreferences, VisitRequirement
from carepath.domain.schedule_types import Busy, Unit
from carepath.domain.timeutil import WEEKDAY_NAMES, minutes_of

WISH = 10.0  # a missed patient wish (weekday, window, heat-safe morning)
OTHER_THERAPIST = 8.0  # continuity: not the episode's therapist
COOL_SLOT_KEPT = 1.0  # a patient who is not heat-sensitive taking a cool morning slot
FIRST_DAY = 1.0  # per day of delay of the episode's first visit (earliest start)
LATER_DAY = 0.3  # per day later inside a visit's week window
TIME_OF_DAY = 1.0  # per 30 minutes away from the baseline evaluation's time of day


@dataclass(frozen=True)
class Wishes:
    """What makes a slot good for one episode's patient."""

    patient_id: str = ""
    preferences: PatientPreferences = PatientPreferences()
    primary: str | None = None  # the episode's therapist (continuity)
    prefer_minute: int | None = None  # baseline time of day, minutes after local midnight
    not_before: int = 0  # UTC minute
    same_day: bool = False
    blocked_days: frozenset[date] = frozenset()  # rest days around the episode's other visits
    patient_rest: bool = True  # keep the clinic's patient_min_rest_days (not for imports)


def rest_days(episode_days: Sequence[date], min_rest_days: int) -> frozenset[date]:
    """Days a visit cannot take: within ``min_rest_days`` of another visit of the episode."""
    return frozenset(day + timedelta(days=offset) for day in episode_days
                     for offset in range(-min_rest_days, min_rest_days + 1))


@dataclass(frozen=True)
class Candidate:
    cost: float
    therapist_id: str
    start: int
    end: int
    units: tuple[Unit, ...]
    penalties: tuple[str, ...]
    day: date


class Finder:
    """Finds slots against one clinic calendar and one busy calendar."""

    def __init__(self, calendar: ClinicCalendar, busy: Busy) -> None:
        self.cal, self.busy = calendar, busy
        self.heat_minute = minutes_of(calendar.clinic.heat_safe_before)
        self.patient_rest = calendar.clinic.patient_min_rest_days
        self._track_tags(calendar, busy)
        self._providers: dict[str, list[Resource]] = {}
        self._general: dict[str, tuple[list[Resource], list[Resource]]] = {}
        self._qualified: dict[tuple[str, ...], list[Therapist]] = {}
        self._unable: dict[tuple[tuple[str, ...], ...], dict[str, int]] = {}
        self._free_cache: dict[tuple[str, date], tuple[int, list[Span]]] = {}
        self.fit_cache: dict[tuple[str, PatientPreferences], int] = {}
        self._fit_cache: dict[tuple[str, date, int], tuple[int, int]] = {}
        self._full_cache: dict[tuple[str, date], tuple[tuple[int, ...], int]] = {}
        self._tag_cache: dict[tuple[str, date],
                              tuple[tuple[int, ...], tuple[int, list[Span]]]] = {}

    @staticmethod
    def _track_tags(calendar: ClinicCalendar, busy: Busy) -> None:
        """Tell ``busy`` which tags each resource provides (see ``Busy.resource_tags``);
        bookings already held count as changes from here on, so caches start empty."""
        tags = {r.id: tuple(r.provides) for r in calendar.clinic.resources}
        if busy.resource_tags != tags:
            busy.resource_tags = tags
            for (resource_id, _number), held in busy.units.items():
                if held.starts:  # one change per tag and day touched, as a booking would
                    busy._touch(resource_id, held.starts[0], held.ends[-1])

    def _rotated(self, tag: str, slot: int) -> list[Resource]:
        """Providers of ``tag``, the general ones rotated by ``slot``, specialised ones last."""
        if tag not in self._general:
            providers = self.providers(tag)
            general = [r for r in providers if len(r.provides) == len(providers[0].provides)]
            self._general[tag] = (general, providers[len(general):])
        general, special = self._general[tag]
        if len(general) < 2:
            return general + special
        turn = slot % len(general)
        return general[turn:] + general[:turn] + special

    def qualified(self, skills: tuple[str, ...]) -> list[Therapist]:
        """Therapists with every skill in ``skills``, in config order."""
        key = tuple(sorted(skills))
        if key not in self._qualified:
            self._qualified[key] = [t for t in self.cal.clinic.therapists
                                    if set(key) <= set(t.skills)]
        return self._qualified[key]

    def unqualified_counts(self, needs: tuple[tuple[str, ...], ...]) -> dict[str, int]:
        """Per therapist, how many of ``needs`` (one skill tuple per visit) they lack."""
        key = tuple(sorted(needs))
        if key not in self._unable:
            self._unable[key] = {
                t.id: sum(1 for skills in needs if not set(skills) <= set(t.skills))
                for t in self.cal.clinic.therapists}
        return self._unable[key]

    def providers(self, tag: str) -> list[Resource]:
        """Resources providing ``tag``, the most specialised last (kept for those who need it)."""
        if tag not in self._providers:
            found = [r for r in self.cal.clinic.resources if tag in r.provides]
            self._providers[tag] = sorted(found, key=lambda r: (len(r.provides), r.id))
        return self._providers[tag]

    def window_days(self, req: VisitRequirement, wishes: Wishes) -> list[date]:
        """The days of ``req``'s window that are not already past."""
        first = max(req.earliest, self.cal.local(wishes.not_before).date())
        return [first + timedelta(days=i) for i in range((req.latest - first).days + 1)]

    def patient_free_day(self, wishes: Wishes, day: date) -> bool:
        """One visit per patient-day, none on the episode's rest days, and the clinic's
        ``patient_min_rest_days`` from any other visit of the patient, whatever episode
        it belongs to (a booster series and a progression review held at once)."""
        if day in wishes.blocked_days:
            return False
        if wishes.same_day or not wishes.patient_id:
            return True
        rest = self.patient_rest if wishes.patient_rest else 0
        lo = self.cal.day_bounds(day - timedelta(days=rest))[0]
        hi = self.cal.day_bounds(day + timedelta(days=rest))[1]
        return not self.busy.patient(wishes.patient_id).overlaps(lo, hi)

    def day_cost(self, req: VisitRequirement, day: date, wishes: Wishes) -> tuple[float, str]:
        per_day = FIRST_DAY if req.role == "first" else LATER_DAY
        cost = per_day * (day - req.earliest).days
        days = wishes.preferences.weekdays
        if days and day.weekday() not in days:
            return cost + WISH, f"{WEEKDAY_NAMES[day.weekday()][:3]} is not a preferred day"
        return cost, ""

    def free(self, therapist_id: str, day: date, wishes: Wishes) -> tuple[list[Span], int]:
        """Free spans of ``therapist_id`` on ``day`` (patient and not_before applied), and the
        zone offset that day."""
        work = self.cal.working_spans(therapist_id, day)
        if not work:
            return [], 0
        lo, hi = work[0][0], work[-1][1]
        free = self._therapist_free(therapist_id, day, work)
        if wishes.patient_id and wishes.patient_id in self.busy.patients:
            free = subtract(free, self.busy.patient(wishes.patient_id).within(lo, hi))
        if wishes.not_before > lo:
            free = subtract(free, [(lo, wishes.not_before)])
        return free, self.cal.offset(lo)

    def with_free_rooms(self, free: list[Span], tags: tuple[str, ...],
                        day: date) -> list[Span]:
        """``free`` narrowed to when a unit of each needed room or device is free: a full
        pool or gym rules its hours out before any slot is cut (cached per day)."""
        for tag in tags:
            if free:
                free = intersect(free, self.tag_free(tag, day))
        return free

    def tag_free(self, tag: str, day: date) -> list[Span]:
        """When at least one unit of some resource providing ``tag`` is free on ``day``."""
        return self._tag_free(tag, day)[1]

    def rooms_mask(self, tags: tuple[str, ...], day: date) -> int:
        """The open minutes of ``day`` when every tag in ``tags`` has a free unit, as bits
        from local midnight (``availability.span_mask``)."""
        bits = span_mask(self.cal.open_spans(day), self.cal.day_bounds(day)[0])
        for tag in tags:
            bits &= self._tag_free(tag, day)[0]
        return bits

    def _tag_free(self, tag: str, day: date) -> tuple[int, list[Span]]:
        """``tag_free`` as bits and as spans (cached until a booking of one of those
        resources on that day changes)."""
        lo, hi = self.cal.day_bounds(day)
        version = self.busy.resource_version(f"tag:{tag}", lo, hi)
        cached = self._tag_cache.get((tag, day))
        if cached is not None and cached[0] == version:
            return cached[1]
        providers = [r for r in self.providers(tag) if not self.cal.resource_down(r, day)]
        whole_day = (1 << (hi - lo)) - 1
        full = whole_day
        for resource in providers:
            if full:
                full &= self._resource_full(resource, day, lo, hi)
        free = whole_day & ~full
        self._tag_cache[(tag, day)] = (version, (free, mask_spans(free, lo)))
        return free, self._tag_cache[(tag, day)][1][1]

    def _resource_full(self, resource: Resource, day: date, lo: int, hi: int) -> int:
        """The minutes of ``day`` when every unit of ``resource`` is booked, as bits from
        ``lo`` (cached per resource and day until a booking of it on that day changes)."""
        version = self.busy.resource_version(resource.id, lo, hi)
        cached = self._full_cache.get((resource.id, day))
        if cached is not None and cached[0] == version:
            return cached[1]
        full = (1 << (hi - lo)) - 1
        for number in range(resource.capacity):
            if not full:
                break
            full &= self.busy.unit((resource.id, number)).mask(lo, hi)
        for start, end in self.cal.resource_blocked(resource, day):  # hours of maintenance
            full |= ((1 << (end - start)) - 1) << (start - lo)
        self._full_cache[(resource.id, day)] = (version, full)
        return full

    def _therapist_free(self, therapist_id: str, day: date, work: list[Span]) -> list[Span]:
        """Working spans minus bookings, cached until the therapist's diary changes."""
        version = self.busy.version.get(therapist_id, 0)
        cached = self._free_cache.get((therapist_id, day))
        if cached is not None and cached[0] == version:
            return cached[1]
        free = subtract(work, self.busy.therapist(therapist_id).within(work[0][0], work[-1][1]))
        self._free_cache[(therapist_id, day)] = (version, free)
        return free

    def could_fit(self, therapist_id: str, day: date, length: int,
                  tags: tuple[str, ...]) -> bool:
        """False when ``length`` free minutes of the therapist never meet a free unit of
        each needed room or device that day: bit masks of the day, cached per diary
        version, rule out a full therapist before any span is cut (every qualified
        therapist is a candidate, so most of them are full most days)."""
        key = (therapist_id, day, length)
        version = self.busy.version.get(therapist_id, 0)
        cached = self._fit_cache.get(key)
        if cached is None or cached[0] != version:
            work = self.cal.working_mask(therapist_id, day)
            bits = 0
            if work:
                lo, hi = self.cal.day_bounds(day)
                taken = self.busy.therapist(therapist_id).mask(lo, hi)
                bits = fitting_starts(work & ~taken, length)
            cached = (version, bits)
            self._fit_cache[key] = cached
        bits = cached[1]
        if bits and tags:
            bits &= fitting_starts(self.rooms_mask(tags, day), length)
        return bits != 0

    def best(self, req: VisitRequirement, day: date, therapist_id: str,
             wishes: Wishes) -> Candidate | None:
        """The cheapest slot for ``req`` on ``day`` with ``therapist_id``, or None."""
        if not self.could_fit(therapist_id, day, req.duration_minutes, req.resources):
            return None
        free, offset = self.free(therapist_id, day, wishes)
        free = self.with_free_rooms(free, req.resources, day)
        if not free:
            return None
        base, day_penalty = self.day_cost(req, day, wishes)
        if wishes.primary and therapist_id != wishes.primary:
            base += OTHER_THERAPIST
        length = req.duration_minutes
        best: Candidate | None = None
        for start in cut(free, length=length, step=self.cal.step, offset=offset):
            extra, penalties = self.time_cost((start + offset) % 1440, length, wishes)
            if best is not None and base + extra >= best.cost:
                continue
            units = self.units_for(req.resources, start, start + length, day)
            if units is None:
                continue
            named = tuple(p for p in (day_penalty, *penalties) if p)
            if wishes.primary and therapist_id != wishes.primary:
                named += (f"therapist {therapist_id}, not {wishes.primary}",)
            best = Candidate(base + extra, therapist_id, start, start + length, units,
                             named, day)
            if extra == 0:
                break  # slots come in time order: nothing later can be cheaper
        return best

    def time_cost(self, local_minute: int, length: int,
                  wishes: Wishes) -> tuple[float, tuple[str, ...]]:
        cost, named = 0.0, []
        prefs = wishes.preferences
        end = local_minute + length
        if prefs.windows and not any(
                minutes_of(w.start) <= local_minute and end <= minutes_of(w.end)
                for w in prefs.windows):
            cost += WISH
            named.append("outside the preferred times")
        if prefs.heat_sensitive and end > self.heat_minute:
            cost += WISH
            named.append("ends after the cool morning")
        elif not prefs.heat_sensitive and local_minute < self.heat_minute:
            cost += COOL_SLOT_KEPT
        if wishes.prefer_minute is not None and local_minute != wishes.prefer_minute:
            cost += TIME_OF_DAY * abs(local_minute - wishes.prefer_minute) / 30
            named.append("not at the baseline's time of day")
        return cost, tuple(named)

    def units_for(self, tags: tuple[str, ...], start: int, end: int,
                  day: date) -> tuple[Unit, ...] | None:
        """One free unit of a distinct resource per needed tag, or None."""
        chosen: list[Unit] = []
        for tag in tags:
            unit = self._free_unit(tag, start, end, day, {r for r, _ in chosen})
            if unit is None:
                return None
            chosen.append(unit)
        return tuple(chosen)

    def _free_unit(self, tag: str, start: int, end: int, day: date,
                   taken: set[str]) -> Unit | None:
        slot = start // self.cal.step
        for resource in self._rotated(tag, slot):
            if resource.id in taken or self.cal.resource_down(resource, day):
                continue
            if any(lo < end and start < hi
                   for lo, hi in self.cal.resource_blocked(resource, day)):
                continue  # a few hours' maintenance
            # Probe from a room and unit that depend on the time, not always from the first:
            # rooms and units fill evenly, and a free one is found in a couple of probes.
            first = slot % resource.capacity
            for step in range(resource.capacity):
                number = (first + step) % resource.capacity
                if not self.busy.unit((resource.id, number)).overlaps(start, end):
                    return resource.id, number
        return None
