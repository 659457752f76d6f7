"""The outbox sends each message, retries with backoff, parks failures and never loses one."""

from __future__ import annotations

import email
import stat
from datetime import datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.mail import Envelope, FolderTransport, RecordingTransport
from carepath.domain.messages.mime import Body, Mailbox, compose
from carepath.errors import DeliveryFailed, InvalidTransition
from carepath.services import App
from carepath.services.messaging_testing import add_patient_row, book, reschedule, weekly
from carepath.services.outbox import (
    MAX_ATTEMPTS,
    backoff,
    dispatch,
    enqueue,
    list_outbox,
    queue_due_reminders,
    retry,
    show,
)

NY = ZoneInfo("America/New_York")


@pytest.fixture
def app(any_app: App) -> App:
    """Every test here runs on SQLite and, when configured, on PostgreSQL."""
    return any_app


def queue(app: App, key: str = "test:1", to: str = "ava@patients.example") -> int:
    message = compose(sender=Mailbox("scheduling@riverside-rehab.example"), to=Mailbox(to),
                      subject="Hello", body=Body("Hi\n", "<p>Hi</p>\n"), idempotency_key=key,
                      date=app.clock.now())
    with transaction(app.engine) as session:
        row = enqueue(session, app, message, kind="test", recipient=to, idempotency_key=key)
        assert row.id is not None
        return row.id


class Crash(BaseException):
    """The process dies (kill -9 is not catchable; neither is this by the dispatcher)."""


class CrashAfterSend(RecordingTransport):
    def send(self, envelope: Envelope, message: bytes) -> None:
        super().send(envelope, message)
        raise Crash


def test_the_same_idempotency_key_twice_gives_the_same_row(app: App) -> None:
    """enqueue with a known key returns the existing row; no second message."""
    assert queue(app) == queue(app)
    assert len(list_outbox(app)) == 1


def test_dispatch_sends_due_messages_and_marks_them_sent(app: App) -> None:
    """Every pending message goes out once; a second dispatch sends nothing."""
    queue(app, "a"), queue(app, "b")
    transport = RecordingTransport()
    assert dispatch(app, transport).sent == 2
    assert dispatch(app, transport).sent == 0
    assert [e.status for e in list_outbox(app)] == ["sent", "sent"]
    assert len(transport.sent) == 2


def test_the_folder_transport_writes_owner_only_eml_files(app: App) -> None:
    """One .eml per message under mail/, mode 0600, folder 0700, parseable as MIME."""
    outbox_id = queue(app)
    folder = app.settings.mail_dir
    dispatch(app, FolderTransport(folder))
    (written,) = folder.glob("*.eml")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    parsed = email.message_from_bytes(written.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == show(app, outbox_id).message_id
    assert not list(folder.glob(".tmp-*"))


def test_a_temporary_failure_is_retried_after_an_exponential_backoff(
        app: App, clock: FixedClock) -> None:
    """Not before the backoff has passed; then it is sent."""
    outbox_id = queue(app)
    failing = RecordingTransport(DeliveryFailed("m", "test", "421 try later", permanent=False))
    assert dispatch(app, failing).retrying == 1
    entry = show(app, outbox_id)
    assert (entry.status, entry.attempts, entry.last_error) == ("pending", 1, "421 try later")
    assert entry.next_attempt_at == clock.now() + backoff(1)
    working = RecordingTransport()
    assert dispatch(app, working).sent == 0
    clock.advance(backoff(1))
    assert dispatch(app, working).sent == 1


def test_backoff_doubles_and_is_capped() -> None:
    """1, 2, 4 … minutes, never more than six hours."""
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff(30) == timedelta(hours=6)


def test_a_permanent_failure_parks_the_message_as_dead_with_its_reason(app: App) -> None:
    """A 5xx-like failure is not retried: dead, with the server's words."""
    outbox_id = queue(app)
    failing = RecordingTransport(DeliveryFailed("m", "test", "550 no such user", permanent=True))
    assert dispatch(app, failing).dead == 1
    entry = show(app, outbox_id)
    assert (entry.status, entry.last_error) == ("dead", "550 no such user")


def test_a_message_that_keeps_failing_is_dead_after_the_last_attempt(
        app: App, clock: FixedClock) -> None:
    """Temporary failures stop after MAX_ATTEMPTS."""
    outbox_id = queue(app)
    failing = RecordingTransport(DeliveryFailed("m", "test", "timeout", permanent=False))
    for _ in range(MAX_ATTEMPTS):
        dispatch(app, failing)
        clock.advance(timedelta(hours=7))
    entry = show(app, outbox_id)
    assert (entry.status, entry.attempts) == ("dead", MAX_ATTEMPTS)


def test_retry_puts_a_dead_message_back_and_the_next_dispatch_sends_it(app: App) -> None:
    """An admin's retry: pending, due now, fresh attempts."""
    outbox_id = queue(app)
    dispatch(app, RecordingTransport(DeliveryFailed("m", "t", "550 nope", permanent=True)))
    assert retry(app, outbox_id).status == "pending"
    assert dispatch(app, RecordingTransport()).sent == 1


def test_retrying_a_pending_message_is_refused(app: App) -> None:
    """Only dead or sent messages can be queued again."""
    with pytest.raises(InvalidTransition):
        retry(app, queue(app))


def test_a_crash_between_send_and_mark_resends_with_the_same_message_id(
        app: App, clock: FixedClock) -> None:
    """Nothing is lost: after the claim runs out the same bytes go out again."""
    outbox_id = queue(app)
    crashing = CrashAfterSend()
    with pytest.raises(Crash):
        dispatch(app, crashing)
    assert show(app, outbox_id).status == "pending"
    clock.advance(backoff(1))
    again = RecordingTransport()
    assert dispatch(app, again).sent == 1
    assert again.sent[0][1] == crashing.sent[0][1]
    assert again.sent[0][0].message_id == crashing.sent[0][0].message_id


def test_reminders_are_queued_once_per_visit_within_the_window(
        app: App, clock: FixedClock) -> None:
    """24 h before (the default), once; a second sweep queues nothing."""
    add_patient_row(app, "MRN1", "Ava Thompson", "ava@patients.example")
    book(app, "MRN1", weekly(datetime(2027, 3, 8, 9, 0, tzinfo=NY), 2))
    assert queue_due_reminders(app, now=datetime(2027, 3, 6, 9, 0, tzinfo=NY)) == 0
    assert queue_due_reminders(app, now=datetime(2027, 3, 7, 9, 0, tzinfo=NY)) == 1
    assert queue_due_reminders(app, now=datetime(2027, 3, 7, 12, 0, tzinfo=NY)) == 0
    assert [e.kind for e in list_outbox(app)].count("patient.reminder") == 1


def test_a_rescheduled_visit_gets_a_new_reminder(app: App) -> None:
    """The key is per appointment and start: the new time is reminded again."""
    add_patient_row(app, "MRN1", "Ava Thompson", "ava@patients.example")
    (visit,) = book(app, "MRN1", weekly(datetime(2027, 3, 8, 9, 0, tzinfo=NY), 1))
    assert queue_due_reminders(app, now=datetime(2027, 3, 7, 10, 0, tzinfo=NY)) == 1
    reschedule(app, visit, datetime(2027, 3, 8, 15, 0, tzinfo=NY))
    assert queue_due_reminders(app, now=datetime(2027, 3, 7, 16, 0, tzinfo=NY)) == 1
    assert queue_due_reminders(app, now=datetime(2027, 3, 7, 17, 0, tzinfo=NY)) == 0

