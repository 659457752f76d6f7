"""`carepath serve` killed and restarted: no due work lost, no reminder sent twice."""

from __future__ import annotations

import email
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from carepath.adapters.clock import SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import RunRow
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.services import App
from carepath.services.messaging_testing import PlannedVisit, add_patient_row, book
from carepath.testing import serve_process
from clinic_variants import round_the_clock

DEADLINE_SECONDS = 90


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    """Poll (bounded) until the service has done the work; fail with its output otherwise."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
            raise AssertionError(f"serve did not finish its sweeps:\n{output}")
        time.sleep(0.1)


def _succeeded(app: App, flow: str) -> int:
    with transaction(app.engine) as session:
        rows = session.exec(select(RunRow).where(RunRow.flow == flow)
                            .where(RunRow.status == "succeeded")).all()
    return len(rows)


def _reminders(home: Path) -> Counter[str]:
    """Reminder emails on disk, counted per Message-ID."""
    counts: Counter[str] = Counter()
    for path in (home / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        if "reminder" in str(message["Subject"]).lower():
            counts[str(message["Message-ID"])] += 1
    return counts


def _visit(hours_from_now: float, therapist: str) -> PlannedVisit:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=hours_from_now)
    return PlannedVisit(start=start, therapist_id=therapist)


def test_killed_serve_restarts_without_losing_or_doubling_reminders(
    tmp_path: Path, config_dir: Path
) -> None:
    """Kill -9 after the first sweeps, add more due work, restart: one reminder per visit."""
    config_dir = round_the_clock(config_dir, tmp_path / "config")  # booked on the wall clock
    home = tmp_path / "home"
    settings = Settings.from_env({"CAREPATH_HOME": str(home),
                                  "CAREPATH_CONFIG_DIR": str(config_dir)})
    app = open_app(settings, SystemClock())
    add_patient_row(app, "P1", "Jane Doe", "jane@example.org")
    book(app, "P1", [_visit(3, "alvarez")])
    add_patient_row(app, "P3", "Ann Poe", "ann@example.org")  # a pathway rests a day between
    book(app, "P3", [_visit(6, "chen")])                      # one patient's visits

    first = serve_process(home, config_dir, output=subprocess.PIPE)
    _wait_until(lambda: _succeeded(app, "dispatch_outbox") >= 1 and len(_reminders(home)) >= 2,
                first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert len(_reminders(home)) == 2

    add_patient_row(app, "P2", "Sam Roe", "sam@example.org")
    book(app, "P2", [_visit(5, "okafor")])  # due while the service is down
    runs_before = _succeeded(app, "dispatch_outbox")

    second = serve_process(home, config_dir, output=subprocess.PIPE)
    _wait_until(lambda: _succeeded(app, "dispatch_outbox") > runs_before, second)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=DEADLINE_SECONDS) == 0

    reminders = _reminders(home)
    assert len(reminders) == 3
    assert set(reminders.values()) == {1}
