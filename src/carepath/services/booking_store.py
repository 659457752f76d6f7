"""Reading and writing bookings for the scheduling services.

Busy times are read inside the caller's write transaction: on SQLite every write
transaction starts with BEGIN IMMEDIATE, so what is read cannot change before commit; on
PostgreSQL the exclusion constraints of migration 0002 reject an overlapping insert by a
concurrent transaction, and ``flush_or_taken`` turns that into ``SlotTaken``.

Leave entered at run time and bookings serialise per therapist on PostgreSQL: every
transaction that books, moves or records leave takes ``pg_advisory_xact_lock`` for each
therapist it writes for (sorted, so two writers cannot deadlock on the same pair), then a
booking re-reads that therapist's leave; what it read before the lock may be stale under READ
COMMITTED. SQLite needs none of this: BEGIN IMMEDIATE already serialises every writer.

Diaries are read through the covering indexes of migration 0006 — (therapist, start, end,
status, patient) and (resource, start, end, active, unit, appointment) — grouped per
therapist or room unit, with the minutes computed by the database: no ORM objects and no
row per booking, so ``carepath slots`` stays fast at a large clinic.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, bindparam, text
from sqlalchemy import insert as core_insert
from sqlalchemy import select as core_select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from carepath.adapters.tables import (
    AppointmentRow,
    ResourceBookingRow,
    TherapistLeaveRow,
)
from carepath.adapters.types import minutes_of, parse_minutes
from carepath.domain.appointments import ACTIVE_STATUSES
from carepath.domain.config.models import Clinic, Period
from carepath.domain.scheduling.types import Busy, Placement, Spans
from carepath.errors import RaceLost, SlotTaken
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
    """Active bookings meeting ``[start, end)``, added to ``into`` when given.

    ``None`` filters mean everyone/everything, an empty one nobody/nothing. Name the
    patients being scheduled: their visits are all the engine asks about, and a large
    clinic's every patient is thousands of lists (``None`` reads the visits of the
    bookings read, per patient).

    The database returns each therapist's (patient's, resource unit's) bookings as two
    lists of epoch minutes, starts and ends, merged into ``busy`` a list at a time: a month
    of a big clinic's diary is ten thousand bookings or more.
    """
    busy = into if into is not None else Busy()
    times = {"lookback": start - LONGEST_VISIT, "start": start, "end": end}
    excluded = tuple(sorted(exclude))
    if therapists is None or therapists:
        who = None if therapists is None else tuple(sorted(therapists))
        query = _people_query(who, patients is None, excluded)
        by_therapist: dict[str, Spans] = {}
        by_patient: dict[str, Spans] = {}
        for row in session.connection().execute(query, times).all():
            starts, ends = parse_minutes(row[-2]), parse_minutes(row[-1])
            diaries = [by_therapist.setdefault(row[0], ([], []))]
            if patients is None:
                diaries.append(by_patient.setdefault(row[1], ([], [])))
            for held_starts, held_ends in diaries:
                held_starts += starts
                held_ends += ends
        busy.add_spans(therapists=by_therapist, patients=by_patient)
    if patients:
        rows = session.connection().execute(
            _patients_query(tuple(sorted(patients)), excluded), times).all()
        busy.add_spans(patients={patient_id: (parse_minutes(starts), parse_minutes(ends))
                                 for patient_id, starts, ends in rows})
    if resources is None or resources:
        which = None if resources is None else tuple(sorted(resources))
        rows = session.connection().execute(_units_query(which, excluded), times).all()
        busy.add_spans(units={(resource_id, unit): (parse_minutes(starts), parse_minutes(ends))
                              for resource_id, unit, starts, ends in rows})
    return busy


# The statements are built once per filter and kept: building one costs about as much as
# SQLite takes to answer it, and ``carepath slots`` asks a dozen times per answer.

@lru_cache(maxsize=64)
def _people_query(therapists: tuple[str, ...] | None, patients: bool,
                  exclude: tuple[int, ...]) -> Executable:
    appointment = AppointmentRow
    keys = [col(appointment.therapist_id)] + ([col(appointment.patient_id)] if patients else [])
    query = core_select(*keys, *_minute_lists(appointment)).where(
        col(appointment.status).in_(sorted(ACTIVE_STATUSES)), *_meeting(appointment))
    if therapists is not None:
        query = query.where(col(appointment.therapist_id).in_(therapists))
    if exclude:
        query = query.where(col(appointment.id).not_in(exclude))
    return query.group_by(*keys)


@lru_cache(maxsize=64)
def _patients_query(patients: tuple[str, ...], exclude: tuple[int, ...]) -> Executable:
    appointment = AppointmentRow
    query = core_select(col(appointment.patient_id), *_minute_lists(appointment)).where(
        col(appointment.status).in_(sorted(ACTIVE_STATUSES)), *_meeting(appointment),
        col(appointment.patient_id).in_(patients))
    if exclude:
        query = query.where(col(appointment.id).not_in(exclude))
    return query.group_by(col(appointment.patient_id))


@lru_cache(maxsize=64)
def _units_query(resources: tuple[str, ...] | None,
                 exclude: tuple[int, ...]) -> Executable:
    booking = ResourceBookingRow
    keys = col(booking.resource_id), col(booking.unit)
    query = core_select(*keys, *_minute_lists(booking)).where(
        col(booking.active).is_(True), *_meeting(booking))
    if resources is not None:
        query = query.where(col(booking.resource_id).in_(resources))
    if exclude:
        query = query.where(col(booking.appointment_id).not_in(exclude))
    return query.group_by(*keys)


def _minute_lists(table: type[AppointmentRow] | type[ResourceBookingRow]
                  ) -> tuple[minutes_of, minutes_of]:
    """The group's start minutes and end minutes, both in the order of the starts."""
    starts, ends = col(table.start_utc), col(table.end_utc)
    return minutes_of(starts, starts, ends), minutes_of(ends, starts, ends)


