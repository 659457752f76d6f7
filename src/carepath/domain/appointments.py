"""Appointments as domain values, and the statuses they move through.

An appointment is one booked visit: who, where, when (aware UTC instants), and its
iCalendar identity (``uid`` never changes; ``sequence`` rises on every change of time,
length or status, RFC 5545 §3.8.7.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from carepath.domain.transitions import advance

AppointmentStatus = Literal["booked", "completed", "cancelled", "no_show"]

ACTIVE_STATUSES = frozenset({"booked", "completed"})  # hold the slot

STATUS_TRANSITIONS: dict[tuple[str, str], str] = {
    ("booked", "complete"): "completed",
    ("booked", "cancel"): "cancelled",
    ("booked", "no_show"): "no_show",
    ("booked", "reschedule"): "booked",
}


@dataclass(frozen=True)
class Appointment:
    id: int
    uid: str
    episode_id: int | None
    patient_id: str
    therapist_id: str
    visit_type: str
    visit_name: str
    seq: int
    start: datetime
    end: datetime
    status: str
    sequence: int
    resources: tuple[str, ...] = ()
    fixed: bool = False
    caregiver_invited: bool = False

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def next_status(appointment_id: object, current: str, event: str) -> str:
    return advance(STATUS_TRANSITIONS, "appointment", appointment_id, current, event)
