"""Mail transports: one Protocol, two implementations, picked by ``CAREPATH_MAIL_TRANSPORT``.

- ``folder`` (the embedded default): one ``.eml`` file per message under
  ``$CAREPATH_HOME/mail/``, written to a temp file and renamed into place, so a reader never
  sees half a message; owner-only permissions, because the bodies carry patient names.
  The file name is derived from the Message-ID: a resend after a crash overwrites the same
  file instead of adding a duplicate.
- ``smtp``: STARTTLS, implicit TLS or none; login when a user name is set; timeouts. A 4xx
  reply or a connection failure is temporary (the outbox retries); a 5xx reply is permanent
  (the outbox parks the message as dead with the server's reason).
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from carepath.config.settings import Settings
from carepath.errors import DeliveryFailed


@dataclass(frozen=True)
class Envelope:
    """What a transport needs besides the bytes: who from, who to, which message."""

    sender: str
    recipient: str
    message_id: str


class Transport(Protocol):
    name: str

    def send(self, envelope: Envelope, message: bytes) -> None:
        """Hand one message over, or raise ``DeliveryFailed`` (temporary or permanent)."""
        ...


class FolderTransport:
    """Writes each message as ``<hash of Message-ID>.eml``; the embedded default."""

    name = "folder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, envelope: Envelope, message: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)
            write_private(self.folder / file_name(envelope.message_id), message)
        except OSError as error:
            raise DeliveryFailed(envelope.message_id, self.name, str(error),
                                 permanent=False) from error


def file_name(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:24] + ".eml"


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` atomically (temp file + rename) readable by its owner only."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def private_file(path: Path) -> Iterator[TextIO]:
    """A text file written as it goes and readable by its owner only, put in place
    atomically when the block ends (``write_private`` for content too large to hold)."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        os.chmod(temp, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int
    security: str = "none"  # starttls | tls | none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


class SmtpTransport:
    """Sends through an SMTP server; classifies every failure as temporary or permanent."""

    name = "smtp"

    def __init__(self, options: SmtpOptions, context: ssl.SSLContext | None = None) -> None:
        self.options = options
        self.context = context or ssl.create_default_context()

    def send(self, envelope: Envelope, message: bytes) -> None:
        try:
            with self._connect() as client:
                client.sendmail(envelope.sender, [envelope.recipient], message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            raise self._failed(envelope, code, reason) from error
        except smtplib.SMTPResponseException as error:
            raise self._failed(envelope, error.smtp_code, error.smtp_error) from error
        except (smtplib.SMTPException, OSError) as error:  # TimeoutError is an OSError
            raise DeliveryFailed(envelope.message_id, self.name, f"{type(error).__name__}: "
                                 f"{error}", permanent=False) from error

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        client: smtplib.SMTP
        if o.security == "tls":
            client = smtplib.SMTP_SSL(o.host, o.port, timeout=o.timeout, context=self.context)
        else:
            client = smtplib.SMTP(o.host, o.port, timeout=o.timeout)
        try:
            client.ehlo()
            if o.security == "starttls":
                client.starttls(context=self.context)
                client.ehlo()
            if o.username:
                client.login(o.username, o.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _failed(self, envelope: Envelope, code: int, reason: bytes | str) -> DeliveryFailed:
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        return DeliveryFailed(envelope.message_id, self.name, f"{code} {text}",
                              permanent=500 <= code < 600)


def make_transport(settings: Settings) -> Transport:
    """The transport ``CAREPATH_MAIL_TRANSPORT`` names (``folder`` unless told otherwise)."""
    if settings.mail_transport == "smtp":
        return SmtpTransport(SmtpOptions(
            host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username, password=settings.smtp_password,
            timeout=settings.smtp_timeout))
    return FolderTransport(settings.mail_dir)


class RecordingTransport:
    """A fake that keeps what it is given (tests, demo dry runs); fails on demand."""

    name = "recording"

    def __init__(self, fail_with: DeliveryFailed | None = None) -> None:
        self.sent: list[tuple[Envelope, bytes]] = []
        self.fail_with = fail_with

    def send(self, envelope: Envelope, message: bytes) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((envelope, message))

