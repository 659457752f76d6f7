"""Transports that misbehave on purpose, for fault tests and drills (real code, no mocks).

- ``StallingTransport`` waits before each hand-over, so a process killed "at a random
  moment" is likely to die mid-send, between sending and marking a message sent.
- ``FailingTransport`` fails every n-th message (temporarily, or permanently), the way a
  flaky SMTP relay does.

Both wrap a real transport (``FolderTransport``, ``SmtpTransport``) and keep its name.

- ``postgres_schema(url)`` gives a fresh PostgreSQL schema for a block (dropped after).
- ``smtp_server(Inbox())`` runs a real SMTP server (aiosmtpd, from the test extra) on
  127.0.0.1 for a block; ``Inbox`` keeps every message it accepts.
- ``radicale_server(folder, port)`` runs a real CalDAV server (Radicale, test extra).
- ``serve_process(home, config_dir)`` starts ``carepath serve`` as a child process.
- ``overlapping_bookings(app)`` lists every double booking in the database (0 is the goal).
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine
from sqlmodel import col, select

from carepath.adapters.db import transaction
from carepath.adapters.mail import Envelope, Transport
from carepath.adapters.tables import AppointmentRow, ResourceBookingRow
from carepath.errors import DeliveryFailed

if TYPE_CHECKING:
    from carepath.services import App


@dataclass
class StallingTransport:
    """Sleeps ``seconds`` before every send, then sends through ``inner``."""

    inner: Transport
    seconds: float
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.name = self.inner.name

    def send(self, envelope: Envelope, message: bytes) -> None:
        time.sleep(self.seconds)  # the stall is the fault being simulated
        self.inner.send(envelope, message)


@dataclass
class FailingTransport:
    """Raises ``DeliveryFailed`` on every ``every``-th message; sends the others."""

    inner: Transport
    every: int = 2
    permanent: bool = False
    calls: int = field(default=0, init=False)
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.name = self.inner.name

    def send(self, envelope: Envelope, message: bytes) -> None:
        self.calls += 1
        if self.calls % self.every == 0:
            raise DeliveryFailed(envelope.message_id, self.name, "failing on purpose",
                                 permanent=self.permanent)
        self.inner.send(envelope, message)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (aiosmtpd cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def parsed(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.messages)
        return [message_from_bytes(m, _class=EmailMessage, policy=policy.default) for m in raw]

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose To header names ``address``."""
        return [m for m in self.parsed() if address in str(m["To"])]

    def message_ids(self) -> list[str]:
        return [str(m.get("Message-ID", "")) for m in self.parsed()]


@contextmanager
def smtp_server(handler: Any, port: int | None = None, **options: Any) -> Iterator[int]:
    """A real SMTP server on 127.0.0.1 for the block; yields its port."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema of ``base_url``'s database, dropped after."""
    base = base_url.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema},public"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@contextmanager
def radicale_server(folder: Path, port: int,
                    users: dict[str, str] | None = None) -> Iterator[str]:
    """Radicale on 127.0.0.1:``port``, storing in ``folder``; any user name, rights for all
    (or, with ``users``, only those names with those passwords: an htpasswd file).
    Yields its URL once it listens (its log is read, never slept on)."""
    config = folder / "radicale.conf"
    auth = "type = none"
    if users:
        htpasswd = folder / "users.htpasswd"
        htpasswd.write_text("".join(f"{name}:{word}\n" for name, word in users.items()))
        auth = (f"type = htpasswd\nhtpasswd_filename = {htpasswd}\n"
                "htpasswd_encryption = plain")
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n[auth]\n{auth}\n"
        f"[rights]\ntype = authenticated\n[storage]\nfilesystem_folder = {folder / 'dav'}\n"
        "[logging]\nlevel = info\n")
    process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        _wait_for_line(process, b"Listening on", 60)  # a loaded machine starts it slowly
        # keep reading its log, so a chatty run never blocks it on a full pipe
        threading.Thread(target=_drain, args=(process,), daemon=True).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _drain(process: subprocess.Popen[bytes]) -> None:
    assert process.stderr is not None
    with process.stderr:
        process.stderr.read()


def _wait_for_line(process: subprocess.Popen[bytes], marker: bytes, seconds: float) -> None:
    """Read the child's stderr until ``marker``. Raw reads, not ``readline``: a buffered
    reader can hold the marker while ``select`` waits on an empty pipe."""
    assert process.stderr is not None
    descriptor = process.stderr.fileno()
    selector = selectors.DefaultSelector()
    selector.register(descriptor, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    said = b""
    while time.monotonic() < deadline and selector.select(timeout=deadline - time.monotonic()):
        chunk = os.read(descriptor, 65536)
        said += chunk
        if marker in said:
            return
        if not chunk:
            break
    tail = said.decode(errors="replace").strip().splitlines()[-5:]
    raise RuntimeError(f"Radicale did not start within {seconds:.0f} s; it said: "
                       + ("\n".join(tail) or "nothing"))


def serve_process(home: Path, config_dir: Path, *, output: int = subprocess.DEVNULL,
                  args: tuple[str, ...] = ("--engine", "direct"),
                  env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``carepath serve`` (flows run in-process, mail to a folder) on ``home``'s SQLite
    database, as a child process; its output (stdout and stderr) goes to ``output``.
    ``env`` adds settings (e.g. ``CAREPATH_DISPATCH_SECONDS``) to the inherited ones."""
    full = {**os.environ, "CAREPATH_HOME": str(home), "CAREPATH_CONFIG_DIR": str(config_dir),
            "CAREPATH_MAIL_TRANSPORT": "folder", **(env or {})}
    if not env or "CAREPATH_DATABASE_URL" not in env:
        full.pop("CAREPATH_DATABASE_URL", None)
    return subprocess.Popen([str(Path(sys.executable).with_name("carepath")), "serve", *args],
                            env=full, stdout=output, stderr=subprocess.STDOUT)


def overlapping_bookings(app: App) -> list[str]:
    """Every pair of booked visits sharing a therapist, or active units sharing a unit."""
    with transaction(app.engine) as session:
        visits = session.exec(select(AppointmentRow).where(
            AppointmentRow.status == "booked")).all()
        units = session.exec(select(ResourceBookingRow).where(
            col(ResourceBookingRow.active).is_(True))).all()
    found = [f"{a.therapist_id} {a.start_utc}" for a, b in combinations(visits, 2)
             if a.therapist_id == b.therapist_id and a.start_utc < b.end_utc
             and b.start_utc < a.end_utc]
    found += [f"{a.resource_id}#{a.unit} {a.start_utc}" for a, b in combinations(units, 2)
              if (a.resource_id, a.unit) == (b.resource_id, b.unit)
              and a.start_utc < b.end_utc and b.start_utc < a.end_utc]
    return found
