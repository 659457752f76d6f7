"""Reading and writing bookings for the scheduling services.

Busy times are read inside the caller's write transaction: on SQLite every write
transaction starts with BEGIN IMMEDIATE, so what is read cannot change before commit; on
PostgreSQL the exclusion constraints of migration 0002 reject an overlapping insert by a
concurrent transaction, and ``flush_or_taken`` turns that into ``SlotTaken``.

Queries use the (therapist_id, start_utc), (resource_id, start_utc) and patient_id indexes
and read plain columns, not ORM objects, so ``carepath slots`` stays fast at a large clinic.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlalchemy import select as core_select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from carepath.adapters.tables import (
    AppointmentRow,
    ResourceBookingRow,
    TherapistLeaveRow,
)
from carepath.domain.appointments import ACTIVE_STATUSES
from carepath.domain.config import Clinic, Period
from carepath.domain.schedule_types import Busy, Placement
from carepath.errors import SlotTaken
from carepath.services import App

# PostgreSQL SQLSTATEs of a lost race: exclusion violation (the constraint of migration
# 0002), deadlock between two exclusion checks, serialization failure. Each means "another
# booking got there first": the caller may try again on fresh data.
LOST_RACE = frozenset({"23P01", "40P01", "40001"})
LONGEST_VISIT = timedelta(hours=8)  # lets "overlaps the window" use the start_utc index


def clinic_zone(app: App) -> ZoneInfo:
    return ZoneInfo(app.config.clinic.timezone)


_WITH_LEAVE: dict[tuple[int, object], tuple[Clinic, Clinic]] = {}


def clinic_with_leave(session: Session, app: App) -> Clinic:
    """The configured clinic plus the leave entered at run time (table ``therapist_leave``)."""
    extra: dict[str, list[Period]] = {}
    for row in session.exec(select(TherapistLeaveRow)):
        extra.setdefault(row.therapist_id, []).append(
            Period(from_=row.first_day, to=row.last_day, reason=row.reason or None))
    clinic = app.config.clinic
    if not extra:
        return clinic
    key = (id(clinic), tuple(sorted((t, tuple(p)) for t, p in extra.items())))
    cached = _WITH_LEAVE.get(key)
    if cached is None or cached[0] is not clinic:  # the same leave → the same object, so
        therapists = [t.model_copy(update={"leave": [*t.leave, *extra.get(t.id, [])]})
                      for t in clinic.therapists]  # the domain's calendar cache is reused
        cached = (clinic, clinic.model_copy(update={"therapists": therapists}))
        if len(_WITH_LEAVE) > 16:
            _WITH_LEAVE.clear()
        _WITH_LEAVE[key] = cached
    return cached[1]


def load_busy(session: Session, start: datetime, end: datetime, *,
              therapists: Collection[str] | None = None,
              resources: Collection[str] | None = None,
              patients: Collection[str] | None = None,
              exclude: Collection[int] = (), into: Busy | None = None) -> Busy:
    """Active bookings meeting ``[start, end)``; ``None`` filters mean everyone/everything,
    an empty one nobody/nothing. Added to ``into`` when given."""
    busy = into if into is not None else Busy()
    appointment = AppointmentRow
    query = core_select(col(appointment.id), col(appointment.therapist_id),
                        col(appointment.patient_id), col(appointment.start_utc),
                        col(appointment.end_utc)).where(
        col(appointment.status).in_(sorted(ACTIVE_STATUSES)),
        col(appointment.start_utc) >= start - LONGEST_VISIT,
        col(appointment.start_utc) < end)
    who = []
    if therapists is not None and not therapists and not patients:
        _load_units(session, busy, start, end, resources, exclude)
        return busy
    if therapists is not None:
        who.append(col(appointment.therapist_id).in_(sorted(therapists)))
    if patients is not None:
        who.append(col(appointment.patient_id).in_(sorted(patients)))
    if who:
        query = query.where(or_(*who))
    wanted_t = set(therapists) if therapists is not None else None
    wanted_p = set(patients) if patients is not None else None
    for ident, therapist_id, patient_id, begin, finish in session.connection().execute(query):
        if ident in exclude or finish <= start:
            continue
        busy.add(begin, finish,
                 therapist_id=therapist_id if wanted_t is None or therapist_id in wanted_t
                 else None,
                 patient_id=patient_id if wanted_p is None or patient_id in wanted_p else None)
    _load_units(session, busy, start, end, resources, exclude)
    return busy


def _load_units(session: Session, busy: Busy, start: datetime, end: datetime,
                resources: Collection[str] | None, exclude: Collection[int]) -> None:
    booking = ResourceBookingRow
    if resources is not None and not resources:
        return
    query = core_select(col(booking.appointment_id), col(booking.resource_id), col(booking.unit),
                        col(booking.start_utc), col(booking.end_utc)).where(
        col(booking.active).is_(True),
        col(booking.start_utc) >= start - LONGEST_VISIT,
        col(booking.start_utc) < end)
    if resources is not None:
        query = query.where(col(booking.resource_id).in_(sorted(resources)))
    for appointment_id, resource_id, unit, begin, finish in session.connection().execute(query):
        if appointment_id not in exclude and finish > start:
            busy.add(begin, finish, units=[(resource_id, unit)])


def new_uid(app: App) -> str:
    domain = app.config.clinic.organizer_email.rpartition("@")[2]
    return f"{uuid.uuid4()}@{domain}"


def save_placement(session: Session, app: App, placement: Placement, *, patient_id: str,
                   episode_id: int | None, seq: int | None = None,
                   fixed: bool = False) -> AppointmentRow:
    """An appointment row and one resource-booking row per unit it holds."""
    now, req = app.clock.now(), placement.requirement
    row = AppointmentRow(
        uid=new_uid(app), episode_id=episode_id, patient_id=patient_id,
        therapist_id=placement.therapist_id, visit_type=req.visit_type, visit_name=req.name,
        seq=req.seq if seq is None else seq, start_utc=placement.start,
        end_utc=placement.end, status="booked", sequence=0, fixed=fixed,
        caregiver_invited=req.caregiver_invited, window_first=req.earliest,
        window_last=req.latest, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    assert row.id is not None
    hold_units(session, row, placement.resources)
    return row


def hold_units(session: Session, row: AppointmentRow, units: Sequence[tuple[str, int]]) -> None:
    assert row.id is not None
    for resource_id, unit in units:
        session.add(ResourceBookingRow(appointment_id=row.id, resource_id=resource_id, unit=unit,
                                       start_utc=row.start_utc, end_utc=row.end_utc))


def release_units(session: Session, appointment_id: int) -> list[tuple[str, int]]:
    """Deactivate the resource bookings of an appointment; the units it held."""
    held = []
    for booking in session.exec(select(ResourceBookingRow).where(
            ResourceBookingRow.appointment_id == appointment_id,
            col(ResourceBookingRow.active).is_(True))):
        booking.active = False
        held.append((booking.resource_id, booking.unit))
        session.add(booking)
    return held


def held_units(session: Session, appointment_id: int) -> list[tuple[str, int]]:
    return [(b.resource_id, b.unit) for b in session.exec(select(ResourceBookingRow).where(
        ResourceBookingRow.appointment_id == appointment_id,
        col(ResourceBookingRow.active).is_(True)))]


@contextmanager
def flush_or_taken(session: Session, what: str,
                   alternatives: Sequence[str] = ()) -> Iterator[None]:
    """Flush; an exclusion-constraint violation (a concurrent booking won) is ``SlotTaken``."""
    try:
        yield
        session.flush()
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) in LOST_RACE:
            raise SlotTaken(what, alternatives) from None
        raise


def episode_appointments(session: Session, episode_id: int, *,
                         active_only: bool = True) -> list[AppointmentRow]:
    query = select(AppointmentRow).where(AppointmentRow.episode_id == episode_id)
    if active_only:
        query = query.where(col(AppointmentRow.status).in_(sorted(ACTIVE_STATUSES)))
    return list(session.exec(query.order_by(col(AppointmentRow.start_utc))))
