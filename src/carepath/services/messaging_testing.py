"""Test helpers for messaging: appointments written straight into the tables.

Real code used by the messaging tests and benchmark, which need visits at exact times without
running the scheduler: each helper writes rows the way scheduling does and publishes the
matching event in the same transaction, so the handlers queue their messages exactly as in
production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    PatientRow,
    ResourceBookingRow,
)
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.events import (
    AppointmentCancelled,
    AppointmentChanged,
    AppointmentsBooked,
    publish,
)


@dataclass(frozen=True)
class PlannedVisit:
    start: datetime
    minutes: int = 45
    therapist_id: str = "alvarez"
    visit_type: str = "treatment"
    visit_name: str = "Treatment session"
    resources: tuple[str, ...] = ("treatment-1",)
    caregiver_invited: bool = False


def add_patient_row(app: App, patient_id: str, name: str, email: str | None = None, *,
                    caregiver_email: str | None = None, consent: bool = False) -> None:
    now = app.clock.now()
    with transaction(app.engine) as session:
        session.add(PatientRow(id=patient_id, name=name, email=email,
                               caregiver_email=caregiver_email, caregiver_consent=consent,
                               created_at=now, updated_at=now))


def book(app: App, patient_id: str, visits: Sequence[PlannedVisit], *,
         reason: str = "enrolment", pathway_id: str = "post-relapse") -> list[int]:
    """An episode with these visits, booked in one transaction; returns the appointment ids."""
    now = app.clock.now()
    with transaction(app.engine) as session:
        episode = EpisodeRow(patient_id=patient_id, pathway_id=pathway_id, pathway_version=1,
                             state="active", start_date=_first_day(visits), created_at=now,
                             updated_at=now)
        session.add(episode)
        session.flush()
        ids = []
        for seq, planned in enumerate(visits, start=1):
            row = _appointment(app, episode.id, patient_id, seq, planned)
            session.add(row)
            session.flush()
            assert row.id is not None
            ids.append(row.id)
            for resource_id in planned.resources:
                session.add(ResourceBookingRow(appointment_id=row.id, resource_id=resource_id,
                                               start_utc=row.start_utc, end_utc=row.end_utc))
        publish(session, app, AppointmentsBooked(tuple(ids), episode.id, reason))
    return ids


def reschedule(app: App, appointment_id: int, start: datetime, *,
               therapist_id: str | None = None, reason: str = "rescheduled") -> None:
    """Move a visit (and, optionally, to another therapist): SEQUENCE rises by one."""
    with transaction(app.engine) as session:
        row = _get(session, appointment_id)
        previous_start, previous_therapist = row.start_utc, row.therapist_id
        length = row.end_utc - row.start_utc
        row.start_utc, row.end_utc = start, start + length
        row.therapist_id = therapist_id or row.therapist_id
        row.sequence += 1
        row.updated_at = app.clock.now()
        session.add(row)
        for booking in session.exec(select(ResourceBookingRow).where(
                ResourceBookingRow.appointment_id == appointment_id)):
            booking.start_utc, booking.end_utc = row.start_utc, row.end_utc
            session.add(booking)
        publish(session, app, AppointmentChanged(appointment_id, previous_start,
                                                 previous_therapist, reason))


def cancel(app: App, appointment_id: int, *, reason: str = "cancelled") -> None:
    """Cancel a visit: status cancelled, SEQUENCE up by one, its rooms released."""
    with transaction(app.engine) as session:
        row = _get(session, appointment_id)
        row.status, row.sequence, row.updated_at = "cancelled", row.sequence + 1, app.clock.now()
        session.add(row)
        for booking in session.exec(select(ResourceBookingRow).where(
                ResourceBookingRow.appointment_id == appointment_id)):
            booking.active = False
            session.add(booking)
        publish(session, app, AppointmentCancelled(appointment_id, reason))


def weekly(first: datetime, count: int, **fields: object) -> list[PlannedVisit]:
    """``count`` visits a week apart at the same wall-clock time (across DST changes)."""
    return [PlannedVisit(start=_same_wall_clock(first, weeks), **fields)  # type: ignore[arg-type]
            for weeks in range(count)]


def _same_wall_clock(first: datetime, weeks: int) -> datetime:
    naive = first.replace(tzinfo=None) + timedelta(weeks=weeks)
    return naive.replace(tzinfo=first.tzinfo)


def _appointment(app: App, episode_id: int | None, patient_id: str, seq: int,
                 planned: PlannedVisit) -> AppointmentRow:
    now = app.clock.now()
    return AppointmentRow(
        uid=f"appt-{episode_id}-{seq}@{app.config.clinic.organizer_email.rpartition('@')[2]}",
        episode_id=episode_id, patient_id=patient_id, therapist_id=planned.therapist_id,
        visit_type=planned.visit_type, visit_name=planned.visit_name, seq=seq,
        start_utc=planned.start, end_utc=planned.start + timedelta(minutes=planned.minutes),
        caregiver_invited=planned.caregiver_invited, created_at=now, updated_at=now)


def _get(session: Session, appointment_id: int) -> AppointmentRow:
    row = session.get(AppointmentRow, appointment_id)
    if row is None:
        raise NotFound("appointment", appointment_id)
    return row


def _first_day(visits: Sequence[PlannedVisit]) -> date:
    return min(v.start for v in visits).date()
