"""The slot finder: the best time for one requirement on one day with one therapist.

Hard constraints filter (working spans, busy therapist/unit/patient, not_before); soft
costs rank what is left. Costs are small numbers so that a missed patient wish (10) always
outweighs a later day in the week (≤ 6) and a change of therapist (8) outweighs a slightly
later time of day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from carepath.domain.config.models import Resource, Therapist
from carepath.domain.scheduling.availability import (
    ClinicCalendar,
    fitting_starts,
    grid_mask,
    span_mask,
)
from carepath.domain.scheduling.planning import PatientPreferences, VisitRequirement
from carepath.domain.scheduling.room_fit import RoomFit
from carepath.domain.scheduling.types import Busy, Unit
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
    # cost == (day_cost + switch_cost) + time_cost: the day's part depends on the visit's
    # window, the rest not, so one day's answer serves every visit alike but for its window
    day_cost: float = 0.0
    switch_cost: float = 0.0
    time_cost: float = 0.0

    def with_day_cost(self, day_cost: float) -> Candidate:
        """The same slot for a visit whose window gives this day ``day_cost``."""
        if day_cost == self.day_cost:
            return self
        return replace(self, cost=day_cost + self.switch_cost + self.time_cost,
                       day_cost=day_cost)


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
        self.fit_cache: dict[PatientPreferences, dict[str, int]] = {}
        self._fit_cache: dict[tuple[str, date, int], tuple[int, int]] = {}
        self._weekly: dict[str, int] = {}
        self._full_cache: dict[tuple[str, date], tuple[int, int]] = {}
        self._tag_cache: dict[tuple[str, date], tuple[int, int]] = {}
        self.room_fit = RoomFit(calendar, busy, self.providers)
        self._grids: dict[tuple[date, int], int] = {}
        self._wished: dict[tuple[PatientPreferences, int], int] = {}
        self._able: dict[tuple[date, int], tuple[int, tuple[int, ...], int]] = {}
        self.therapist_index = {t.id: i for i, t in enumerate(calendar.clinic.therapists)}

    def load(self, therapist_id: str) -> float:
        """What "least loaded" compares: booked minutes, or with ``balance_load_by:
        utilisation`` booked minutes per minute of the therapist's own weekly hours (a
        part-timer with half the hours is as loaded with half the visits)."""
        return self.load_key()(therapist_id)

    def load_key(self) -> Callable[[str], float]:
        """``load`` as a sort key for many therapists at once (no call per lookup)."""
        get = self.busy.load.get
        if self.cal.clinic.balance_load_by == "minutes":
            return lambda therapist_id: get(therapist_id, 0)
        if not self._weekly:
            for therapist_id, therapist in self.cal.therapists.items():
                hours = therapist.working_hours
                self._weekly[therapist_id] = sum(r.minutes for day in range(7)
                                                 for r in hours.on(day)) or 1
        weekly = self._weekly
        return lambda therapist_id: get(therapist_id, 0) / weekly[therapist_id]

    @staticmethod
    def _track_tags(calendar: ClinicCalendar, busy: Busy) -> None:
        """Tell ``busy`` which tags each resource provides (see ``Busy.resource_tags``);
        bookings already held count as changes from here on, so caches start empty."""
        tags = {r.id: tuple(r.provides) for r in calendar.clinic.resources}
        if busy.resource_tags != tags:
            busy.resource_tags = tags
            for unit, held in busy.units.items():
                if held.starts:  # one change per tag and day touched, as a booking would
                    busy._touch(unit, held.starts[0], held.ends[-1])

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

    def rooms_mask(self, tags: tuple[str, ...], day: date) -> int:
        """The open minutes of ``day`` when every tag in ``tags`` has a free unit, as bits
        from local midnight (``availability.span_mask``)."""
        bits = span_mask(self.cal.open_spans(day), self.cal.day_bounds(day)[0])
        for tag in tags:
            bits &= self._tag_free(tag, day)
        return bits

    def _tag_free(self, tag: str, day: date) -> int:
        """When at least one unit of some resource providing ``tag`` is free on ``day``, as
        bits (cached until a booking of one of those resources on that day changes)."""
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
        self._tag_cache[(tag, day)] = (version, free)
        return free

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
        full |= self._maintenance_mask(resource, day, lo)
        self._full_cache[(resource.id, day)] = (version, full)
        return full

    def _maintenance_mask(self, resource: Resource, day: date, lo: int) -> int:
        """The hours of ``day`` ``resource`` is under maintenance, as bits from ``lo``."""
        return span_mask(self.cal.resource_blocked(resource, day), lo)

    def rooms_fit(self, tags: tuple[str, ...], day: date, length: int) -> int:
        """The starts on ``day`` from which one unit of a resource of each tag in ``tags``
        stays free for ``length`` minutes, as bits from local midnight."""
        bits = -1
        for tag in tags:
            bits &= self._tag_fit(tag, day, length)
        return bits

    def _tag_fit(self, tag: str, day: date, length: int) -> int:
        """Starts from which one unit (the same one throughout) of some resource providing
        ``tag`` is free for ``length`` minutes: the rooms are ruled out in one AND per
        therapist, not slot by slot."""
        return self.room_fit.of(tag, day, length).bits

    def fit_starts(self, therapist_id: str, day: date, length: int) -> int:
        """The starts on ``day`` from which ``length`` minutes of the therapist are working
        and free, as bits from local midnight (cached per diary version): bit masks rule
        a full therapist out before any slot is looked at."""
        key = (therapist_id, day, length)
        version = self.busy.version.get(therapist_id, 0)
        cached = self._fit_cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        work = self.cal.working_mask(therapist_id, day)
        bits = 0
        if work:
            lo, hi = self.cal.day_bounds(day)
            taken = self.busy.therapist(therapist_id).mask(lo, hi)
            bits = fitting_starts(work & ~taken, length)
        self._fit_cache[key] = (version, bits)
        return bits

    def able(self, day: date, length: int) -> int:
        """The therapists (bit ``i`` for ``therapist_index[id] == i``) with ``length`` free
        working minutes on ``day``. Kept up to date from ``Busy.therapist_log``: only the
        therapists whose diary changed that day since are looked at again, so a full day
        of a 200-therapist clinic is ruled out in one test, not 200."""
        cached = self._able.get((day, length))
        changes = self.busy.changes
        if cached is not None and cached[0] == changes:
            return cached[2]
        lo, hi = self.cal.day_bounds(day)
        utc_days = range(lo // 1440, (hi - 1) // 1440 + 1)
        log = self.busy.therapist_log
        marks = tuple(len(log.get(utc_day, ())) for utc_day in utc_days)
        if cached is None:
            bits, changed = 0, list(self.therapist_index)
        else:
            bits, changed = cached[2], list({t for utc_day, seen in zip(utc_days, cached[1],
                                                                    strict=True)
                                             for t in log.get(utc_day, ())[seen:]})
        for therapist_id in changed:
            bit = 1 << self.therapist_index[therapist_id]
            if self.fit_starts(therapist_id, day, length):
                bits |= bit
            else:
                bits &= ~bit
        self._able[(day, length)] = (changes, marks, bits)
        return bits

    def open_starts(self, req: VisitRequirement, day: date, therapist_id: str,
                    wishes: Wishes, rooms: int | None = None) -> tuple[int, int]:
        """Every start allowed for ``req`` on ``day`` with ``therapist_id`` — free therapist,
        a free unit of each room or device, the patient free, on the local slot grid, not
        before ``not_before`` — as bits from local midnight; and that midnight's minute.
        ``rooms`` is ``rooms_fit`` of the visit's needs when the caller has it at hand."""
        length = req.duration_minutes
        bits = self.fit_starts(therapist_id, day, length)
        if bits and req.resources:
            bits &= self.rooms_fit(req.resources, day, length) if rooms is None else rooms
        if not bits:
            return 0, 0
        lo, hi = self.cal.day_bounds(day)
        bits &= self._grid(day, therapist_id)
        if wishes.not_before > lo:
            bits &= -1 << (wishes.not_before - lo)
        if bits and wishes.patient_id:
            taken = self.busy.patient(wishes.patient_id).mask(lo, hi)
            if taken:
                bits &= fitting_starts(((1 << (hi - lo)) - 1) & ~taken, length)
        return bits, lo

    def _grid(self, day: date, therapist_id: str) -> int:
        """The slot grid of ``day`` in the zone offset of the therapist's first working
        minute (``cut``'s grid), as bits from local midnight."""
        offset = self.cal.offset(self.cal.working_spans(therapist_id, day)[0][0])
        key = (day, offset)
        if key not in self._grids:
            lo, hi = self.cal.day_bounds(day)
            self._grids[key] = grid_mask([(lo, hi)], lo, step=self.cal.step, offset=offset)
        return self._grids[key]

    def best(self, req: VisitRequirement, day: date, therapist_id: str,
             wishes: Wishes, rooms: int | None = None) -> Candidate | None:
        """The cheapest slot for ``req`` on ``day`` with ``therapist_id``, or None; of slots
        alike in cost, the earliest (``rooms``: see ``open_starts``)."""
        starts, lo = self.open_starts(req, day, therapist_id, wishes, rooms)
        if not starts:
            return None
        offset = self.cal.offset(self.cal.working_spans(therapist_id, day)[0][0])
        day_cost, day_penalty = self.day_cost(req, day, wishes)
        other = bool(wishes.primary) and therapist_id != wishes.primary
        switch = OTHER_THERAPIST if other else 0.0
        base = day_cost + switch
        length = req.duration_minutes
        if wishes.prefer_minute is None and (lo + offset) % 1440 == 0:
            # Bit i is local minute i: the starts that miss no wish are one mask, and the
            # first of them with a free room is the answer (nothing can cost less).
            wished = self.wished_starts(wishes.preferences, length)
            good = starts & wished
            starts &= ~wished  # what is left when no wished start has a free room
            while good:
                lowest = good & -good
                good ^= lowest
                start = lo + lowest.bit_length() - 1
                units = self.units_for(req.resources, start, start + length, day, fitted=True)
                if units is not None:
                    return self._candidate((day_cost, switch, 0.0), (day_penalty,),
                                           therapist_id, wishes, start, length, units, day)
        best: Candidate | None = None
        while starts:  # in time order
            lowest = starts & -starts
            starts ^= lowest
            start = lo + lowest.bit_length() - 1
            extra, penalties = self.time_cost((start + offset) % 1440, length, wishes)
            if best is not None and base + extra >= best.cost:
                continue
            units = self.units_for(req.resources, start, start + length, day, fitted=True)
            if units is None:
                continue
            best = self._candidate((day_cost, switch, extra), (day_penalty, *penalties),
                                   therapist_id, wishes, start, length, units, day)
            if extra == 0:
                break  # nothing later can be cheaper
        return best

    @staticmethod
    def _candidate(costs: tuple[float, float, float], penalties: tuple[str, ...],
                   therapist_id: str, wishes: Wishes, start: int, length: int,
                   units: tuple[Unit, ...], day: date) -> Candidate:
        """``costs``: the day's, the change of therapist's, the time of day's."""
        day_cost, switch, extra = costs
        named = tuple(p for p in penalties if p)
        if switch:
            named += (f"therapist {therapist_id}, not {wishes.primary}",)
        return Candidate(day_cost + switch + extra, therapist_id, start, start + length, units,
                         named, day, day_cost, switch, extra)

    def wished_starts(self, prefs: PatientPreferences, length: int) -> int:
        """The local minutes of day (bit ``i``: minute ``i``) at which a visit of ``length``
        misses no time wish: inside a preferred window, over before the cool morning ends
        for a heat-sensitive patient, after it for the others (``time_cost`` is 0)."""
        key = (prefs, length)
        if key not in self._wished:
            def starts_between(first: int, last: int) -> int:
                return ((1 << (last - first + 1)) - 1) << first if first <= last else 0

            bits = starts_between(0, 1439)
            if prefs.windows:
                inside = 0
                for window in prefs.windows:
                    inside |= starts_between(minutes_of(window.start),
                                             minutes_of(window.end) - length)
                bits &= inside
            if prefs.heat_sensitive:
                bits &= starts_between(0, self.heat_minute - length)
            else:
                bits &= starts_between(self.heat_minute, 1439)
            self._wished[key] = bits
        return self._wished[key]

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

    def units_for(self, tags: tuple[str, ...], start: int, end: int, day: date, *,
                  fitted: bool = False) -> tuple[Unit, ...] | None:
        """One free unit of a distinct resource per needed tag, or None. ``fitted``: look
        up the resources' cached room masks (``rooms_fit``) to pass over the full ones
        without probing their units — worth it when many slots of a day are looked at."""
        chosen: list[Unit] = []
        for tag in tags:
            unit = self._free_unit(tag, start, end, day, {r for r, _ in chosen}, fitted)
            if unit is None:
                return None
            chosen.append(unit)
        return tuple(chosen)

    def _fitting_unit(self, tag: str, resource: Resource, start: int, end: int, day: date,
                      origin: int) -> Unit | None:
        """``_free_unit``'s probe of one resource, read from the cached masks of its units."""
        fit = self.room_fit.of(tag, day, end - start)
        bit = start - origin
        if not fit.resources.get(resource.id, 0) >> bit & 1:
            return None  # no unit free throughout, or maintenance
        units = fit.units[resource.id]
        first = start // self.cal.step % resource.capacity
        for step in range(resource.capacity):
            number = (first + step) % resource.capacity
            if units[number] >> bit & 1:
                return resource.id, number
        return None

    def _free_unit(self, tag: str, start: int, end: int, day: date,
                   taken: set[str], fitted: bool = False) -> Unit | None:
        origin = self.cal.day_bounds(day)[0]
        for resource in self._rotated(tag, start // self.cal.step):
            if resource.id in taken or self.cal.resource_down(resource, day):
                continue
            if fitted:
                unit = self._fitting_unit(tag, resource, start, end, day, origin)
            else:
                unit = self._probed_unit(resource, start, end, day)
            if unit is not None:
                return unit
        return None

    def _probed_unit(self, resource: Resource, start: int, end: int,
                     day: date) -> Unit | None:
        if any(lo < end and start < hi for lo, hi in self.cal.resource_blocked(resource, day)):
            return None  # a few hours' maintenance
        # Probe from a room and unit that depend on the time, not always from the first:
        # rooms and units fill evenly, and a free one is found in a couple of probes.
        first = start // self.cal.step % resource.capacity
        for step in range(resource.capacity):
            number = (first + step) % resource.capacity
            if not self.busy.unit((resource.id, number)).overlaps(start, end):
                return resource.id, number
        return None