def _meeting(table: type[AppointmentRow] | type[ResourceBookingRow]
             ) -> tuple[ColumnElement[bool], ...]:
    """Rows whose ``[start_utc, end_utc)`` meets ``[:start, :end)``. The bound on the start
    (``:lookback``, the longest visit earlier) lets the (who, start) index do the work; the
    one on the end is checked inside the index."""
    starts, ends = col(table.start_utc), col(table.end_utc)
    return (starts >= bindparam("lookback"), starts < bindparam("end"),
            ends > bindparam("start"))


_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('carepath.therapist'), hashtext(:id))")


def lock_therapists(session: Session, therapist_ids: Collection[str]) -> None:
    """Hold each therapist's advisory lock until this transaction ends (PostgreSQL only).

    A deadlock between two writers that took their locks in separate steps is reported by
    PostgreSQL (40P01) and becomes ``SlotTaken``: the callers retry on fresh data.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for therapist_id in sorted(set(therapist_ids)):
        try:
            session.connection().execute(_LOCK, {"id": therapist_id})
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in LOST_RACE:
                raise SlotTaken(f"{therapist_id}'s diary") from None
            raise


def guard_bookings(session: Session, app: App,
                   bookings: Collection[tuple[str, datetime, datetime]], what: str) -> None:
    """Lock the therapists of ``bookings`` (therapist, start, end), then refuse any booking
    that falls in leave recorded by a transaction which committed after this one read it."""
    if not bookings or session.get_bind().dialect.name != "postgresql":
        return
    therapists = {therapist for therapist, _start, _end in bookings}
    lock_therapists(session, therapists)
    leave: dict[str, list[TherapistLeaveRow]] = {}
    for row in session.exec(select(TherapistLeaveRow).where(
            col(TherapistLeaveRow.therapist_id).in_(sorted(therapists)))):
        leave.setdefault(row.therapist_id, []).append(row)
    zone = clinic_zone(app)
    for therapist, start, end in bookings:
        first = start.astimezone(zone).date()
        last = (end - timedelta(microseconds=1)).astimezone(zone).date()
        for period in leave.get(therapist, []):
            if period.first_day <= last and first <= period.last_day:
                raise RaceLost(
                    f"{therapist}'s leave {period.first_day} – {period.last_day} was recorded "
                    f"while {what} was being booked; nothing was booked — run the command "
                    "again: it sees the leave now")


def guard_placements(session: Session, app: App, placements: Sequence[Placement],
                     what: str) -> None:
    guard_bookings(session, app, [(p.therapist_id, p.start, p.end) for p in placements], what)


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


@dataclass(frozen=True)
class NewBooking:
    """One placement to write with ``insert_placements``."""

    placement: Placement
    patient_id: str
    episode_id: int | None
    seq: int | None = None
    fixed: bool = False


def insert_placements(session: Session, app: App, bookings: Sequence[NewBooking]) -> list[int]:
    """Appointment and resource-booking rows for many placements in two statements (not two
    ORM flushes per visit: a batch or an import is thousands); the new ids, in order.

    Rows go in through SQLAlchemy Core with RETURNING, so SQLite and PostgreSQL hand the
    ids back in one round trip; an overlap a concurrent writer won still raises from
    ``flush_or_taken``'s flush, as with ``save_placement``.
    """
    if not bookings:
        return []
    now, appointments = app.clock.now(), AppointmentRow.__table__  # type: ignore[attr-defined]
    rows = []
    for booking in bookings:
        placement, req = booking.placement, booking.placement.requirement
        rows.append({
            "uid": new_uid(app), "episode_id": booking.episode_id,
            "patient_id": booking.patient_id, "therapist_id": placement.therapist_id,
            "visit_type": req.visit_type, "visit_name": req.name,
            "seq": req.seq if booking.seq is None else booking.seq,
            "start_utc": placement.start, "end_utc": placement.end, "status": "booked",
            "sequence": 0, "fixed": booking.fixed, "caregiver_invited": req.caregiver_invited,
            "window_first": req.earliest, "window_last": req.latest, "created_at": now,
            "updated_at": now})
    session.flush()  # rows the caller added through the ORM (an episode) go first
    ids: list[int] = []
    for chunk in range(0, len(rows), 2000):
        result = session.execute(
            core_insert(appointments).returning(appointments.c.id,
                                                sort_by_parameter_order=True),
            rows[chunk:chunk + 2000])
        ids += [row[0] for row in result]
    units = [{"appointment_id": appointment_id, "resource_id": resource_id, "unit": unit,
              "start_utc": booking.placement.start, "end_utc": booking.placement.end,
              "active": True}
             for appointment_id, booking in zip(ids, bookings, strict=True)
             for resource_id, unit in booking.placement.resources]
    if units:
        session.execute(core_insert(ResourceBookingRow.__table__), units)  # type: ignore[attr-defined]
    return ids


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
