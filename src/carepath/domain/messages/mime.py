"""Emails as MIME messages: iMIP invites and patient emails, safe against header injection.

The shape every client renders (RFC 6047 §2.4, and what Gmail, Outlook and Apple Mail show
as an invite with Accept buttons *and* a readable body)::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain
    │   ├── text/html
    │   └── text/calendar; method=REQUEST; charset=UTF-8    (invites only)
    └── application/ics attachment (invite.ics, schedule.ics, …)

An email with pictures (the escalation's charts) puts the HTML and its images in a
``multipart/related`` (RFC 2387) in the HTML's place; the HTML shows each image by
``<img src="cid:…">`` (RFC 2392), so nothing is fetched from the network::

    multipart/alternative
    ├── text/plain                      (says in words what the pictures show)
    └── multipart/related; type="text/html"
        ├── text/html
        └── image/png; Content-ID: <chart-1.…@clinic>; inline

The ``method=`` parameter always equals the METHOD inside the calendar (Outlook ignores an
invite where they differ). One iTIP object per email and one email per attendee: ``compose``
takes exactly one recipient and at most one invite.

Headers are built with ``email.headerregistry`` so a display name with quotes, commas or
angle brackets is quoted, never parsed as extra addresses; CR, LF and other control
characters are refused at input (``InputError``), and ``EmailMessage`` refuses them again at
output. The Message-ID is derived from the idempotency key, so a resend after a crash
carries the same Message-ID and receivers can drop the duplicate.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime

from carepath.domain.messages.addresses import address_problem
from carepath.domain.messages.visits import Invite
from carepath.domain.timeutil import to_utc
from carepath.errors import InputError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

MAX_SUBJECT = 200


class _HeaderClasses(HeaderRegistry):
    """The stdlib registry builds a new class for every header it parses (~150 µs each, half
    the cost of composing an email); the class depends only on the header's name, so keep it."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


WIRE = policy.SMTP.clone(header_factory=_HeaderClasses())


@dataclass(frozen=True)
class Mailbox:
    """A recipient or sender; refuses control characters and anything but one plain address."""

    email: str
    name: str = ""

    def __post_init__(self) -> None:
        problem = address_problem(self.email)
        if problem:
            raise InputError("email address", f"{self.email[:60]!r} {problem}",
                             "use the form name@example.org")
        if _CONTROL.search(self.name) or len(self.name) > 200:
            raise InputError("display name", f"{self.name[:60]!r} contains line breaks or "
                             "control characters", "use one line of plain text")

    @property
    def address(self) -> Address:
        user, _, domain = self.email.rpartition("@")
        return Address(display_name=self.name, username=user, domain=domain)

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass(frozen=True)
class Body:
    """The same message as plain text and as HTML (rendered from one context)."""

    text: str
    html: str


@dataclass(frozen=True)
class Attachment:
    """A file: an import file (application/ics), or an iTIP object in its own MIME entity
    (``text/calendar`` with its ``method``, RFC 6047 §2.4)."""

    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "ics"
    method: str = ""


@dataclass(frozen=True)
class InlineImage:
    """A picture the HTML body shows by ``<img src="cid:{content_id}">``."""

    content_id: str  # without the angle brackets
    content: bytes
    filename: str
    subtype: str = "png"


def content_id_for(idempotency_key: str, name: str, domain: str) -> str:
    """A stable, globally unique Content-ID for picture ``name`` of one message."""
    # Short enough that "Content-ID: <…>" stays on one header line for a typical domain.
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16]
    return f"{name}.{digest}@{domain}"


def safe_subject(subject: str) -> str:
    """The subject, or ``InputError`` when it could break out of its header line."""
    if _CONTROL.search(subject) or not subject.strip() or len(subject) > MAX_SUBJECT:
        raise InputError("subject", f"{subject[:60]!r} is empty, too long or has line breaks",
                         "use one line of plain text")
    return subject


def message_id_for(idempotency_key: str, domain: str) -> str:
    """A stable Message-ID: the same key always gives the same id."""
    # 96 bits of the key's hash: unique enough, and short enough that the header is not
    # folded for a typical domain (folding is legal, but log tools often mishandle it).
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:24]
    return f"<{digest}@{domain}>"


def compose(*, sender: Mailbox, to: Mailbox, subject: str, body: Body, idempotency_key: str,
            date: datetime, invite: Invite | None = None,
            attachments: Sequence[Attachment] = (),
            images: Sequence[InlineImage] = ()) -> EmailMessage:
    """One email to one recipient: text + HTML (with its pictures) (+ the invite), then the
    attachments."""
    message = EmailMessage(policy=WIRE)
    message["From"] = sender.address
    message["To"] = to.address
    message["Subject"] = safe_subject(subject)
    message["Date"] = format_datetime(to_utc(date))
    message["Message-ID"] = message_id_for(idempotency_key, sender.domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(body.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(body.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if images:
        _relate(list(message.iter_parts())[-1], images)
    if invite is not None:
        message.add_alternative(invite.ics, maintype="text", subtype="calendar")
        calendar_part = list(message.iter_parts())[-1]
        calendar_part.replace_header(
            "Content-Type", f"text/calendar; method={invite.method}; charset=UTF-8")
        attachments = [Attachment("invite.ics", invite.ics), *attachments]
    if attachments:
        message.make_mixed()
    for attachment in attachments:
        params = {"method": attachment.method, "charset": "UTF-8"} if attachment.method else {}
        message.add_attachment(attachment.content, maintype=attachment.maintype,
                               subtype=attachment.subtype, filename=attachment.filename,
                               params=params)
    _stable_boundaries(message, idempotency_key)
    return message


def _relate(html: MIMEPart, images: Sequence[InlineImage]) -> None:
    """Turn the HTML part into multipart/related: the HTML, then each picture, inline."""
    for image in images:
        if _CONTROL.search(image.content_id + image.filename):
            raise InputError("inline image", f"{image.filename[:60]!r} has control characters",
                             "use one line of plain text")
        html.add_related(image.content, maintype="image", subtype=image.subtype,
                         cid=f"<{image.content_id}>", filename=image.filename,
                         disposition="inline")
    html.set_param("type", "text/html")  # RFC 2387: the root part's type


def _stable_boundaries(message: EmailMessage, idempotency_key: str) -> None:
    """Boundaries derived from the key, so the same message is the same bytes (golden files)."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:24]
    parts = [part for part in message.walk() if part.is_multipart()]
    for depth, part in enumerate(parts):
        part.set_boundary(f"==carepath-{digest}-{depth}==")


def to_bytes(message: EmailMessage) -> bytes:
    """The wire form (CRLF line ends, 7-bit headers): what the outbox stores and sends."""
    return message.as_bytes(policy=WIRE)
