"""Writing a message to the outbox, in the caller's transaction.

What the message composers (``notify``, ``notify_escalations``) need of the outbox, apart
from sending it (``carepath.services.outbox``), so the outbox can compose deferred messages
before it sends without the two importing each other.
"""

from __future__ import annotations

from email.message import EmailMessage

from sqlmodel import Session, select

from carepath.adapters.tables import OutboxRow
from carepath.domain.messages.mime import to_bytes
from carepath.services import App


def enqueue(session: Session, app: App, message: EmailMessage, *, kind: str, recipient: str,
            idempotency_key: str) -> OutboxRow:
    """Queue ``message`` in the caller's transaction; the same key twice returns the first row."""
    existing = find(session, idempotency_key)
    if existing is not None:
        return existing
    now = app.clock.now()
    row = OutboxRow(
        idempotency_key=idempotency_key, message_id=str(message["Message-ID"]), kind=kind,
        recipient=recipient, subject=str(message["Subject"])[:300],
        body=to_bytes(message).decode("utf-8"), status="pending", attempts=0,
        next_attempt_at=now, created_at=now)
    session.add(row)
    session.flush()
    return row


def find(session: Session, idempotency_key: str) -> OutboxRow | None:
    return session.exec(
        select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)).first()
