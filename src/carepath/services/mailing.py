"""What every notifier shares: the checked templates, idempotency keys, safe recipients and
the sender. ``notify`` (visits) and ``notify_escalations`` (escalations) build on these.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from carepath.adapters.templates import EmailTemplates
from carepath.config.resources import templates_dir
from carepath.domain.messages.letters import idempotency_key
from carepath.domain.messages.mime import Mailbox
from carepath.domain.messages.visits import CalendarStyle
from carepath.errors import InputError
from carepath.services import App

__all__ = ["addressable", "idempotency_key", "sender_of", "templates"]



@lru_cache(maxsize=4)
def templates(folder: Path | None = None) -> EmailTemplates:
    """The checked templates, compiled once per process (per folder)."""
    return EmailTemplates(folder or templates_dir())


def addressable(session: Session, app: App, email: str, name: str, *,
                kind: str) -> Mailbox | None:
    """The recipient's mailbox, or None when the address cannot be used safely.

    A booking never fails because one email cannot be written: the skip is audited (who,
    which message, why) and the change commits.
    """
    try:
        return Mailbox(email, name)
    except InputError as error:
        app.audit(session, "message.skipped", "outbox", kind, recipient=email[:254],
                  reason=str(error))
        return None


def sender_of(style: CalendarStyle) -> Mailbox:
    return Mailbox(style.organizer_email, style.clinic_name)

