"""The visit as invites, emails and feeds see it, and the clinic's calendar choices: plain
values, kept apart from the iCalendar writer (``invites``) so that reading visits does not
load it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from carepath.domain.appointments import Appointment
from carepath.domain.config.models import Resource, Therapist
from carepath.domain.patients import Patient

Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True)
class CalendarVisit:
    """One appointment with the people and places it refers to: what invites and emails show."""

    appointment: Appointment
    patient: Patient
    therapist: Therapist
    resources: tuple[Resource, ...] = ()
    hold: str = ""  # "hold progression" on the episode: said to the therapist, not the patient

    @property
    def cancelled(self) -> bool:
        return self.appointment.status == "cancelled"

    @property
    def rooms(self) -> str:
        names = [r.name for r in self.resources if r.kind == "room"]
        return ", ".join(names) or "Reception will show you the way"


@dataclass(frozen=True)
class ClinicContact:
    """How patients reach and get into the clinic (``clinic.yaml``): every patient email
    shows it, and "How to change this visit" names the phone number."""

    phone: str | None = None
    website: str | None = None
    directions: str | None = None
    parking: str | None = None
    accessible_entrance: str | None = None
    cancellation_notice_hours: int = 24


@dataclass(frozen=True)
class CalendarStyle:
    """Clinic-wide choices for every calendar object: who organizes, where, what shows."""

    clinic_name: str
    organizer_email: str
    address: str
    zone: ZoneInfo
    detail: Literal["initials", "full_name"] = "initials"
    therapist_alarm: timedelta = timedelta(minutes=15)
    patient_alarm: timedelta = timedelta(hours=2)
    contact: ClinicContact = ClinicContact()


@dataclass(frozen=True)
class Invite:
    """One iTIP object: its METHOD (also the MIME ``method=`` parameter) and its bytes."""

    method: Method
    uid: str
    sequence: int
    ics: bytes
