"""Many visits cancelled at once, imported visits, and patients without an address."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import date, datetime
from email import policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from sqlmodel import col, select

from availability import running
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.mail import SmtpOptions, SmtpTransport
from carepath.adapters.tables import AppointmentRow, AuditRow
from carepath.services import App
from carepath.services import scheduling as booking
from carepath.services.lifecycle import report_relapse
from carepath.services.messaging_testing import add_patient_row, book, cancel, weekly
from carepath.services.outbox import OutboxEntry, dispatch, list_outbox, show
from carepath.services.patients import import_patients
from carepath.services.scheduling_io import import_appointments
from carepath.testing import Inbox, smtp_server

NEW_YORK = ZoneInfo("America/New_York")
PATIENT = "ben.garcia@patients.example"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpTransport]]:
    inbox = Inbox()
    with running("aiosmtpd", smtp_server(inbox)) as port:
        yield inbox, SmtpTransport(SmtpOptions(host="127.0.0.1", port=port, security="none",
                                               timeout=5))


@pytest.fixture
def clinic(app: App, config_dir: Path) -> App:
    import_patients(app, config_dir / "demo-patients.csv")
    return app


def since(app: App, before: int) -> list[OutboxEntry]:
    return [e for e in reversed(list_outbox(app)) if e.id > before]


def last_id(app: App) -> int:
    return max((e.id for e in list_outbox(app)), default=0)


def relapse(app: App) -> tuple[list[int], list[OutboxEntry]]:
    """Boosters booked from 1 March; a relapse on 10 March cancels the rest at once."""
    booking.enroll(app, "MRN1002", "stable-boosters", date(2027, 3, 1))
    before = last_id(app)
    app.clock = FixedClock(datetime(2027, 3, 10, 8, 0, tzinfo=NEW_YORK))
    result = report_relapse(app, "MRN1002")
    assert len(result.cancelled_visits) >= 3
    return result.cancelled_visits, since(app, before)


def test_a_relapse_tells_the_patient_once_and_each_therapist_once_per_visit(
        clinic: App) -> None:
    """One summary email to the patient; one METHOD:CANCEL invite per cancelled visit."""
    cancelled, queued = relapse(clinic)
    kinds = [e.kind for e in queued]
    assert kinds.count("invite.cancel") == len(cancelled)
    assert [e.recipient for e in queued if e.kind == "patient.cancelled_many"] == [PATIENT]
    assert "patient.cancelled" not in kinds
    for entry in (e for e in queued if e.kind == "invite.cancel"):
        message = email.message_from_string(show(clinic, entry.id).body, policy=policy.default)
        (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "CANCEL"
        assert len(Calendar.from_ical(part.get_content()).walk("VEVENT")) == 1


def test_the_summary_lists_every_visit_and_cancels_each_in_its_calendar_file(
        clinic: App, smtp: tuple[Inbox, SmtpTransport]) -> None:
    """Delivered over SMTP: every visit in the text, and one iTIP CANCEL per visit, each in
    its own text/calendar part (one UID each, a higher SEQUENCE, STATUS:CANCELLED, the
    patient as ATTENDEE), read the same by a second parser."""
    cancelled, _ = relapse(clinic)
    inbox, transport = smtp
    dispatch(clinic, transport, limit=200)
    (summary,) = [m for m in inbox.to(PATIENT)
                  if "cancel-1.ics" in [p.get_filename() for p in m.iter_attachments()]]
    subject = str(summary["Subject"]).lower()
    assert "cancelled" in subject and "relapse" not in subject and "booster" not in subject
    with transaction(clinic.engine) as session:
        rows = list(session.exec(select(AppointmentRow).where(
            col(AppointmentRow.id).in_(cancelled)).order_by(col(AppointmentRow.start_utc))))
    text = summary.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for row in rows:
        local = row.start_utc.astimezone(NEW_YORK)
        assert f"{local.day} {local:%B %Y}" in text
    parts = [p for p in summary.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert [p.get_filename() for p in parts] == [f"cancel-{n}.ics" for n in
                                                 range(1, len(rows) + 1)]
    events = {}
    for part in parts:
        assert part.get_param("method") == "CANCEL"
        calendar = Calendar.from_ical(part.get_content())
        assert str(calendar["METHOD"]) == "CANCEL"
        (event,) = calendar.walk("VEVENT")
        assert str(event["ATTENDEE"]) == f"mailto:{PATIENT}"
        events[str(event["UID"])] = event
        parsed = vobject.readOne(part.get_content())
        assert parsed.method.value == "CANCEL" and parsed.vevent.uid.value == event["UID"]
    assert set(events) == {r.uid for r in rows}
    for row in rows:
        assert str(events[row.uid]["STATUS"]) == "CANCELLED"
        assert int(events[row.uid]["SEQUENCE"]) == row.sequence >= 1


def test_cancelling_one_visit_still_sends_the_single_cancellation(app: App) -> None:
    """A visit cancelled on its own: the usual email with appointment.ics, not a summary."""
    add_patient_row(app, "MRN1", "Ava Thompson", "ava@patients.example")
    ids = book(app, "MRN1", weekly(datetime(2027, 3, 8, 9, 0, tzinfo=NEW_YORK), 3))
    before = last_id(app)
    cancel(app, ids[1], "cancelled")
    assert [e.kind for e in since(app, before)] == ["invite.cancel", "patient.cancelled"]


def test_imported_visits_invite_therapists_but_send_the_patient_nothing(
        clinic: App, tmp_path: Path) -> None:
    """The patient has them from the previous system; upcoming visits become invites."""
    clinic.clock = FixedClock(datetime(2027, 3, 3, 12, 0, tzinfo=NEW_YORK))
    csv = tmp_path / "previous.csv"
    csv.write_text("patient_id,therapist_id,visit_type,start\n"
                   "MRN1002,alvarez,treatment,2027-03-02T09:00\n"
                   "MRN1002,alvarez,treatment,2027-03-09T09:00\n"
                   "MRN1002,alvarez,treatment,2027-03-16T09:00\n")
    result = import_appointments(clinic, csv)
    assert len(result.imported) == 3
    queued = list(reversed(list_outbox(clinic)))
    assert [(e.kind, e.recipient) for e in queued] == [
        ("invite.request", "m.alvarez@riverside-rehab.example")] * 2  # not the past visit
    assert not any(e.recipient == PATIENT for e in queued)


def skipped(app: App) -> list[dict[str, Any]]:
    with transaction(app.engine) as session:
        rows = session.exec(select(AuditRow).where(AuditRow.action == "message.skipped")
                            .order_by(col(AuditRow.id)))
        return [{"patient": r.entity_id, **json.loads(r.detail)} for r in rows]


def test_a_patient_without_an_email_address_is_on_record_not_skipped_silently(
        app: App) -> None:
    """Schedule and cancellation: nothing queued for the patient, an audit entry says why."""
    add_patient_row(app, "MRN9", "Dana Noaddress")
    ids = book(app, "MRN9", weekly(datetime(2027, 3, 8, 9, 0, tzinfo=NEW_YORK), 2))
    cancel(app, ids[0], "cancelled")
    assert all(not e.kind.startswith("patient.") for e in list_outbox(app))
    assert [(s["patient"], s["reason"]) for s in skipped(app)] == [
        ("MRN9", "patient has no email: schedule not sent"),
        ("MRN9", "patient has no email: cancellation notice not sent")]
    assert skipped(app)[0]["appointments"] == ids
