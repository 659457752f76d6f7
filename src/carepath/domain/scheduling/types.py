"""The values scheduling takes and returns: busy calendars, slots, placements, results.

See ``carepath.domain.scheduling`` for the API that uses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from carepath.domain.scheduling.availability import BusyList, to_minute
from carepath.domain.scheduling.planning import EpisodePlan, PatientPreferences, VisitRequirement

Unit = tuple[str, int]  # (resource id, unit number within its capacity)
Spans = tuple[list[int], list[int]]  # busy spans as their start and end minutes


class Busy:
    """Existing bookings: busy spans per therapist, per resource unit and per patient."""

    def __init__(self) -> None:
        self.therapists: dict[str, BusyList] = {}
        self.units: dict[Unit, BusyList] = {}
        self.patients: dict[str, BusyList] = {}
        self.load: dict[str, int] = {}  # booked minutes per therapist (balanced load)
        self.version: dict[str, int] = {}  # rises on every change of a therapist's diary
        self.day_version: dict[tuple[str, int], int] = {}  # per resource and UTC day
        # The tags each resource provides (set by the finder): a booking also counts as a
        # change of each tag's day, so a "when is any pool free" cache checks one counter,
        # not one per pool.
        self.resource_tags: dict[str, tuple[str, ...]] = {}
        # Per UTC day, the therapists whose diary changed that day, in order: a cache of
        # "who has room on this day" looks at the changes since it was built, not at
        # every therapist again.
        self.therapist_log: dict[int, list[str]] = {}
        self.unit_log: dict[int, list[Unit]] = {}  # the same for resource units
        self.changes = 0  # rises on every change at all: "nothing changed since" is one test

    def add(self, start: datetime, end: datetime, *, therapist_id: str | None = None,
            units: Iterable[Unit] = (), patient_id: str | None = None) -> None:
        """Mark ``[start, end)`` busy for the therapist, each resource unit and the patient."""
        self.add_minutes(to_minute(start), to_minute(end), therapist_id=therapist_id,
                         units=units, patient_id=patient_id)

    def add_minutes(self, start: int, end: int, *, therapist_id: str | None = None,
                    units: Iterable[Unit] = (), patient_id: str | None = None) -> None:
        if therapist_id:
            self.therapists.setdefault(therapist_id, BusyList()).add(start, end)
            self.load[therapist_id] = self.load.get(therapist_id, 0) + end - start
            self._changed(therapist_id, range(start // 1440, (end - 1) // 1440 + 1))
        for unit in units:
            self.units.setdefault(unit, BusyList()).add(start, end)
            self._touch(unit, start, end)
        if patient_id:
            self.patients.setdefault(patient_id, BusyList()).add(start, end)

    def add_spans(self, *, therapists: Mapping[str, Spans] | None = None,
                  units: Mapping[Unit, Spans] | None = None,
                  patients: Mapping[str, Spans] | None = None) -> None:
        """Many bookings at once (a diary read from the database), as start and end lists:
        appended when in time order, else merged in one sort — not one insertion each."""
        for therapist_id, (starts, ends) in (therapists or {}).items():
            self.therapists.setdefault(therapist_id, BusyList()).extend_sorted(starts, ends)
            self.load[therapist_id] = self.load.get(therapist_id, 0) + sum(ends) - sum(starts)
            self._changed(therapist_id, {m // 1440 for m in (*starts, *(e - 1 for e in ends))})
        for unit, (starts, ends) in (units or {}).items():
            self.units.setdefault(unit, BusyList()).extend_sorted(starts, ends)
            if starts:
                self._touch(unit, min(starts), max(ends))
        for patient_id, (starts, ends) in (patients or {}).items():
            self.patients.setdefault(patient_id, BusyList()).extend_sorted(starts, ends)

    def remove_minutes(self, start: int, end: int, *, therapist_id: str | None = None,
                       units: Iterable[Unit] = (), patient_id: str | None = None) -> None:
        if therapist_id and therapist_id in self.therapists:
            self.therapists[therapist_id].remove(start, end)
            self.load[therapist_id] -= end - start
            self._changed(therapist_id, range(start // 1440, (end - 1) // 1440 + 1))
        for unit in units:
            if unit in self.units:
                self.units[unit].remove(start, end)
                self._touch(unit, start, end)
        if patient_id and patient_id in self.patients:
            self.patients[patient_id].remove(start, end)

    def _changed(self, therapist_id: str, utc_days: Iterable[int]) -> None:
        self.changes += 1
        self.version[therapist_id] = self.version.get(therapist_id, 0) + 1
        for utc_day in utc_days:
            self.therapist_log.setdefault(utc_day, []).append(therapist_id)

    def _touch(self, unit: Unit, start: int, end: int) -> None:
        """Note a change of the unit, its resource and each tag it provides on each UTC day
        it touches (cache invalidation)."""
        self.changes += 1
        resource_id = unit[0]
        tags = self.resource_tags.get(resource_id, ())
        names = (resource_id, *(f"tag:{tag}" for tag in tags))
        for utc_day in range(start // 1440, (end - 1) // 1440 + 1):
            self.unit_log.setdefault(utc_day, []).append(unit)
            for name in names:
                key = (name, utc_day)
                self.day_version[key] = self.day_version.get(key, 0) + 1

    def resource_version(self, resource_id: str, start: int, end: int) -> int:
        """The sum of the change counters of a resource (a unit, a tag) over the UTC days
        ``[start, end)`` touches: counters only rise, so the sum changes with any of them."""
        get, first = self.day_version.get, start // 1440
        total = get((resource_id, first), 0)
        for utc_day in range(first + 1, (end - 1) // 1440 + 1):
            total += get((resource_id, utc_day), 0)
        return total

    def therapist(self, therapist_id: str) -> BusyList:
        return self.therapists.get(therapist_id, _EMPTY)

    def unit(self, unit: Unit) -> BusyList:
        return self.units.get(unit, _EMPTY)

    def patient(self, patient_id: str) -> BusyList:
        return self.patients.get(patient_id, _EMPTY)

    def copy(self) -> Busy:
        clone = Busy()
        clone.therapists = {k: v.copy() for k, v in self.therapists.items()}
        clone.units = {k: v.copy() for k, v in self.units.items()}
        clone.patients = {k: v.copy() for k, v in self.patients.items()}
        clone.load = dict(self.load)
        clone.version = dict(self.version)
        clone.day_version = dict(self.day_version)
        clone.resource_tags = dict(self.resource_tags)
        clone.changes = self.changes
        clone.therapist_log = {day: list(log) for day, log in self.therapist_log.items()}
        clone.unit_log = {day: list(log) for day, log in self.unit_log.items()}
        return clone


_EMPTY = BusyList()


@dataclass(frozen=True)
class VisitRequest:
    """One visit to place (``place_visit``) or to check at an exact time (``check_slot``):
    what it is, for whom, beside which of the episode's visits, and with whom."""

    requirement: VisitRequirement
    patient_id: str = ""
    preferences: PatientPreferences = field(default_factory=PatientPreferences)
    episode_days: tuple[date, ...] = ()  # the days of the episode's other visits
    min_rest_days: int = 0  # the pathway's rest days between them
    same_day_visits: bool = False
    therapist_id: str | None = None  # this therapist only
    primary_therapist: str | None = None  # preferred when ``therapist_id`` is not given
    prefer_time: time | None = None  # the time of day the patient is used to


