"""What a moved or cancelled visit sends: patient updates that apply by UID, and CANCELs that
describe the event being cancelled. Golden files pin each CANCEL (tests/golden)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import vobject
from icalendar import Calendar
from invite_samples import NY, STAMP, golden, make_style, make_visit

from carepath.adapters.templates import EmailTemplates
from carepath.domain.config.models import Config
from carepath.domain.messages import letters
from carepath.domain.messages.mime import Mailbox, compose, to_bytes
from carepath.domain.messages.notices import Recipient
from carepath.domain.messages.visits import CalendarVisit

PATIENT = Recipient("jane@patients.example", "Jane Q. Doe")
CAREGIVER = Recipient("family@patients.example", "", "caregiver")


@pytest.fixture(scope="module")
def render() -> letters.Render:
    return EmailTemplates().render


def sealed(draft: letters.Draft, config: Config) -> bytes:
    """The draft as the outbox stores it (fixed date and key: the same bytes every time)."""
    sender = Mailbox(config.clinic.organizer_email, config.clinic.name)
    return to_bytes(compose(sender=sender, to=Mailbox(draft.to_email, draft.to_name),
                            subject=draft.subject, body=draft.body, idempotency_key=draft.key,
                            date=STAMP, invite=draft.invite, attachments=draft.attachments))


def event_of(ics: bytes) -> tuple[str, object]:
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return str(calendar.get("METHOD", "")), event


def handed_to_chen(config: Config) -> tuple[CalendarVisit, CalendarVisit]:
    """Alvarez's Wednesday 9:00 visit, moved to David Chen on Thursday 14:00 (SEQUENCE 1)."""
    before = make_visit(config)
    chen = config.therapist("chen")
    start = datetime(2027, 3, 11, 14, 0, tzinfo=NY)
    after = replace(before, therapist=chen, appointment=replace(
        before.appointment, start=start, end=start + timedelta(minutes=45),
        therapist_id="chen", sequence=1))
    return after, before


def test_a_visit_handed_to_a_colleague_cancels_the_old_time_for_the_old_therapist(
        config: Config, render: letters.Render) -> None:
    """The previous therapist's CANCEL carries their time (Wednesday 9:00), their address and
    the new SEQUENCE, in the iCal object, the subject and both bodies."""
    after, before = handed_to_chen(config)
    draft = letters.therapist_invite(letters.handed_over(after, before), make_style(config),
                                     render, stamp=STAMP, reason="rescheduled",
                                     handed_to="David Chen")
    assert draft.invite is not None and draft.kind == "invite.cancel"
    method, event = event_of(draft.invite.ics)
    assert method == "CANCEL" and str(event["STATUS"]) == "CANCELLED"  # type: ignore[index]
    assert event.start == datetime(2027, 3, 10, 9, 0, tzinfo=NY)  # type: ignore[attr-defined]
    assert int(event["SEQUENCE"]) == 1  # type: ignore[index]
    assert str(event["ATTENDEE"]) == "mailto:m.alvarez@riverside-rehab.example"  # type: ignore[index]
    assert draft.to_email == "m.alvarez@riverside-rehab.example"
    assert "10 March 2027 9:00 AM" in draft.subject and "David Chen" in draft.subject
    for text in (draft.body.text, draft.body.html):
        assert "10 March 2027" in text and "9:00 AM" in text and "now with David Chen" in text
        assert "11 March" not in text and "2:00 PM" not in text
    golden("invite_cancel_handed_over.ics", draft.invite.ics)
    golden("invite_cancel_handed_over.eml", sealed(draft, config))


def test_a_plain_cancellation_email_matches_its_golden_file(
        config: Config, render: letters.Render) -> None:
    """The therapist's CANCEL of a cancelled visit: its own time, subject and body."""
    cancelled = make_visit(config, status="cancelled", sequence=1)
    draft = letters.therapist_invite(cancelled, make_style(config), render, stamp=STAMP,
                                     reason="cancelled by the patient")
    assert draft.subject == "Cancelled: appointment 10 March 2027 9:00 AM (J.Q.D.)"
    golden("invite_cancel.eml", sealed(draft, config))


