"""Sample visits, a fixed stamp and golden-file comparison for the invite and email tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from carepath.domain.appointments import Appointment
from carepath.domain.config.models import Config
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit
from carepath.domain.patients import Patient

NY = ZoneInfo("America/New_York")
STAMP = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def golden(name: str, content: bytes) -> None:
    """Compare with tests/golden/NAME; CAREPATH_REGENERATE_GOLDEN=1 rewrites it (review it)."""
    path = GOLDEN / name
    if os.environ.get("CAREPATH_REGENERATE_GOLDEN") == "1" or not path.exists():
        path.write_bytes(content)
    assert content == path.read_bytes()


def make_visit(config: Config, *, start: datetime = datetime(2027, 3, 10, 9, 0, tzinfo=NY),
               status: str = "booked", sequence: int = 0, uid: str = "appt-7-2@riverside",
               name: str = "Jane Q. Doe") -> CalendarVisit:
    clinic = config.clinic
    appointment = Appointment(
        id=7, uid=uid, episode_id=3, patient_id="MRN1", therapist_id="alvarez",
        visit_type="treatment", visit_name="Treatment session", seq=2, start=start,
        end=start + timedelta(minutes=45), status=status, sequence=sequence)
    rooms = tuple(r for r in clinic.resources if r.id == "treatment-1")
    return CalendarVisit(appointment, Patient(id="MRN1", name=name), clinic.therapists[0], rooms)


def make_style(config: Config, detail: str = "initials") -> CalendarStyle:
    clinic = config.clinic
    return CalendarStyle(clinic.name, clinic.organizer_email, clinic.address, NY,
                         detail=detail)  # type: ignore[arg-type]


