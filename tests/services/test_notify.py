"""Booking, moving and cancelling visits queue the right messages in the same transaction."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, AuditRow, PatientRow
from carepath.services import App
from carepath.services.events import AppointmentCancelled, AppointmentsBooked, publish
from carepath.services.messaging_testing import (
    PlannedVisit,
    add_patient_row,
    book,
    cancel,
    reschedule,
    weekly,
)
from carepath.services.outbox import list_outbox, show

NY = ZoneInfo("America/New_York")
MONDAY_9 = datetime(2027, 3, 8, 9, 0, tzinfo=NY)
REVIEW = PlannedVisit(datetime(2027, 3, 30, 10, 0, tzinfo=NY), "okafor", "review")


def kinds(app: App) -> list[tuple[str, str]]:
    return [(e.kind, e.recipient) for e in reversed(list_outbox(app))]


def mime(app: App, outbox_id: int) -> EmailMessage:
    message = email.message_from_string(show(app, outbox_id).body, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def calendar_of(message: EmailMessage, filename: str) -> Calendar:
    (part,) = [p for p in message.iter_attachments() if p.get_filename() == filename]
    return Calendar.from_ical(part.get_content())


@pytest.fixture
def patient(app: App) -> str:
    add_patient_row(app, "MRN1", "Ava Thompson", "ava@patients.example",
                    caregiver_email="family@patients.example", consent=True)
    return "MRN1"


def test_enrolment_queues_one_invite_per_visit_and_one_schedule_email(
        app: App, patient: str) -> None:
    """Per-visit invites (the default) to the therapist; the schedule to the patient."""
    book(app, patient, weekly(MONDAY_9, 3))
    assert kinds(app) == [("invite.request", "m.alvarez@riverside-rehab.example")] * 3 + [
        ("patient.schedule", "ava@patients.example")]


def test_the_schedule_email_attaches_every_visit_with_alarms(app: App, patient: str) -> None:
    """schedule.ics holds each visit, each with a DISPLAY alarm."""
    book(app, patient, weekly(MONDAY_9, 3))
    schedule = next(e for e in list_outbox(app) if e.kind == "patient.schedule")
    ics = calendar_of(mime(app, schedule.id), "schedule.ics")
    events = ics.walk("VEVENT")
    assert len(events) == 3 and all(e.walk("VALARM") for e in events)
    assert [str(a["ACTION"]) for e in events for a in e.walk("VALARM")] == ["DISPLAY"] * 3


def test_a_digest_clinic_sends_one_email_per_therapist_at_enrolment(
        app: App, patient: str) -> None:
    """new_episode_invites: digest → one email with episode.ics, not one invite per visit."""
    clinic = app.config.clinic.model_copy(update={"new_episode_invites": "digest"})
    app.config = app.config.model_copy(update={"clinic": clinic})
    ids = book(app, patient, weekly(MONDAY_9, 3))
    assert kinds(app)[0] == ("invite.digest", "m.alvarez@riverside-rehab.example")
    assert [k for k, _ in kinds(app)].count("invite.request") == 0
    reschedule(app, ids[0], datetime(2027, 3, 9, 9, 0, tzinfo=NY))
    assert ("invite.request", "m.alvarez@riverside-rehab.example") in kinds(app)


def test_a_caregiver_with_consent_gets_only_the_caregiver_visits(app: App, patient: str) -> None:
    """In a clinic that invites the caregiver to the evaluation, the caregiver's copy lists
    the evaluation, not the treatment sessions."""
    pathway = app.config.pathways["post-relapse"]
    evaluation = pathway.visit_types["evaluation"].model_copy(
        update={"caregiver_invited": True})
    invited = pathway.model_copy(update={"visit_types": {
        **pathway.visit_types, "evaluation": evaluation}})
    app.config = app.config.model_copy(update={"pathways": {
        **app.config.pathways, "post-relapse": invited}})
    book(app, patient, [PlannedVisit(MONDAY_9, visit_type="evaluation"),
                        *weekly(MONDAY_9 + timedelta(days=2), 2)])
    (copy,) = [e for e in list_outbox(app) if e.kind == "caregiver.schedule"]
    assert copy.recipient == "family@patients.example"
    assert len(calendar_of(mime(app, copy.id), "schedule.ics").walk("VEVENT")) == 1


def test_no_caregiver_copy_without_consent(app: App) -> None:
    """Without consent the caregiver hears nothing."""
    add_patient_row(app, "MRN2", "Ben Garcia", "ben@patients.example",
                    caregiver_email="family@patients.example", consent=False)
    book(app, "MRN2", [REVIEW])
    assert all(not k.startswith("caregiver") for k, _ in kinds(app))


def test_moving_a_visit_sends_a_request_with_a_higher_sequence_and_a_changed_email(
        app: App, patient: str) -> None:
    """Same UID, SEQUENCE up, METHOD:REQUEST; the patient hears the new and the old time."""
    ids = book(app, patient, weekly(MONDAY_9, 2))
    reschedule(app, ids[0], datetime(2027, 3, 9, 14, 0, tzinfo=NY))
    entries = list(reversed(list_outbox(app)))
    first, update = entries[0], entries[-2]
    assert update.kind == "invite.request"
    old = calendar_of(mime(app, first.id), "invite.ics").walk("VEVENT")[0]
    new = calendar_of(mime(app, update.id), "invite.ics").walk("VEVENT")[0]
    assert new["UID"] == old["UID"] and int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    changed = mime(app, entries[-1].id)
    text = changed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Tuesday 9 March 2027, 2:00 PM" in text and "Monday 8 March 2027, 9:00 AM" in text
    assert "therapist for this visit" not in text


def test_a_visit_handed_to_another_therapist_cancels_for_one_and_invites_the_other(
        app: App, patient: str) -> None:
    """Previous therapist: CANCEL; new therapist: REQUEST; both with the same UID."""
    ids = book(app, patient, weekly(MONDAY_9, 1))
    reschedule(app, ids[0], MONDAY_9, therapist_id="chen")
    assert kinds(app)[-3:] == [("invite.cancel", "m.alvarez@riverside-rehab.example"),
                               ("invite.request", "d.chen@riverside-rehab.example"),
                               ("patient.changed", "ava@patients.example")]


def test_cancelling_sends_cancel_and_a_patient_email_with_the_cancelled_object(
        app: App, patient: str) -> None:
    """METHOD:CANCEL to the therapist, and to the patient too: an iMIP CANCEL for the UID the
    schedule gave them, SEQUENCE up, the clinic as ORGANIZER and the patient as ATTENDEE."""
    ids = book(app, patient, weekly(MONDAY_9, 2))
    cancel(app, ids[1], "cancelled")
    entries = list(reversed(list_outbox(app)))
    invite, notice = entries[-2], entries[-1]
    assert (invite.kind, notice.kind) == ("invite.cancel", "patient.cancelled")
    cancelled = mime(app, invite.id)
    assert "method=CANCEL" in cancelled.as_string().replace('"', "")
    message = mime(app, notice.id)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "CANCEL"
    calendar = calendar_of(message, "invite.ics")
    assert str(calendar["METHOD"]) == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    schedule = next(e for e in entries if e.kind == "patient.schedule")
    booked = [e for e in calendar_of(mime(app, schedule.id), "schedule.ics").walk("VEVENT")
              if e["UID"] == event["UID"]]
    assert len(booked) == 1 and int(event["SEQUENCE"]) > int(booked[0]["SEQUENCE"])
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["ORGANIZER"]) == str(booked[0]["ORGANIZER"]) == \
        "mailto:scheduling@riverside-rehab.example"
    assert str(event["ATTENDEE"]) == str(booked[0]["ATTENDEE"]) == "mailto:ava@patients.example"


def test_publishing_the_same_booking_twice_queues_nothing_new(app: App, patient: str) -> None:
    """Idempotency keys: the same change never queues twice."""
    ids = book(app, patient, weekly(MONDAY_9, 2))
    before = len(list_outbox(app))
    with transaction(app.engine) as session:
        publish(session, app, AppointmentsBooked(tuple(ids), None, "enrolment"))
    assert len(list_outbox(app)) == before, kinds(app)


def test_a_booking_that_rolls_back_leaves_no_message(app: App, patient: str) -> None:
    """Messages commit or roll back with the booking that caused them."""
    ids = book(app, patient, weekly(MONDAY_9, 1))
    before = len(list_outbox(app))
    with pytest.raises(RuntimeError), transaction(app.engine) as session:
        row = session.get(AppointmentRow, ids[0])
        assert row is not None
        row.status, row.sequence = "cancelled", row.sequence + 1
        session.add(row)
        publish(session, app, AppointmentCancelled(ids[0]))
        raise RuntimeError("the booking failed after the event")
    assert len(list_outbox(app)) == before


def test_subjects_carry_no_clinical_detail(app: App, patient: str) -> None:
    """No visit type, no diagnosis in any subject line."""
    ids = book(app, patient, weekly(MONDAY_9, 2))
    add_patient_row(app, "MRN2", "Ben Garcia", "ben@patients.example",
                    caregiver_email="family@patients.example", consent=True)
    (review,) = book(app, "MRN2", [REVIEW])
    reschedule(app, ids[0], datetime(2027, 3, 9, 9, 0, tzinfo=NY))
    cancel(app, ids[1], "cancelled")
    cancel(app, review, "cancelled")
    for entry in list_outbox(app):
        lowered = entry.subject.lower()
        assert "treatment" not in lowered and "review" not in lowered
        assert "sclerosis" not in lowered and "relapse" not in lowered


def test_an_address_that_cannot_be_used_skips_that_email_but_keeps_the_booking(
        app: App) -> None:
    """A stored address carepath cannot write safely is audited and skipped; visits stay."""
    now = app.clock.now()  # an address stored before addresses were checked: written as a row
    with transaction(app.engine) as session:
        session.add(PatientRow(id="MRN3", name="Cara Lee", email="cara:lee@patients.example",
                               created_at=now, updated_at=now))
    ids = book(app, "MRN3", weekly(MONDAY_9, 1))
    assert len(ids) == 1
    assert [k for k, _ in kinds(app)] == ["invite.request"]
    with transaction(app.engine) as session:
        skipped = list(session.exec(select(AuditRow).where(AuditRow.action == "message.skipped")))
    assert len(skipped) == 1 and "cara:lee@patients.example" in skipped[0].detail


def test_a_new_therapist_at_the_same_time_is_told_as_such_to_the_patient(
        app: App, patient: str) -> None:
    """Only the therapist changed: the email says who, and no new time."""
    ids = book(app, patient, weekly(MONDAY_9, 1))
    reschedule(app, ids[0], MONDAY_9, therapist_id="chen")
    changed = next(e for e in list_outbox(app) if e.kind == "patient.changed")
    text = mime(app, changed.id).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "now David Chen (it was Maria Alvarez)" in text and "NEW TIME" not in text


def test_a_visit_moved_to_a_colleague_and_a_new_time_cancels_the_old_time_for_the_old_one(
        app: App, patient: str) -> None:
    """Alvarez's CANCEL describes her Monday 9:00 visit (DTSTART, subject, body); Chen's
    REQUEST and the patient's REQUEST carry Tuesday 14:00, all with one UID and SEQUENCE."""
    ids = book(app, patient, weekly(MONDAY_9, 1))
    reschedule(app, ids[0], datetime(2027, 3, 9, 14, 0, tzinfo=NY), therapist_id="chen")
    entries = list(reversed(list_outbox(app)))[-3:]
    assert [e.kind for e in entries] == ["invite.cancel", "invite.request", "patient.changed"]
    events = [calendar_of(mime(app, e.id), "invite.ics").walk("VEVENT")[0] for e in entries]
    assert [e.start.astimezone(NY) for e in events] == [
        MONDAY_9, datetime(2027, 3, 9, 14, 0, tzinfo=NY), datetime(2027, 3, 9, 14, 0, tzinfo=NY)]
    assert len({str(e["UID"]) for e in events}) == 1
    assert [int(e["SEQUENCE"]) for e in events] == [1, 1, 1]
    assert [str(e["ATTENDEE"]) for e in events] == [
        "mailto:m.alvarez@riverside-rehab.example", "mailto:d.chen@riverside-rehab.example",
        "mailto:ava@patients.example"]
    cancel_mail = mime(app, entries[0].id)
    assert "8 March 2027 9:00 AM" in str(cancel_mail["Subject"])
    text = cancel_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Monday 8 March 2027, 9:00 AM" in text and "now with David Chen" in text
    assert "9 March" not in text
    patient_mail = mime(app, entries[2].id)
    (part,) = [p for p in patient_mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