def test_a_patient_change_is_a_request_for_the_event_the_schedule_gave_them(
        config: Config, render: letters.Render) -> None:
    """Schedule then change: same UID, SEQUENCE up, METHOD:REQUEST, the same ORGANIZER and
    ATTENDEE (RSVP=FALSE) in both, as three parsers (icalendar, vobject, ours) read them."""
    style = make_style(config)
    after, before = handed_to_chen(config)
    schedule = letters.patient_schedule([before], style, PATIENT, render, stamp=STAMP)
    changed = letters.patient_changed(after, before, style, PATIENT, render, stamp=STAMP)
    (attachment,) = schedule.attachments
    assert b"METHOD" not in attachment.content  # an import: a snapshot, no transaction
    _, imported = event_of(attachment.content)
    assert changed.invite is not None and changed.invite.method == "REQUEST"
    method, update = event_of(changed.invite.ics)
    assert method == "REQUEST"
    for field in ("UID", "ORGANIZER", "ATTENDEE"):
        assert str(update[field]) == str(imported[field]), field  # type: ignore[index]
    assert int(update["SEQUENCE"]) > int(imported["SEQUENCE"])  # type: ignore[index]
    attendee = update["ATTENDEE"]  # type: ignore[index]
    assert str(attendee) == "mailto:jane@patients.example"
    assert attendee.params["RSVP"] == "FALSE" and attendee.params["PARTSTAT"] == "ACCEPTED"
    other = vobject.readOne(changed.invite.ics.decode())
    assert other.method.value == "REQUEST"
    assert other.vevent.uid.value == str(imported["UID"])  # type: ignore[index]
    assert other.vevent.organizer.value == "mailto:scheduling@riverside-rehab.example"
    assert "Ava" not in changed.subject and "Treatment" not in changed.subject


def test_a_patient_cancellation_is_a_cancel_and_matches_its_golden_files(
        config: Config, render: letters.Render) -> None:
    """One cancelled visit: an iMIP CANCEL to the patient, STATUS:CANCELLED, no alarm."""
    cancelled = make_visit(config, status="cancelled", sequence=1)
    draft = letters.patient_cancelled([cancelled], make_style(config), PATIENT, render,
                                      stamp=STAMP)
    assert draft.invite is not None and draft.kind == "patient.cancelled"
    method, event = event_of(draft.invite.ics)
    assert method == "CANCEL" and str(event["STATUS"]) == "CANCELLED"  # type: ignore[index]
    assert not event.walk("VALARM")  # type: ignore[attr-defined]
    assert draft.subject == "Your appointment on Wednesday 10 March 2027 is cancelled"
    golden("patient_cancel.ics", draft.invite.ics)
    golden("patient_cancelled.eml", sealed(draft, config))


def test_many_cancelled_visits_are_one_email_with_one_cancel_each(
        config: Config, render: letters.Render) -> None:
    """Three visits: one email, three text/calendar CANCEL parts, one UID each."""
    visits = [make_visit(config, status="cancelled", sequence=1, uid=f"appt-{n}@riverside",
                         start=datetime(2027, 3, 8 + 2 * n, 9, 0, tzinfo=NY))
              for n in range(3)]
    draft = letters.patient_cancelled(visits, make_style(config), CAREGIVER, render,
                                      stamp=STAMP)
    assert draft.invite is None and draft.kind == "caregiver.cancelled_many"
    assert [a.method for a in draft.attachments] == ["CANCEL"] * 3
    assert [event_of(a.content)[1]["UID"] for a in draft.attachments] == [  # type: ignore[index]
        f"appt-{n}@riverside" for n in range(3)]
    assert draft.subject == "Cancelled: 3 appointments from Monday 8 March 2027 on"
    assert "welcome to come" not in draft.body.text
    golden("caregiver_cancelled_many.eml", sealed(draft, config))
