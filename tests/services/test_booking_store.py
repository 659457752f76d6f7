"""Diaries read from the database: the same minutes on SQLite and PostgreSQL, and the
slots offered around them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, ResourceBookingRow
from carepath.domain.scheduling.availability import to_minute
from carepath.services import App
from carepath.services import scheduling as booking
from carepath.services.booking_store import load_busy
from carepath.services.patients import import_patients

MONDAY = date(2027, 3, 1)


def _enrol_three(app: App, config_dir: Path) -> list[AppointmentRow]:
    import_patients(app, config_dir / "demo-patients.csv")
    for patient, pathway in (("MRN1001", "post-relapse"), ("MRN1002", "stable-boosters"),
                             ("MRN1003", "post-relapse")):
        booking.enroll(app, patient, pathway, MONDAY)
    with transaction(app.engine) as session:
        return list(session.exec(select(AppointmentRow)))


def test_load_busy_gives_every_booking_to_the_minute(any_app: App, config_dir: Path) -> None:
    """Each therapist's, patient's and room unit's busy minutes are exactly the bookings'
    (the database computes the minutes; both backends must agree with Python)."""
    rows = _enrol_three(any_app, config_dir)
    start = datetime(2027, 2, 28, tzinfo=UTC)
    with transaction(any_app.engine) as session:
        busy = load_busy(session, start, start + timedelta(weeks=30))
        units = list(session.exec(select(ResourceBookingRow)))
    for row in rows:
        span = [(to_minute(row.start_utc), to_minute(row.end_utc))]
        assert busy.therapist(row.therapist_id).within(*span[0]) == span
        assert busy.patient(row.patient_id).within(*span[0]) == span
    assert units and all(
        busy.unit((u.resource_id, u.unit)).within(to_minute(u.start_utc), to_minute(u.end_utc))
        == [(to_minute(u.start_utc), to_minute(u.end_utc))] for u in units)
    booked = sum(to_minute(r.end_utc) - to_minute(r.start_utc) for r in rows)
    assert sum(busy.load.values()) == booked


def test_load_busy_leaves_out_excluded_and_other_peoples_bookings(any_app: App,
                                                                   config_dir: Path) -> None:
    rows = _enrol_three(any_app, config_dir)
    first = min(rows, key=lambda r: r.start_utc)
    span = (to_minute(first.start_utc), to_minute(first.end_utc))
    others = {r.therapist_id for r in rows} - {first.therapist_id}
    with transaction(any_app.engine) as session:
        without = load_busy(session, first.start_utc, first.end_utc, exclude={first.id or 0})
        someone_else = load_busy(session, first.start_utc, first.end_utc, therapists=others)
    assert not without.therapist(first.therapist_id).overlaps(*span)
    assert not without.patient(first.patient_id).overlaps(*span)
    assert first.therapist_id not in someone_else.therapists


def test_slots_never_overlap_a_booking_on_either_database(any_app: App,
                                                          config_dir: Path) -> None:
    """``carepath slots`` for any qualified therapist over a booked fortnight: no slot meets
    a booking of its therapist, and each is inside the clinic's day."""
    rows = _enrol_three(any_app, config_dir)
    slots = booking.find_slots(any_app, "treatment", pathway_id="post-relapse", limit=200,
                               from_day=MONDAY, horizon_days=14)
    assert len(slots) == 200
    assert slots == sorted(slots, key=lambda s: (s.start, s.therapist_id))
    for slot in slots:
        assert not any(r.therapist_id == slot.therapist_id and r.start_utc < slot.end
                       and slot.start < r.end_utc for r in rows)


def test_load_busy_reads_only_the_patients_named(any_app: App, config_dir: Path) -> None:
    """Scheduling one patient needs every therapist's diary but only that patient's visits."""
    rows = _enrol_three(any_app, config_dir)
    start = datetime(2027, 2, 28, tzinfo=UTC)
    with transaction(any_app.engine) as session:
        busy = load_busy(session, start, start + timedelta(weeks=30), patients=["MRN1002"])
    assert set(busy.patients) == {"MRN1002"}
    mine = [r for r in rows if r.patient_id == "MRN1002"]
    assert all(busy.patient("MRN1002").overlaps(to_minute(r.start_utc), to_minute(r.end_utc))
               for r in mine)
    assert {r.therapist_id for r in rows} <= set(busy.therapists)
