"""``carepath slots`` at the large size: the find-slots service on a full SQLite diary.

The floor in the issue is about the command a receptionist types, so besides the pure
``free_slots`` the bench times the service behind ``carepath slots`` (``find_slots``): it
reads busy times from the database a week at a time. The diary — every existing and every
newly booked visit of the workload — is written straight into the tables with one bulk
insert per table (building it through enrolment would time the engine twice). Process
start-up and schema migration are not part of the figure.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.engine import SlotTimings, not_before
from bench.model import Booking, Workload
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, PatientRow, ResourceBookingRow
from carepath.resources import bundled_config_dir
from carepath.services import App
from carepath.settings import Settings

QUERIES = 100


def time_find_slots(workload: Workload, bookings: Sequence[Booking], seed: int) -> SlotTimings:
    """p50/p99 of ``find_slots`` over random visit types, days and therapists."""
    from carepath.services.scheduling import find_slots

    with tempfile.TemporaryDirectory(prefix="carepath-bench-") as home:
        app = _app(workload, Path(home))
        try:
            _fill(app, [*workload.existing, *bookings])
            rng = random.Random(f"service-slots:{seed}")
            queries = [(p.id, v) for p in workload.config.pathways.values() for v in p.visit_types]
            durations = []
            for i in range(QUERIES):
                pathway_id, visit_type = rng.choice(queries)
                day = not_before(workload).date() + timedelta(days=rng.randrange(70))
                who = _qualified(workload, pathway_id, visit_type, rng) if i % 2 else None
                began = time.perf_counter()
                find_slots(app, visit_type, pathway_id=pathway_id, therapist_id=who,
                           limit=10, from_day=day)
                durations.append((time.perf_counter() - began) * 1000)
        finally:
            app.engine.dispose()
    durations.sort()
    return SlotTimings(len(durations), statistics.median(durations),
                       durations[min(len(durations) - 1, int(0.99 * len(durations)))],
                       durations[-1])


def _app(workload: Workload, home: Path) -> App:
    settings = Settings(home=home, config_dir=bundled_config_dir(),
                        database_url=f"sqlite:///{home / 'carepath.db'}", actor="bench")
    clock = FixedClock(not_before(workload))
    return App.open(settings, clock, config=workload.config)


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
