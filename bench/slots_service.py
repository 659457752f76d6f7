"""``carepath slots`` at the large size: the find-slots service on a full SQLite diary.

The floor in the issue is about the command a receptionist types, so besides the pure
``free_slots`` the bench times the service behind ``carepath slots`` (``find_slots``): it
reads busy times from the database, a few days at a time. The diary — every existing and every
newly booked visit of the workload — is written straight into the tables with one bulk
insert per table (building it through enrolment would time the engine twice). Process
start-up and schema migration are not part of the figure.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import insert

from bench.engine import SlotTimings, not_before
from bench.model import Booking, Workload
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, PatientRow, ResourceBookingRow
from carepath.bootstrap import open_app
from carepath.config.resources import bundled_config_dir
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.services import App

QUERIES = 1000  # enough for a 99th percentile that is not simply the slowest answer


def time_find_slots(workload: Workload, bookings: Sequence[Booking], seed: int) -> SlotTimings:
    """p50/p99 of ``find_slots`` over random visit types, days and therapists.

    The diary is written here; the queries run in a fresh process that holds only what
    ``carepath slots`` would (the bench's own workload — a few hundred thousand objects —
    would otherwise make every garbage collection during a query cost ~100 ms).
    """
    with tempfile.TemporaryDirectory(prefix="carepath-bench-") as home:
        app = _app(workload, Path(home))
        try:
            _fill(app, [*workload.existing, *bookings])
        finally:
            app.engine.dispose()
        rng = random.Random(f"service-slots:{seed}")
        choices = [(p.id, v) for p in workload.config.pathways.values() for v in p.visit_types]
        queries = []
        for i in range(QUERIES):
            pathway_id, visit_type = rng.choice(choices)
            day = not_before(workload).date() + timedelta(days=rng.randrange(70))
            who = _qualified(workload, pathway_id, visit_type, rng) if i % 2 else None
            queries.append(Query(pathway_id, visit_type, day, who))
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            durations = pool.submit(_time_queries, workload.config, not_before(workload),
                                    Path(home), queries).result()
    first, durations = durations[0], sorted(durations)
    return SlotTimings(len(durations), statistics.median(durations),
                       durations[min(len(durations) - 1, int(0.99 * len(durations)))],
                       durations[-1], first)


class Query(NamedTuple):
    pathway_id: str
    visit_type: str
    day: date
    therapist_id: str | None


def _time_queries(config: Config, now: datetime, home: Path,
                  queries: Sequence[Query]) -> list[float]:
    """Milliseconds per ``find_slots`` call, every call timed (the first, cold, included)."""
    from carepath.services.scheduling import find_slots

    app = _open(config, now, home)
    try:
        durations = []
        for query in queries:
            began = time.perf_counter()
            find_slots(app, query.visit_type, pathway_id=query.pathway_id,
                       therapist_id=query.therapist_id, limit=10, from_day=query.day)
            durations.append((time.perf_counter() - began) * 1000)
        return durations
    finally:
        app.engine.dispose()


def _app(workload: Workload, home: Path) -> App:
    return _open(workload.config, not_before(workload), home)


def _open(config: Config, now: datetime, home: Path) -> App:
    settings = Settings(home=home, config_dir=bundled_config_dir(),
                        database_url=f"sqlite:///{home / 'carepath.db'}", actor="bench")
    return open_app(settings, FixedClock(now), config=config)


def _qualified(workload: Workload, pathway_id: str, visit_type: str, rng: random.Random) -> str:
    skills = set(workload.config.pathways[pathway_id].visit_types[visit_type].needs.skills)
    qualified: list[str] = [t.id for t in workload.clinic.therapists if skills <= set(t.skills)]
    return rng.choice(qualified)


def _fill(app: App, bookings: Sequence[Booking]) -> None:
    now = app.clock.now()
    patients = sorted({b.patient_id for b in bookings})
    appointments: list[dict[str, Any]] = []
    units: list[dict[str, Any]] = []
    for number, booking in enumerate(bookings, start=1):
        start, end = booking.start.astimezone(UTC), booking.end.astimezone(UTC)
        appointments.append({
            "id": number, "uid": f"bench-{number}@carepath", "patient_id": booking.patient_id,
            "therapist_id": booking.therapist_id, "visit_type": booking.visit_type,
            "visit_name": booking.visit_type, "seq": booking.seq, "start_utc": start,
            "end_utc": end, "status": "booked", "sequence": 0, "fixed": booking.fixed,
            "caregiver_invited": False, "created_at": now, "updated_at": now,
        })
        for resource_id, unit in zip(booking.resources, _units(booking), strict=True):
            units.append({"appointment_id": number, "resource_id": resource_id, "unit": unit,
                          "start_utc": start, "end_utc": end, "active": True})
    with transaction(app.engine) as session:
        session.execute(insert(PatientRow), [
            {"id": p, "name": f"Patient {p}", "heat_sensitive": False, "caregiver_consent": False,
             "created_at": now, "updated_at": now} for p in patients])
        session.execute(insert(AppointmentRow), appointments)
        session.execute(insert(ResourceBookingRow), units)


def _units(booking: Booking) -> tuple[int, ...]:
    return booking.units or tuple(0 for _ in booking.resources)
