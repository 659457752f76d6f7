"""With the real scheduling service: enrol, move, cancel → .eml and .ics files that parse."""

from __future__ import annotations

import email
import stat
from datetime import date, timedelta
from email import policy
from pathlib import Path

import vobject
from icalendar import Calendar

from carepath.adapters.db import transaction
from carepath.adapters.mail import FolderTransport
from carepath.adapters.tables import AppointmentRow
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.calendars import export_feed
from carepath.services.outbox import dispatch, list_outbox
from carepath.services.patients import add_patient
from carepath.services.scheduling import enroll
from carepath.services.scheduling_changes import cancel, reschedule


def every_calendar_in(folder: Path) -> list[bytes]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.walk():
            if part.get_content_type() in ("text/calendar", "application/ics"):
                found.append(part.get_payload(decode=True))
    return found


def test_booking_moving_and_cancelling_leave_mail_and_calendars_that_parse(
        app: App, tmp_path: Path) -> None:
    """Every .ics, in mail or feed, parses with icalendar and vobject; files are private."""
    add_patient(app, {"id": "MRN1", "name": "Ava Thompson", "email": "ava@patients.example"})
    booked = enroll(app, "MRN1", "post-relapse", date(2027, 3, 8))
    before = list_outbox(app)
    cancel(app, booked.appointment_ids[2], "patient unwell")
    row = _move_somewhere(app, booked.appointment_ids[1:])
    kinds = [e.kind for e in list_outbox(app)[: len(list_outbox(app)) - len(before)]]
    assert {"invite.request", "patient.changed", "invite.cancel", "patient.cancelled"} <= set(
        kinds), kinds
    report = dispatch(app, FolderTransport(app.settings.mail_dir))
    assert report.sent == len(list_outbox(app)) and report.dead == 0
    feed_path = app.settings.calendars_dir / f"{row.therapist_id}.ics"
    export_feed(app, feed_path, therapist_id=row.therapist_id)
    calendars = [*every_calendar_in(app.settings.mail_dir), feed_path.read_bytes()]
    assert len(calendars) > len(booked.appointment_ids)
    for ics in calendars:
        assert Calendar.from_ical(ics).walk("VEVENT")
        assert vobject.readOne(ics.decode("utf-8")).vevent.uid.value
    assert stat.S_IMODE(feed_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(feed_path.parent.stat().st_mode) == 0o700


def _move_somewhere(app: App, ids: list[int]) -> AppointmentRow:
    """The first move the scheduler accepts (rest days and hours decide which)."""
    with transaction(app.engine) as session:
        starts = {i: session.get(AppointmentRow, i).start_utc for i in ids}  # type: ignore[union-attr]
    for appointment_id, start in starts.items():
        for days in (1, -1, 2, 7):
            try:
                return reschedule(app, appointment_id, start + timedelta(days=days))
            except CarepathError:
                continue
    raise AssertionError("no visit could be moved")
