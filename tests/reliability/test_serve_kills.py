"""`carepath serve` SIGKILLed at random moments, again and again: afterwards one reminder per
visit, one mail file per message, no visit or escalation twice, the database intact."""

from __future__ import annotations

import email
import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reliability_support import count
from sqlalchemy import text
from sqlmodel import select

from carepath.adapters.clock import SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EscalationRow, OutboxRow, RunRow
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.services import App
from carepath.services.messaging_testing import PlannedVisit, add_patient_row, book
from carepath.testing import serve_process
from clinic_variants import round_the_clock

KILLS = int(os.environ.get("CAREPATH_SERVE_KILLS", "15"))
THERAPISTS = ("alvarez", "chen", "okafor", "patel", "nguyen", "brooks")


def _dispatch_runs(app: App) -> int:
    with transaction(app.engine) as session:
        return len(session.exec(select(RunRow.id).where(RunRow.flow == "dispatch_outbox")
                                .where(RunRow.status == "succeeded")).all())


def _settled(app: App, runs_before: int) -> bool:
    """The final serve has dispatched at least once, and nothing is left pending."""
    with transaction(app.engine) as session:
        pending = session.exec(select(OutboxRow.id).where(OutboxRow.status == "pending")).all()
    return not pending and _dispatch_runs(app) > runs_before


def _visit(hours: int, therapist: str) -> PlannedVisit:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)
    return PlannedVisit(start=start, therapist_id=therapist)


@pytest.mark.slow
def test_serve_killed_at_random_moments_loses_and_doubles_nothing(
    tmp_path: Path, config_dir: Path
) -> None:
    """Kill -9 at random points while sweeps run; then a clean run: nothing lost or twice."""
    config_dir = round_the_clock(config_dir, tmp_path / "config")  # booked on the wall clock
    home = tmp_path / "home"
    app = open_app(Settings.from_env({"CAREPATH_HOME": str(home),
                                      "CAREPATH_CONFIG_DIR": str(config_dir)}), SystemClock())
    for number, therapist in enumerate(THERAPISTS):
        add_patient_row(app, f"P{number}", f"Pat {number}", f"p{number}@example.org")
        book(app, f"P{number}", [_visit(3 + number, therapist)])
    visits = count(app, AppointmentRow)
    rng = random.Random(3)
    for _ in range(KILLS):
        process = serve_process(home, config_dir)
        time.sleep(rng.uniform(0.2, 2.5))  # the random moment of the kill
        process.send_signal(signal.SIGKILL)
        process.wait()
    runs_before = _dispatch_runs(app)
    final = serve_process(home, config_dir)
    deadline = time.monotonic() + 120
    while not _settled(app, runs_before) and time.monotonic() < deadline \
            and final.poll() is None:
        time.sleep(0.2)
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=120) == 0
    with transaction(app.engine) as session:
        outbox = session.exec(select(OutboxRow)).all()
        integrity = session.exec(text("PRAGMA integrity_check")).scalar()  # type: ignore[call-overload]
    files = Counter(str(email.message_from_bytes(p.read_bytes())["Message-ID"])
                    for p in (home / "mail").glob("*.eml") if not p.name.startswith("."))
    reminders = [row for row in outbox if "reminder" in row.kind]
    print(f"serve: {KILLS} SIGKILLs; {len(outbox)} messages, {len(reminders)} reminders")
    assert count(app, AppointmentRow) == visits
    assert count(app, EscalationRow) == 0
    assert len(reminders) == visits  # one reminder per visit, none twice
    assert {row.status for row in outbox} == {"sent"}
    assert sorted(files) == sorted(row.message_id for row in outbox)
    assert set(files.values()) == {1}
    assert integrity == "ok"
