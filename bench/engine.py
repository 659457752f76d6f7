"""carepath's scheduling engine on a bench workload, and its answers as bench bookings.

The engine is imported lazily: until it exists (or while it does not import), the bench
prints the baseline alone. Everything the engine is given comes from the workload; nothing
it answers is trusted — its bookings go through the bench's own checker and metrics.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from bench.model import FIRST_DAY, Booking, Workload
from carepath.domain.scheduling.planning import EpisodePlan

FREE_SLOT_QUERIES = 200


def load_engine() -> tuple[ModuleType | None, str]:
    """The ``carepath.domain.scheduling`` module, or None and why it cannot be used."""
    try:
        from carepath.domain import scheduling
    except ImportError as error:
        return None, f"carepath's scheduling engine is not importable yet ({error})"
    missing = [n for n in ("Busy", "EpisodeRequest", "schedule_batch", "free_slots")
               if not hasattr(scheduling, n)]
    if missing:
        return None, f"carepath's scheduling engine lacks {', '.join(missing)}"
    return scheduling, ""


@dataclass
class EngineRun:
    bookings: list[Booking]
    plans: dict[str, EpisodePlan]  # the plan each episode used (stretched ones differ)
    stretched: int
    busy: Any  # the engine's Busy after the batch, for free-slot queries


def not_before(workload: Workload) -> datetime:
    """The clock at enrolment time: the first morning of the workload, clinic time."""
    return datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=ZoneInfo(
        workload.clinic.timezone))


def schedule_engine(engine: ModuleType, workload: Workload) -> EngineRun:
    """Book the whole workload as one batch (partial: what fits is booked, as the baseline)."""
    zone = ZoneInfo(workload.clinic.timezone)
    busy = engine.Busy()
    for fixed in workload.existing:
        busy.add(fixed.start, fixed.end, therapist_id=fixed.therapist_id,
                 units=tuple(zip(fixed.resources, fixed.units, strict=True)),
                 patient_id=fixed.patient_id)
    requests = [engine.EpisodeRequest(key=e.id, patient_id=e.patient_id, plan=e.plan)
                for e in workload.enrolments]
    schedules = engine.schedule_batch(requests, workload.clinic, busy, zone=zone,
                                      not_before=not_before(workload), partial=True)
    by_key = {e.id: e for e in workload.enrolments}
    bookings, plans, stretched = [], {}, 0
    for request, schedule in zip(requests, schedules, strict=True):
        enrolment = by_key[request.key]
        plans[enrolment.id] = schedule.plan
        stretched += schedule.stretched_from is not None
        if not schedule.booked:
            continue
        for placement in schedule.placements:
            bookings.append(Booking(
                patient_id=enrolment.patient_id, episode_id=enrolment.id,
                seq=placement.requirement.seq, visit_type=placement.requirement.visit_type,
                therapist_id=placement.therapist_id, start=placement.start, end=placement.end,
                resources=tuple(r for r, _ in placement.resources),
                units=tuple(u for _, u in placement.resources),
            ))
    return EngineRun(bookings, plans, stretched, busy)


@dataclass(frozen=True)
class SlotTimings:
    queries: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    first_ms: float | None = None  # the first answer of a fresh process: cold caches


def time_free_slots(engine: ModuleType, workload: Workload, busy: Any, seed: int) -> SlotTimings:
    """Time ``free_slots`` on the booked diary: random visit types, days and therapists.

    Half the queries ask for one named therapist, half for any qualified one, like
    ``carepath slots`` with and without ``--therapist``.
    """
    rng = random.Random(f"slots:{seed}")
    zone = ZoneInfo(workload.clinic.timezone)
    visits = [v for p in workload.config.pathways.values() for v in p.visit_types.values()]
    therapists = [t.id for t in workload.clinic.therapists]
    durations = []
    for i in range(FREE_SLOT_QUERIES):
        visit = rng.choice(visits)
        after = not_before(workload) + timedelta(days=rng.randrange(70), hours=rng.randrange(24))
        who = rng.choice(therapists) if i % 2 else None
        began = time.perf_counter()
        engine.free_slots(visit, workload.clinic, busy, zone=zone, not_before=after,
                          therapist_id=who, limit=10)
        durations.append((time.perf_counter() - began) * 1000)
    durations.sort()
    return SlotTimings(
        queries=len(durations), p50_ms=statistics.median(durations),
        p99_ms=durations[min(len(durations) - 1, int(0.99 * len(durations)))],
        max_ms=durations[-1],
    )
