"""Appointments as the lists show them: plain records, with the two-hour rule's hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carepath.adapters.db import transaction
from carepath.services import App
from carepath.services.appointment_export import appointment_records
from carepath.services.holds import held_episodes

HOLD_MARK = "HOLD progression"


def list_appointments(app: App, *, since: datetime | None = None, until: datetime | None = None,
                      patient_id: str | None = None, therapist_id: str | None = None,
                      status: str | None = None) -> list[dict[str, Any]]:
    """Appointments in time order (``appointment_records``), each with ``hold``: a booked
    visit of an episode on hold says so until a therapist clears the hold."""
    with transaction(app.engine) as session:
        records = appointment_records(app, session, since=since, until=until,
                                      patient_id=patient_id, therapist_id=therapist_id,
                                      status=status)
        on_hold = held_episodes(session, {r["episode_id"] for r in records})
    for record in records:
        record["hold"] = (HOLD_MARK if record["status"] == "booked"
                          and record["episode_id"] in on_hold else "")
    return records
