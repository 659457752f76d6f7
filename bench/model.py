"""The values the bench passes around: bookings, enrolments and a whole workload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from bench.grid import ClinicGrid
from carepath.domain.config.models import Clinic, Config
from carepath.domain.scheduling.planning import EpisodePlan, PatientPreferences

FIRST_DAY = date(2027, 3, 1)  # a Monday, two weeks before the US spring-forward night


@dataclass(frozen=True)
class Booking:
    """One visit: a therapist (and resources) held over aware instants, by either scheduler."""

    patient_id: str
    episode_id: str  # the enrolment id, or "existing" for fixed bookings from the old system
    seq: int
    visit_type: str
    therapist_id: str
    start: datetime
    end: datetime
    resources: tuple[str, ...] = ()
    units: tuple[int, ...] = ()  # the unit of each resource, when the scheduler names one
    fixed: bool = False

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class Enrolment:
    """One patient enrolled in one pathway from ``start``; ``plan`` comes from ``plan_episode``."""

    id: str
    patient_id: str
    pathway_id: str
    start: date
    preferences: PatientPreferences
    plan: EpisodePlan


@dataclass(frozen=True)
class Workload:
    size: str
    seed: int
    config: Config
    enrolments: tuple[Enrolment, ...]
    existing: tuple[Booking, ...]

    @property
    def clinic(self) -> Clinic:
        return self.config.clinic

    @property
    def required_visits(self) -> int:
        return sum(len(e.plan.requirements) for e in self.enrolments)

    @property
    def last_day(self) -> date:
        return max(e.start + timedelta(weeks=e.plan.max_weeks) for e in self.enrolments)

    @cached_property
    def grid(self) -> ClinicGrid:
        return ClinicGrid(self.clinic, range(FIRST_DAY.year, self.last_day.year + 2))
