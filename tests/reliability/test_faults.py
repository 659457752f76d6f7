"""Faults: the dispatcher killed with SIGKILL at random moments, the SMTP server gone and
back, the mail folder unusable. Afterwards nothing is lost, a resent message is the same
message (same Message-ID, same bytes), nothing is doubled and the database is intact."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from fault_workers import dispatcher
from reliability_support import Inbox, count, smtp_server
from sqlalchemy import text
from sqlmodel import select

from availability import running
from bench.load import NOW, open_app, queue_messages
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.mail import FolderTransport, SmtpOptions, SmtpTransport
from carepath.adapters.tables import OutboxRow
from carepath.services import App
from carepath.services.outbox import dispatch

KILLS = int(os.environ.get("CAREPATH_FAULT_KILLS", "50"))


@pytest.fixture
def outbox_app(tmp_path: Path, config_dir: Path) -> Iterator[App]:
    app = open_app(tmp_path / "home", f"sqlite:///{tmp_path}/home/carepath.db", config_dir)
    yield app
    app.engine.dispose()


def _statuses(app: App) -> dict[str, int]:
    with transaction(app.engine) as session:
        rows = session.exec(select(OutboxRow.status)).all()
    found: dict[str, int] = defaultdict(int)
    for status in rows:
        found[status] += 1
    return dict(found)


def _integrity(app: App) -> str:
    with app.engine.connect() as connection:
        return str(connection.execute(text("PRAGMA integrity_check")).scalar())


def _kill_dispatchers(app: App, config_dir: Path, port: int | None, kills: int) -> int:
    """Start a dispatcher ``kills`` times, SIGKILL each at a random moment; the clock moves
    ten minutes per run, so claims left by a killed run fall due again."""
    # forkserver: children fork from a clean, single-threaded server that has imported
    # carepath once (fork from this process would copy the SMTP server's thread)
    ctx, rng = multiprocessing.get_context("forkserver"), random.Random(7)
    ctx.set_forkserver_preload(["fault_workers"])
    killed = 0
    for number in range(kills):
        ready = ctx.Event()
        options = {"home": str(app.settings.home), "config_dir": str(config_dir),
                   "url": app.settings.database_url, "port": port, "stall": 0.004,
                   "now": (NOW + timedelta(minutes=10 * (number + 1))).isoformat()}
        child = ctx.Process(target=dispatcher, args=(options, ready))
        child.start()
        ready.wait(timeout=60)
        child.join(timeout=rng.uniform(0.0, 0.08))
        if child.is_alive():
            os.kill(child.pid or 0, signal.SIGKILL)
            killed += 1
        child.join(timeout=30)
    return killed


@pytest.mark.slow
def test_a_dispatcher_killed_fifty_times_loses_and_doubles_nothing(
    outbox_app: App, config_dir: Path
) -> None:
    """SIGKILL at random points, then one clean run: every message arrived, resends carry
    the same Message-ID and bytes, no message exists twice, the database is intact."""
    queue_messages(outbox_app, 400)
    inbox = Inbox()
    with running("aiosmtpd", smtp_server(inbox)) as port:
        killed = _kill_dispatchers(outbox_app, config_dir, port, KILLS)
        outbox_app.clock = FixedClock(NOW + timedelta(days=1))
        dispatch(outbox_app, SmtpTransport(SmtpOptions("127.0.0.1", port, timeout=10)))
    copies: dict[str, set[bytes]] = defaultdict(set)
    for message in inbox.messages:
        copies[str(message_from_bytes(message)["Message-ID"])].add(message)
    print(f"faults: {killed} SIGKILLs, {len(inbox.messages)} deliveries of {len(copies)} "
          f"messages ({len(inbox.messages) - len(copies)} resent after a kill)")
    assert killed >= min(KILLS, 50) * 0.8
    assert _statuses(outbox_app) == {"sent": 400}
    assert len(copies) == 400  # none lost
    assert all(len(bodies) == 1 for bodies in copies.values())  # a resend is the same bytes
    assert count(outbox_app, OutboxRow) == 400  # nothing queued twice
    assert _integrity(outbox_app) == "ok"


@pytest.mark.slow
def test_a_folder_dispatcher_killed_mid_write_leaves_one_whole_file_per_message(
    outbox_app: App, config_dir: Path
) -> None:
    """Killed while writing .eml files: afterwards exactly one complete file per message,
    and no half-written file that looks like a message."""
    queue_messages(outbox_app, 120)
    _kill_dispatchers(outbox_app, config_dir, None, max(KILLS // 5, 10))
    outbox_app.clock = FixedClock(NOW + timedelta(days=1))
    dispatch(outbox_app, FolderTransport(outbox_app.settings.mail_dir))
    files = sorted(outbox_app.settings.mail_dir.glob("*.eml"))
    complete = [f for f in files if not f.name.startswith(".")]
    ids = {str(message_from_bytes(f.read_bytes())["Message-ID"]) for f in complete}
    assert len(complete) == 120 and len(ids) == 120
    assert _statuses(outbox_app) == {"sent": 120}
    assert _integrity(outbox_app) == "ok"


def test_smtp_going_away_mid_run_waits_then_resumes(outbox_app: App) -> None:
    """With the server down, messages stay pending (retry later); when it is back and the
    backoff has passed, every one is delivered exactly once."""
    queue_messages(outbox_app, 30)
    inbox = Inbox()
    with running("aiosmtpd", smtp_server(inbox)) as port:
        transport = SmtpTransport(SmtpOptions("127.0.0.1", port, timeout=5))
        first = dispatch(outbox_app, transport, limit=10)
    down = dispatch(outbox_app, transport)  # the server is gone
    assert (first.sent, down.sent, down.retrying) == (10, 0, 20)
    assert _statuses(outbox_app) == {"sent": 10, "pending": 20}
    with smtp_server(inbox, port=port):  # the same server back: part of the test
        early = dispatch(outbox_app, transport)  # still inside the backoff: waits
        outbox_app.clock = FixedClock(NOW + timedelta(minutes=2))
        later = dispatch(outbox_app, transport)
    assert (early.sent, later.sent) == (0, 20)
    assert sorted(inbox.message_ids()) == sorted({*inbox.message_ids()}) and \
        len(inbox.messages) == 30


def test_an_unusable_mail_folder_is_a_clear_error_and_the_message_stays_pending(
    outbox_app: App,
) -> None:
    """A file where the mail folder should be: dispatch says why, nothing is lost."""
    queue_messages(outbox_app, 3)
    outbox_app.settings.mail_dir.parent.mkdir(parents=True, exist_ok=True)
    outbox_app.settings.mail_dir.write_text("not a folder")
    report = dispatch(outbox_app, FolderTransport(outbox_app.settings.mail_dir))
    assert (report.sent, report.retrying) == (0, 3)
    assert all("mail" in error and "File exists" in error or "Not a directory" in error
               for error in report.errors), report.errors
    with transaction(outbox_app.engine) as session:
        rows = session.exec(select(OutboxRow)).all()
    assert {row.status for row in rows} == {"pending"} and all(row.last_error for row in rows)
