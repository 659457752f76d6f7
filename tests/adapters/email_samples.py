"""A sample context for every email template
(the shapes ``carepath.domain.messages.notices`` builds)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from carepath.config.loader import load_config as _load_config
from carepath.config.resources import bundled_config_dir
from carepath.domain.appointments import Appointment
from carepath.domain.config.models import Config
from carepath.domain.goals.charts import ChartSpec
from carepath.domain.messages.notices import (
    EscalationNotice,
    ManageLink,
    Recipient,
    changed_context,
    escalation_context,
    schedule_context,
    single_context,
    therapist_context,
)
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit, ClinicContact
from carepath.domain.patients import Patient

NY = ZoneInfo("America/New_York")


@lru_cache(maxsize=1)
def load_config(folder: Path) -> Config:
    """The example config, read once per test process."""
    return _load_config(folder)


def sample_style() -> CalendarStyle:
    """The example clinic's style, with its contact details."""
    clinic = load_config(bundled_config_dir()).clinic
    contact = ClinicContact(clinic.phone, clinic.website, clinic.directions, clinic.parking,
                            clinic.accessible_entrance, clinic.cancellation_notice_hours)
    return CalendarStyle(clinic.name, clinic.organizer_email, clinic.address, NY,
                         contact=contact)


def sample_visits(count: int, *, status: str = "booked") -> list[CalendarVisit]:
    """``count`` treatment sessions a day apart from Wednesday 10 March 2027, 9:00."""
    clinic = load_config(bundled_config_dir()).clinic
    pool = tuple(r for r in clinic.resources if r.id == "pool")
    visits = []
    for day in range(count):
        start = datetime(2027, 3, 10 + day, 9, 0, tzinfo=NY)
        visits.append(CalendarVisit(Appointment(
            id=day + 1, uid=f"appt-{day + 1}@riverside", episode_id=1, patient_id="MRN1",
            therapist_id="alvarez", visit_type="treatment", visit_name="Treatment session",
            seq=day + 1, start=start, end=start + timedelta(minutes=45), status=status,
            sequence=1 if status == "cancelled" else 0),
            Patient(id="MRN1", name="Ava Thompson"), clinic.therapists[0], pool))
    return visits


def contexts_for(count: int, recipient: Recipient, *, links: ManageLink | None = None,
                 feed_url: str | None = None) -> dict[str, dict[str, Any]]:
    """Every email's context with ``count`` visits (one where an email is about one visit),
    addressed to ``recipient``."""
    style = sample_style()
    booked, cancelled = sample_visits(count), sample_visits(count, status="cancelled")
    moved = replace(booked[0], appointment=replace(
        booked[0].appointment, start=booked[0].appointment.start + timedelta(hours=5),
        end=booked[0].appointment.end + timedelta(hours=5), sequence=1))
    contexts = sample_contexts()
    return {**contexts,
            "patient_schedule": schedule_context(booked, style, recipient, links=links,
                                                 feed_url=feed_url),
            "patient_changed": changed_context(moved, booked[0], style, recipient,
                                               links=links, feed_url=feed_url),
            "patient_cancelled": single_context(cancelled[0], style, recipient,
                                                links=links, feed_url=feed_url),
            "patient_cancelled_many": schedule_context(cancelled, style, recipient,
                                                       cancelled=True, feed_url=feed_url),
            "patient_reminder": single_context(booked[0], style, recipient, hours_before=24,
                                               links=links, feed_url=feed_url),
            "therapist_digest": therapist_context(booked, style),
            "therapist_invite": therapist_context(cancelled[:1], style, method="CANCEL",
                                                  handed_to="David Chen")}


def sample_contexts() -> dict[str, dict[str, Any]]:
    clinic = load_config(bundled_config_dir()).clinic
    style = sample_style()
    start = datetime(2027, 3, 10, 9, 0, tzinfo=NY)
    appointment = Appointment(
        id=1, uid="appt-1@riverside", episode_id=1, patient_id="MRN1", therapist_id="alvarez",
        visit_type="treatment", visit_name="Treatment session", seq=1, start=start,
        end=start + timedelta(minutes=45), status="booked", sequence=0)
    pool = tuple(r for r in clinic.resources if r.id == "pool")
    visit = CalendarVisit(appointment, Patient(id="MRN1", name="Ava Thompson"),
                          clinic.therapists[0], pool)
    moved = CalendarVisit(
        Appointment(**{**appointment.__dict__, "start": start + timedelta(days=1),
                       "end": start + timedelta(days=1, minutes=45), "sequence": 1}),
        visit.patient, visit.therapist, pool)
    patient = Recipient("ava@patients.example", "Ava Thompson")
    return {
        "patient_schedule": schedule_context([visit, moved], style, patient),
        "patient_changed": changed_context(moved, visit, style, patient),
        "patient_cancelled": single_context(visit, style, patient),
        "patient_cancelled_many": schedule_context([visit, moved], style, patient),
        "patient_reminder": single_context(visit, style,
                                           Recipient("fam@x.example", "", "caregiver"),
                                           hours_before=24),
        "therapist_invite": therapist_context([visit], style, method="REQUEST"),
        "therapist_digest": therapist_context([visit, moved], style),
        "escalation_therapist": escalation_context(
            NOTICE, style, patient_label="A.T.", addressee="Maria Alvarez", reassessment=visit,
            charts=[("chart-1.x.carepath@riverside-rehab.example", CHART)],
            phone_charts=["phone-1.x.carepath@riverside-rehab.example"]),
        "escalation_physician": escalation_context(
            NOTICE, style, patient_label="Ava Thompson (our id MRN1)", addressee="Doctor",
            reassessment=None),
    }


CHART = ChartSpec(title="6-Minute Walk Test", unit="m", better="higher",
                  points=((datetime(2027, 3, 1, 14, tzinfo=NY), 310.0),
                          (datetime(2027, 3, 15, 14, tzinfo=NY), 312.0)),
                  band=(302.8, 339.7), target=340.0, bounds=(0, 1000))
NOTICE = EscalationNotice(
    escalation_id=4, level=2, kind="stall", summary="No MCID improvement in two reviews",
    facts=("6MWT 310 m → 312 m (MCID 30 m)",), actions=("reassessment booked",),
    proposed_pathway="progression-review")
