"""The outbox: every message is written with the change that causes it, and sent later.

A message's life, as a table::

    pending ──sent──────────────────────────▶ sent
    pending ──temporary failure──▶ pending   (attempts + 1, next try after a backoff)
    pending ──permanent failure, or too many attempts──▶ dead   (with the reason)
    dead / sent ──retry (an admin)──▶ pending

``dispatch`` *claims* a due message before sending it: one short transaction counts the
attempt and moves ``next_attempt_at`` forward by the backoff. Then it sends, then it marks
the message sent. A crash between sending and marking leaves the message pending; when the
claim runs out it is sent again, with the same bytes and so the same Message-ID (receivers
drop the duplicate). Nothing is ever lost, and two dispatchers never send one message at
the same moment (the claim is a write transaction: SQLite's BEGIN IMMEDIATE, PostgreSQL's
``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.mail import Envelope, Transport
from carepath.adapters.tables import OutboxRow
from carepath.errors import DeliveryFailed, InvalidTransition, NotFound
from carepath.services import App
from carepath.services.notify import compose_pending, queue_due_reminders
from carepath.services.outbox_queue import enqueue, find

# enqueue and find live in ``outbox_queue``, the reminder sweep in ``notify``: kept here too
__all__ = ["DispatchReport", "OutboxEntry", "backoff", "dispatch", "enqueue", "find",
           "list_outbox", "queue_due_reminders", "retry", "retry_dead", "show"]

FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class OutboxEntry:
    """One queued message as an admin sees it (``body`` is the whole MIME message)."""

    id: int
    kind: str
    recipient: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    message_id: str
    idempotency_key: str
    created_at: datetime
    sent_at: datetime | None
    body: str = ""


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th try: 1, 2, 4, 8 … minutes, at most six hours."""
    wait: timedelta = FIRST_BACKOFF * 2 ** max(attempts - 1, 0)
    return min(wait, MAX_BACKOFF)


def dispatch(app: App, transport: Transport, *, limit: int | None = None,
             partition: tuple[int, int] | None = None) -> DispatchReport:
    """Send every due pending message (at most ``limit``); retry later or park as dead.
    Messages of deferred bookings (batch enrolment, import) are composed first.

    ``partition`` (index, count) sends only the messages whose id is ``index`` modulo
    ``count``: one share of a sweep fanned out over several workers."""
    compose_pending(app)
    report = DispatchReport()
    while limit is None or report.sent + report.retrying + report.dead < limit:
        claimed = _claim_next(app, partition)
        if claimed is None:
            break
        try:
            transport.send(claimed.envelope, claimed.message)
        except DeliveryFailed as failure:
            _record_failure(app, claimed, failure, report)
            continue
        _mark_sent(app, claimed, report)
    return report


@dataclass(frozen=True)
class _Claim:
    outbox_id: int
    envelope: Envelope
    message: bytes


def _claim_next(app: App, partition: tuple[int, int] | None = None) -> _Claim | None:
    now = app.clock.now()
    with transaction(app.engine) as session:
        query = (select(OutboxRow)
                 .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now)
                 .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id)).limit(1))
        if partition is not None:
            index, count = partition
            query = query.where(col(OutboxRow.id) % count == index)
        if app.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.exec(query).first()
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + backoff(row.attempts)
        session.add(row)
        assert row.id is not None
        sender = app.config.clinic.organizer_email
        envelope = Envelope(sender, row.recipient, row.message_id)
        return _Claim(row.id, envelope, row.body.encode("utf-8"))


def _claimed_row(session: Session, claim: _Claim) -> OutboxRow:
    row = session.get(OutboxRow, claim.outbox_id)
    if row is None:  # deleted by hand while we were sending
        raise NotFound("outbox message", claim.outbox_id)
    return row


def _mark_sent(app: App, claim: _Claim, report: DispatchReport) -> None:
    with transaction(app.engine) as session:
        row = _claimed_row(session, claim)
        row.status, row.sent_at, row.last_error = "sent", app.clock.now(), ""
        session.add(row)
    report.sent += 1


def _record_failure(app: App, claim: _Claim, failure: DeliveryFailed,
                    report: DispatchReport) -> None:
    envelope = claim.envelope
    with transaction(app.engine) as session:
        row = _claimed_row(session, claim)
        row.last_error = failure.reason[:1000]
        if failure.permanent or row.attempts >= MAX_ATTEMPTS:
            row.status = "dead"
            report.dead += 1
            app.audit(session, "outbox.dead", "outbox", row.id, reason=failure.reason,
                      attempts=row.attempts)
        else:
            report.retrying += 1
        session.add(row)
    report.errors.append(f"{envelope.recipient}: {failure.reason}")


def retry(app: App, outbox_id: int) -> OutboxEntry:
    """Put a dead (or sent) message back in the queue, due now, with a fresh set of attempts."""
    with transaction(app.engine) as session:
        row = session.get(OutboxRow, outbox_id)
        if row is None:
            raise NotFound("outbox message", outbox_id, "see: carepath outbox list")
        if row.status == "pending":
            raise InvalidTransition("outbox message", outbox_id, "pending", "pending again")
        previous = row.status
        row.status, row.attempts, row.next_attempt_at = "pending", 0, app.clock.now()
        session.add(row)
        app.audit(session, "outbox.retry", "outbox", outbox_id, was=previous)
        return _entry(row, with_body=False)


def retry_dead(app: App) -> int:
    """Queue every dead message again (after fixing what killed them, e.g. a password)."""
    with transaction(app.engine) as session:
        rows = list(session.exec(select(OutboxRow).where(OutboxRow.status == "dead")))
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "pending", 0, app.clock.now()
            session.add(row)
        app.audit(session, "outbox.retry_dead", "outbox", "*", count=len(rows))
    return len(rows)


def list_outbox(app: App, *, status: str | None = None, limit: int = 200) -> list[OutboxEntry]:
    """The newest messages first, optionally only those with ``status`` (messages of
    deferred bookings are composed first, so the list shows everything queued)."""
    compose_pending(app)
    with transaction(app.engine) as session:
        query = select(OutboxRow).order_by(col(OutboxRow.id).desc()).limit(limit)
        if status:
            query = query.where(OutboxRow.status == status)
        return [_entry(row, with_body=False) for row in session.exec(query)]


def show(app: App, outbox_id: int) -> OutboxEntry:
    with transaction(app.engine) as session:
        row = session.get(OutboxRow, outbox_id)
        if row is None:
            raise NotFound("outbox message", outbox_id, "see: carepath outbox list")
        return _entry(row, with_body=True)


def _entry(row: OutboxRow, *, with_body: bool) -> OutboxEntry:
    assert row.id is not None
    return OutboxEntry(
        id=row.id, kind=row.kind, recipient=row.recipient, subject=row.subject,
        status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
        last_error=row.last_error, message_id=row.message_id,
        idempotency_key=row.idempotency_key, created_at=row.created_at, sent_at=row.sent_at,
        body=row.body if with_body else "")
