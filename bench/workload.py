"""A seeded scheduling workload: a scaled clinic, enrolments, leave and existing bookings.

Sizes follow the issue: small (5 therapists, 40 enrolments), medium (30, 400) and large
(200, 4,000). The clinic starts from the example config (America/New_York) and scales its
therapists and rooms; enrolments start over six weeks from Monday 2027-03-01, so every
horizon crosses the spring-forward night of 2027-03-14 (long pathways cross November too).
The same seed gives the same workload, byte for byte, in every process.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from bench.grid import ClinicGrid
from bench.model import FIRST_DAY, Enrolment, Workload
from bench.workload_clinic import build_clinic, existing_bookings
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir
from carepath.domain.config.models import Config, Pathway
from carepath.domain.scheduling.planning import PatientPreferences, plan_episode
from carepath.domain.timeutil import ClockRange

START_SPREAD_DAYS = 42
PATHWAY_MIX = (("post-relapse", 0.6), ("stable-boosters", 0.3), ("progression-review", 0.1))
HEAT_SENSITIVE_SHARE = 0.3
WEEKDAY_PATTERNS = ((0, 2, 4), (1, 3), (0, 1, 2, 3), (1, 2, 3, 4), (0, 2, 3), (2, 3, 4))
WINDOW_PATTERNS = (("07:30-12:00",), ("12:00-18:00",), ("09:00-15:00",),
                   ("07:30-10:30", "15:00-18:00"))
MORNING_WINDOWS = (("07:30-11:00",), ("08:00-10:30",))


@dataclass(frozen=True)
class Size:
    therapists: int
    enrolments: int


SIZES = {"small": Size(5, 40), "medium": Size(30, 400), "large": Size(200, 4_000)}


def generate(size: str, seed: int = 1) -> Workload:
    """The workload of ``size`` ("small", "medium" or "large") for ``seed``."""
    spec = SIZES[size]
    rng = random.Random(f"{size}:{seed}")
    base = _example_config()
    clinic = build_clinic(base.clinic, spec.therapists, FIRST_DAY, rng)
    config = Config(clinic=clinic, measures=base.measures, pathways=base.pathways)
    grid = ClinicGrid(clinic, range(FIRST_DAY.year, FIRST_DAY.year + 3))
    existing = existing_bookings(grid, FIRST_DAY, rng)
    enrolments = tuple(_enrolment(i, config, grid, rng) for i in range(spec.enrolments))
    return Workload(size, seed, config, enrolments, existing)


@cache
def _example_config() -> Config:
    """The example clinic and its pathways, read once per process (config values are frozen)."""
    return load_config(bundled_config_dir())


def _enrolment(index: int, config: Config, grid: ClinicGrid, rng: random.Random) -> Enrolment:
    pathway = _pick_pathway(config, rng)
    start = _start_day(grid, rng)
    preferences = _preferences(rng)
    return Enrolment(
        id=f"e{index + 1:05d}", patient_id=f"p{index + 1:05d}", pathway_id=pathway.id,
        start=start, preferences=preferences, plan=plan_episode(pathway, start, preferences),
    )


def _pick_pathway(config: Config, rng: random.Random) -> Pathway:
    roll, total = rng.random(), 0.0
    for pathway_id, share in PATHWAY_MIX:
        total += share
        if roll < total:
            return config.pathway(pathway_id)
    return config.pathway(PATHWAY_MIX[0][0])


def _start_day(grid: ClinicGrid, rng: random.Random) -> date:
    """A random open day in the start spread (never a holiday or closure)."""
    day = FIRST_DAY + timedelta(days=rng.randrange(START_SPREAD_DAYS))
    while not grid.clinic_mask(day):
        day += timedelta(days=1)
    return day


def _preferences(rng: random.Random) -> PatientPreferences:
    heat = rng.random() < HEAT_SENSITIVE_SHARE
    weekdays = rng.choice(WEEKDAY_PATTERNS) if rng.random() < 0.4 else ()
    windows: tuple[str, ...] = ()
    if rng.random() < 0.3:
        windows = rng.choice(MORNING_WINDOWS if heat else WINDOW_PATTERNS)
    return PatientPreferences(
        weekdays=tuple(weekdays), windows=tuple(ClockRange.parse(w) for w in windows),
        heat_sensitive=heat,
    )
