"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1): delivered, retried, dead."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email import policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.mail import Envelope, SmtpOptions, SmtpTransport
from carepath.domain.messages.mime import Body, Mailbox, compose
from carepath.services import App
from carepath.services.outbox import backoff, dispatch, enqueue, show


class Inbox:
    """An aiosmtpd handler that keeps messages and answers with scripted replies."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.data_replies: list[str] = []  # consumed one per DATA; then "250 OK"
        self.rcpt_reply: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted"

    def message_ids(self) -> list[str]:
        return [str(email.message_from_bytes(m, policy=policy.default)["Message-ID"])
                for m in self.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def server(inbox: Inbox, port: int) -> Iterator[Controller]:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller
    controller.stop()


def transport(port: int) -> SmtpTransport:
    return SmtpTransport(SmtpOptions(host="127.0.0.1", port=port, security="none", timeout=5))


def queue(app: App, key: str = "smtp:1") -> int:
    message = compose(sender=Mailbox("scheduling@riverside-rehab.example"),
                      to=Mailbox("ava@patients.example", "Ava Thompson"), subject="Hello",
                      body=Body("Hi\n", "<p>Hi</p>\n"), idempotency_key=key,
                      date=app.clock.now())
    with transaction(app.engine) as session:
        row = enqueue(session, app, message, kind="test", recipient="ava@patients.example",
                      idempotency_key=key)
        assert row.id is not None
        return row.id


def test_a_queued_message_is_delivered_over_smtp(app: App, server: Controller, inbox: Inbox,
                                                 port: int) -> None:
    """The server receives the stored bytes; the row is sent."""
    outbox_id = queue(app)
    assert dispatch(app, transport(port)).sent == 1
    assert inbox.message_ids() == [show(app, outbox_id).message_id]
    assert show(app, outbox_id).status == "sent"


def test_a_server_that_is_down_then_up_gets_the_message_later(
        app: App, inbox: Inbox, port: int, clock: FixedClock) -> None:
    """Connection refused is temporary: the next due dispatch delivers."""
    outbox_id = queue(app)
    first = dispatch(app, transport(port))
    assert first.retrying == 1 and "Connection" in show(app, outbox_id).last_error
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(backoff(1))
        assert dispatch(app, transport(port)).sent == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_a_4xx_reply_is_retried(app: App, server: Controller, inbox: Inbox, port: int,
                                clock: FixedClock) -> None:
    """451 means try later: pending with the reason, then delivered."""
    inbox.data_replies = ["451 4.3.0 Mailbox busy, try later"]
    outbox_id = queue(app)
    assert dispatch(app, transport(port)).retrying == 1
    entry = show(app, outbox_id)
    assert entry.status == "pending" and entry.last_error.startswith("451")
    clock.advance(backoff(1))
    assert dispatch(app, transport(port)).sent == 1
    assert len(inbox.messages) == 1


def test_a_5xx_reply_parks_the_message_as_dead_with_the_reason(
        app: App, server: Controller, inbox: Inbox, port: int) -> None:
    """550 is permanent: dead, with the server's words, never retried."""
    inbox.rcpt_reply = "550 5.1.1 No such mailbox"
    outbox_id = queue(app)
    assert dispatch(app, transport(port)).dead == 1
    entry = show(app, outbox_id)
    assert entry.status == "dead" and "550 5.1.1 No such mailbox" in entry.last_error


class Killed(BaseException):
    """The dispatcher dies right after the server accepted the message."""


class DiesAfterSending(SmtpTransport):
    def send(self, envelope: Envelope, message: bytes) -> None:
        super().send(envelope, message)
        raise Killed


def test_a_dispatcher_killed_between_send_and_mark_resends_with_the_same_message_id(
        app: App, server: Controller, inbox: Inbox, port: int, clock: FixedClock) -> None:
    """Nothing lost: the message arrives again with the same Message-ID."""
    outbox_id = queue(app)
    dying = DiesAfterSending(SmtpOptions(host="127.0.0.1", port=port, timeout=5))
    with pytest.raises(Killed):
        dispatch(app, dying)
    assert show(app, outbox_id).status == "pending"
    clock.advance(backoff(1))
    assert dispatch(app, transport(port)).sent == 1
    ids = inbox.message_ids()
    assert len(ids) == 2 and ids[0] == ids[1] == show(app, outbox_id).message_id
