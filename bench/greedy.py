"""The simple greedy the engine must beat: each visit at the earliest feasible slot with any
qualified therapist, in the order of the batch file.

It reads what the CLI reads (the config folder, ``patients.csv``'s ids, ``existing.csv``,
``batch.csv``) and keeps its own diaries as bits of each local day (bit ``i`` is minute
``i`` after midnight), so it shares nothing with carepath's engine but the plan of visits
(``plan_episode``: which visits, which week windows). It keeps the same hard rules: hours,
holidays, leave and maintenance (whole days or hours), skills, a free unit of each needed
room or device, no double booking, the pathway's rest days inside an episode and the
clinic's ``patient_min_rest_days`` between any two visits of a patient, one visit a day,
and never an episode's later visits without its first.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from carepath.config.loader import load_config
from carepath.domain.config.models import Config, Period
from carepath.domain.scheduling.planning import plan_episode

DAY = (1 << 1440) - 1


def _bits(start: int, end: int) -> int:
    return ((1 << (end - start)) - 1) << start


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def fits(bits: int, length: int) -> int:
    """Bit ``i`` set when minutes ``i … i+length-1`` are all free."""
    have = 1
    while have < length:
        step = min(have, length - have)
        bits &= bits >> step
        have += step
    return bits


@dataclass
class Diaries:
    config: Config
    grid: int
    therapist_free: dict[tuple[str, date], int] = field(default_factory=dict)
    unit_free: dict[tuple[str, int, date], int] = field(default_factory=dict)
    patient_days: dict[str, set[date]] = field(default_factory=dict)
    closed: set[date] = field(default_factory=set)
    # Caches, dropped when a booking changes what they were computed from.
    fit_cache: dict[tuple[str, date], dict[int, int]] = field(default_factory=dict)
    room_cache: dict[tuple[str, date], dict[int, int]] = field(default_factory=dict)
    qualified: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    tags_of: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, therapist_id: str, day: date, length: int) -> int:
        known = self.fit_cache.setdefault((therapist_id, day), {})
        if length not in known:
            known[length] = fits(self.therapist(therapist_id, day), length) & self.grid
        return known[length]

    def room_fit(self, tag: str, day: date, length: int) -> int:
        """Starts where some unit of some resource providing ``tag`` is free for ``length``."""
        known = self.room_cache.setdefault((tag, day), {})
        if length not in known:
            free = 0
            for resource in self.config.clinic.resources:
                if tag in resource.provides:
                    for number in range(resource.capacity):
                        free |= fits(self.unit(resource.id, number, day), length)
            known[length] = free
        return known[length]

    def therapist(self, therapist_id: str, day: date) -> int:
        key = (therapist_id, day)
        if key not in self.therapist_free:
            self.therapist_free[key] = self._working(therapist_id, day)
        return self.therapist_free[key]

    def unit(self, resource_id: str, number: int, day: date) -> int:
        key = (resource_id, number, day)
        if key not in self.unit_free:
            resource = next(r for r in self.config.clinic.resources if r.id == resource_id)
            self.unit_free[key] = _minus_periods(DAY, resource.maintenance, day)
        return self.unit_free[key]

    def _working(self, therapist_id: str, day: date) -> int:
        clinic = self.config.clinic
        if day in self.closed:
            return 0
        therapist = next(t for t in clinic.therapists if t.id == therapist_id)
        open_bits = sum(_bits(_minute(r.start), _minute(r.end))
                        for r in clinic.opening_hours.on(day.weekday()))
        own = sum(_bits(_minute(r.start), _minute(r.end))
                  for r in therapist.working_hours.on(day.weekday()))
        return _minus_periods(open_bits & own, therapist.leave, day)


def _minus_periods(bits: int, periods: list[Period], day: date) -> int:
    for period in periods:
        if period.from_ <= day <= period.to:
            if period.hours is None:
                return 0
            bits &= ~_bits(_minute(period.hours.start), _minute(period.hours.end))
    return bits


def load(folder: Path) -> tuple[Config, Diaries, ZoneInfo]:
    config = load_config(folder / "config")
    clinic = config.clinic
    zone = ZoneInfo(clinic.timezone)
    step = clinic.slot_step_minutes
    grid = sum(1 << m for m in range(0, 1440, step))
    diaries = Diaries(config, grid)
    if clinic.holidays is not None:
        years = range(2020, 2040)
        diaries.closed |= set(holidays_lib.country_holidays(
            clinic.holidays.country, subdiv=clinic.holidays.subdivision, years=years))
    diaries.closed |= {c.date for c in clinic.closures}
    return config, diaries, zone


def read_existing(folder: Path, config: Config, diaries: Diaries
                  ) -> list[dict[str, Any]]:
    """Book the old system's visits into the diaries (a unit of each need, the first free)."""
    visit_types = {k: v for p in config.pathways.values() for k, v in p.visit_types.items()}
    records = []
    with (folder / "existing.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            start = datetime.fromisoformat(row["start"])
            visit = visit_types[row["visit_type"]]
            day, minute = start.date(), start.hour * 60 + start.minute
            length = int(row.get("minutes") or visit.duration_minutes)
            span = _bits(minute, minute + length)
            units = _take_units(diaries, visit.needs.resources, day, span)
            if units is None:
                continue
            _book(diaries, row["therapist_id"], row["patient_id"], day, span, units)
            records.append(_record(row["patient_id"], None, 0, row["visit_type"],
                                   row["therapist_id"], day, minute, length, units, True))
    return records


def _take_units(diaries: Diaries, tags: list[str], day: date, span: int
                ) -> list[tuple[str, int]] | None:
    chosen: list[tuple[str, int]] = []
    for tag in tags:
        found = None
        for resource in diaries.config.clinic.resources:
            if tag not in resource.provides or any(r == resource.id for r, _ in chosen):
                continue
            for number in range(resource.capacity):
                if diaries.unit(resource.id, number, day) & span == span:
                    found = (resource.id, number)
                    break
            if found:
                break
        if found is None:
            return None
        chosen.append(found)
    return chosen


def _book(diaries: Diaries, therapist_id: str, patient_id: str, day: date, span: int,
          units: list[tuple[str, int]]) -> None:
    diaries.therapist_free[(therapist_id, day)] = diaries.therapist(therapist_id, day) & ~span
    diaries.fit_cache.pop((therapist_id, day), None)
    for resource_id, number in units:
        key = (resource_id, number, day)
        diaries.unit_free[key] = diaries.unit(resource_id, number, day) & ~span
        if not diaries.tags_of:
            diaries.tags_of = {r.id: list(r.provides) for r in diaries.config.clinic.resources}
        for tag in diaries.tags_of[resource_id]:
            diaries.room_cache.pop((tag, day), None)
    diaries.patient_days.setdefault(patient_id, set()).add(day)


def _record(patient_id: str, episode: str | None, seq: int, visit_type: str,
            therapist_id: str, day: date, minute: int, length: int,
            units: list[tuple[str, int]], fixed: bool) -> dict[str, Any]:
    return {"patient_id": patient_id, "episode_id": episode, "seq": seq,
            "visit_type": visit_type, "therapist_id": therapist_id,
            "start": f"{day}T{minute // 60:02d}:{minute % 60:02d}",
            "minutes": length, "status": "booked", "fixed": fixed,
            "resources": ";".join(f"{r}#{n}" for r, n in units)}


def schedule(folder: Path, config: Config, diaries: Diaries) -> tuple[list[dict[str, Any]], int]:
    """Every batch row in file order, every visit at its earliest feasible slot."""
    clinic = config.clinic
    patient_rest = clinic.patient_min_rest_days
    rows = list(csv.DictReader((folder / "batch.csv").open(encoding="utf-8")))
    records: list[dict[str, Any]] = []
    requested = 0
    for line, row in enumerate(rows, start=2):
        pathway = config.pathway(row["pathway_id"])
        plan = plan_episode(pathway, date.fromisoformat(row["start"]))
        gap = max(pathway.min_rest_days, patient_rest) + 1
        last: date | None = None
        requested += len(plan.requirements)
        for req in plan.requirements:
            first = req.earliest if last is None else max(req.earliest,
                                                         last + timedelta(days=gap))
            found = _earliest(diaries, req.skills, req.resources, req.duration_minutes,
                              row["patient_id"], patient_rest, first, req.latest)
            if found is None:
                if req.role == "first" or req.seq == 1:
                    break  # never an episode's later visits without its first
                continue
            therapist_id, day, minute, units = found
            span = _bits(minute, minute + req.duration_minutes)
            _book(diaries, therapist_id, row["patient_id"], day, span, units)
            last = day
            records.append(_record(row["patient_id"], str(line), req.seq, req.visit_type,
                                   therapist_id, day, minute, req.duration_minutes, units,
                                   False))
    return records, requested


def _earliest(diaries: Diaries, skills: tuple[str, ...], tags: tuple[str, ...], length: int,
              patient_id: str, patient_rest: int, first: date, last: date
              ) -> tuple[str, date, int, list[tuple[str, int]]] | None:
    clinic = diaries.config.clinic
    if skills not in diaries.qualified:
        diaries.qualified[skills] = [t.id for t in clinic.therapists
                                     if set(skills) <= set(t.skills)]
    qualified = diaries.qualified[skills]
    taken = diaries.patient_days.get(patient_id, set())
    day = first
    while day <= last:
        if day in diaries.closed or any(abs((d - day).days) <= patient_rest for d in taken):
            day += timedelta(days=1)
            continue
        rooms = DAY
        for tag in tags:
            rooms &= diaries.room_fit(tag, day, length)
        best: tuple[int, str] | None = None
        for therapist_id in qualified:
            bits = diaries.fit(therapist_id, day, length) & rooms
            if bits:
                minute = (bits & -bits).bit_length() - 1
                if best is None or minute < best[0]:
                    best = (minute, therapist_id)
        if best is not None:
            minute, therapist_id = best
            units = _take_units(diaries, list(tags), day, _bits(minute, minute + length))
            if units is not None:
                return therapist_id, day, minute, units
        day += timedelta(days=1)
    return None