@dataclass(frozen=True)
class Slot:
    """A free time for one visit: who, which resource units, when (aware UTC)."""

    start: datetime
    end: datetime
    therapist_id: str
    resources: tuple[Unit, ...] = ()


@dataclass(frozen=True)
class Placement:
    """Where one requirement went; ``penalties`` name each soft wish it misses."""

    requirement: VisitRequirement
    therapist_id: str
    start: datetime
    end: datetime
    resources: tuple[Unit, ...] = ()
    penalties: tuple[str, ...] = ()

    @property
    def start_minute(self) -> int:
        return to_minute(self.start)


@dataclass(frozen=True)
class Unplaced:
    """A requirement that could not be placed: the binding constraint, in words, and the
    nearest alternatives."""

    requirement: VisitRequirement
    constraint: str
    alternatives: tuple[str, ...] = ()
    taken: bool = False  # True when only other bookings stand in the way (a lost race)


@dataclass(frozen=True)
class BookedFirst:
    """An episode's first visit, already booked (an imported evaluation): its therapist
    leads the episode, the rest keeps its rest days, the last visit its time of day."""

    therapist_id: str
    day: date  # local
    minute: int  # local minute of the day it starts


@dataclass(frozen=True)
class EpisodeRequest:
    """One enrolment in a batch: a key the caller chooses (e.g. the CSV line), the patient,
    the plan and an optional therapist; ``booked_first`` goes with a ``plan.started``."""

    key: str
    patient_id: str
    plan: EpisodePlan
    therapist_id: str | None = None
    booked_first: BookedFirst | None = None


@dataclass(frozen=True)
class EpisodeSchedule:
    """The answer for one episode: what was placed, what was not and why, soft scores."""

    plan: EpisodePlan  # the plan actually used (stretched when ``stretched_from`` is set)
    placements: tuple[Placement, ...]
    unplaced: tuple[Unplaced, ...] = ()
    stretched_from: int | None = None  # the plan's weeks before an automatic stretch
    key: str = ""
    patient_id: str = ""
    booked: bool = True  # False when not everything fit and partial was not asked: busy untouched
    notes: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.unplaced

    @property
    def therapist_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.therapist_id for p in self.placements))

    @property
    def single_therapist(self) -> bool:
        return len(self.therapist_ids) <= 1

    @property
    def in_preferences(self) -> int:
        """How many placements meet every patient wish (weekday, window, heat)."""
        return sum(1 for p in self.placements if not patient_penalties(p))

    @property
    def first_start(self) -> datetime | None:
        return min((p.start for p in self.placements), default=None)


def patient_penalties(placement: Placement) -> list[str]:
    """The patient's wishes (weekday, window, heat) the placement misses."""
    return [p for p in placement.penalties if not p.startswith("therapist")
            and "baseline" not in p]

