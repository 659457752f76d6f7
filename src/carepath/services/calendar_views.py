"""Appointments read back as ``CalendarVisit`` values: the rows plus who and where.

Therapists and resources come from the checked config (names, emails, ``provides`` tags);
patients from their table. Invites, emails, feeds and CalDAV all read visits through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carepath.adapters.tables import AppointmentRow, PatientRow, ResourceBookingRow
from carepath.domain.appointments import Appointment
from carepath.domain.config.models import Therapist, WeeklyHours
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit, ClinicContact
from carepath.domain.timeutil import to_utc
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.holds import HOLD_TEXT, held_episodes
from carepath.services.patients import from_row as patient_from_row


def calendar_style(app: App) -> CalendarStyle:
    clinic = app.config.clinic
    contact = ClinicContact(
        phone=clinic.phone, website=clinic.website, directions=clinic.directions,
        parking=clinic.parking, accessible_entrance=clinic.accessible_entrance,
        cancellation_notice_hours=clinic.cancellation_notice_hours)
    return CalendarStyle(clinic_name=clinic.name, organizer_email=clinic.organizer_email,
                         address=clinic.address, zone=ZoneInfo(clinic.timezone),
                         detail=clinic.invite_detail, contact=contact)


def appointment_from_row(row: AppointmentRow, resources: Sequence[str] = ()) -> Appointment:
    assert row.id is not None
    return Appointment(
        id=row.id, uid=row.uid, episode_id=row.episode_id, patient_id=row.patient_id,
        therapist_id=row.therapist_id, visit_type=row.visit_type, visit_name=row.visit_name,
        seq=row.seq, start=to_utc(row.start_utc), end=to_utc(row.end_utc), status=row.status,
        sequence=row.sequence, resources=tuple(resources), fixed=row.fixed,
        caregiver_invited=row.caregiver_invited)


def load_visits(session: Session, app: App, ids: Iterable[int]) -> list[CalendarVisit]:
    """The visits of these appointment ids, in start order; an unknown id is ``NotFound``."""
    wanted = list(dict.fromkeys(ids))
    rows = list(session.exec(select(AppointmentRow).where(col(AppointmentRow.id).in_(wanted))))
    missing = set(wanted) - {row.id for row in rows}
    if missing:
        raise NotFound("appointment", min(missing))
    return views_of(session, app, rows)


def upcoming_visits(session: Session, app: App, *, since: datetime,
                    therapist_id: str | None = None, patient_id: str | None = None,
                    include_cancelled: bool = False) -> list[CalendarVisit]:
    """Visits ending after ``since`` for one therapist or one patient, in start order."""
    query = select(AppointmentRow).where(AppointmentRow.end_utc > since)
    if therapist_id is not None:
        query = query.where(AppointmentRow.therapist_id == therapist_id)
    if patient_id is not None:
        query = query.where(AppointmentRow.patient_id == patient_id)
    if not include_cancelled:
        query = query.where(col(AppointmentRow.status).in_(("booked", "completed")))
    return views_of(session, app, list(session.exec(query)))


def with_change(visit: CalendarVisit, *, start: datetime, therapist: Therapist) -> CalendarVisit:
    """The same visit as it was before a change: its previous start and therapist."""
    appointment = visit.appointment
    previous = replace(appointment, start=start, end=start + (appointment.end - appointment.start),
                       therapist_id=therapist.id)
    return replace(visit, appointment=previous, therapist=therapist)


def views_of(session: Session, app: App, rows: list[AppointmentRow]) -> list[CalendarVisit]:
    """Rows → visits with patient, therapist and the resources each visit holds."""
    rows.sort(key=lambda r: (r.start_utc, r.id or 0))
    ids = [r.id for r in rows]
    held: dict[int, list[str]] = {}
    bookings = select(ResourceBookingRow).where(col(ResourceBookingRow.appointment_id).in_(ids))
    for booking in session.exec(bookings.order_by(col(ResourceBookingRow.id))):
        if booking.active or _cancelled(rows, booking.appointment_id):
            held.setdefault(booking.appointment_id, []).append(booking.resource_id)
    patient_ids = {r.patient_id for r in rows}
    patients = {p.id: patient_from_row(p) for p in
                session.exec(select(PatientRow).where(col(PatientRow.id).in_(patient_ids)))}
    resources = {r.id: r for r in app.config.clinic.resources}
    on_hold = held_episodes(session, {r.episode_id for r in rows if r.status == "booked"})
    views = []
    for row in rows:
        names = list(dict.fromkeys(held.get(row.id or 0, [])))
        views.append(CalendarVisit(
            appointment=appointment_from_row(row, names),
            patient=patients[row.patient_id],
            therapist=therapist_of(app, row.therapist_id),
            resources=tuple(resources[n] for n in names if n in resources),
            hold=HOLD_TEXT if row.status == "booked" and row.episode_id in on_hold else ""))
    return views


def _cancelled(rows: list[AppointmentRow], appointment_id: int) -> bool:
    """A cancelled visit's bookings are released; its email still names the room it had."""
    return any(r.id == appointment_id and r.status == "cancelled" for r in rows)


def therapist_of(app: App, therapist_id: str) -> Therapist:
    """The therapist from the config; one who has left keeps a placeholder name and no email."""
    try:
        return app.config.therapist(therapist_id)
    except NotFound:
        return Therapist.model_construct(id=therapist_id, name=therapist_id, email="",
                                         skills=[], senior=False, leave=[], caldav_url=None,
                                         working_hours=WeeklyHours())
