"""Scheduling: place an episode's visit requirements into real availability.

Pure: no database, no clock. Existing bookings come in as a ``Busy`` value, time as
``not_before``; the answer is a value the service saves in one transaction.

Public API (the benchmark and the services call exactly these)::

    Busy()                                          # existing bookings, mutable
      .add(start, end, *, therapist_id=None, units=(), patient_id=None) -> None
      .copy() -> Busy
    schedule_episode(plan: EpisodePlan, clinic: Clinic, busy: Busy, *, zone: ZoneInfo,
                     not_before: datetime, patient_id: str = "", therapist_id: str | None = None,
                     partial: bool = False, booked_first: BookedFirst | None = None
                     ) -> EpisodeSchedule     # booked_first: an imported evaluation
    schedule_batch(requests: Sequence[EpisodeRequest], clinic: Clinic, busy: Busy, *,
                   zone: ZoneInfo, not_before: datetime, partial: bool = False
                   ) -> list[EpisodeSchedule]               # in the order of ``requests``
    free_slots(visit: VisitType, clinic: Clinic, busy: Busy, *, zone: ZoneInfo,
               not_before: datetime, therapist_id: str | None = None, limit: int = 10,
               horizon_days: int = 28, patient_id: str = "",
               diary: DiaryReader | None = None) -> list[Slot]   # diary: reads on demand
    place_visit(request: VisitRequest, clinic, busy, *, zone, not_before
                ) -> Placement | Unplaced      # the best slot in the requirement's window
    check_slot(request: VisitRequest, clinic, busy, *, zone, start, patient_rest=True
               ) -> Placement | Unplaced       # one exact time with request.therapist_id

A ``VisitRequest`` is the visit's requirement with its patient (preferences, the episode's
other days and rest days) and its therapist (``therapist_id`` only, or ``primary_therapist``
first).

Every ``schedule_*`` / ``place_visit`` call adds what it placed to ``busy`` (so calls chain);
pass ``busy.copy()`` to keep the original. A placement's ``start``/``end`` are aware UTC.

Hard constraints are never broken: therapist, resource unit and patient never double-booked;
inside clinic and therapist hours; never on a holiday, closure, leave or maintenance day;
needs (skills, resource tags) met; each visit inside its week window (the cadence); rest
days between an episode's visits; one visit per patient-day unless the pathway allows more.
Soft costs (``placement``) rank what is left: patient weekdays and windows, heat-safe
mornings, one therapist per episode, reassessment at the baseline's time of day, earliest
start and balanced load. Order matters: ``schedule_batch`` places the most constrained
episodes first, week by week round-robin, so that early rows cannot take every morning.
"""

from __future__ import annotations

from carepath.domain.scheduling.batch import schedule_batch
from carepath.domain.scheduling.episode import schedule_episode
from carepath.domain.scheduling.one_visit import DiaryReader, check_slot, free_slots, place_visit
from carepath.domain.scheduling.types import (
    BookedFirst,
    Busy,
    EpisodeRequest,
    EpisodeSchedule,
    Placement,
    Slot,
    Unit,
    Unplaced,
    VisitRequest,
)

__all__ = [
    "BookedFirst", "Busy", "DiaryReader", "EpisodeRequest", "EpisodeSchedule", "Placement",
    "Slot", "Unit", "Unplaced", "VisitRequest",
    "check_slot", "free_slots", "place_visit", "schedule_batch", "schedule_episode",
]
