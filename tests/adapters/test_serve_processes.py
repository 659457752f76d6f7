"""Two real `carepath serve` processes on one database: the frozen one loses, and knows it.

The first serve is frozen with SIGSTOP until its lease expires; a second (``--standby``)
takes over; the first is resumed. It must stop at once (exit code 9) and write nothing after
the take-over, so every sweep in the `run` table has exactly one owner at a time.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from carepath.adapters.clock import SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import RunRow
from carepath.services import App
from carepath.settings import Settings
from carepath.testing import serve_process

DEADLINE_SECONDS = 60
FAST = {"CAREPATH_DISPATCH_SECONDS": "0.3", "CAREPATH_REMINDER_SECONDS": "0.3",
        "CAREPATH_LEASE_SECONDS": "2", "CAREPATH_LEASE_RENEW_SECONDS": "0.2"}


def _wait_until(condition: Callable[[], bool], *processes: subprocess.Popen[bytes]) -> None:
    """Poll (bounded) until ``condition``; fail with the processes' output otherwise."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            outputs = []
            for process in processes:
                process.send_signal(signal.SIGCONT)
                process.kill()
                outputs.append(process.communicate()[0].decode(errors="replace"))
            raise AssertionError("timed out; serve said:\n" + "\n---\n".join(outputs))
        time.sleep(0.05)


def _runs(app: App, pid: int) -> list[RunRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(RunRow).where(RunRow.pid == pid)))


def _freeze_while_idle(process: subprocess.Popen[bytes], database: Path) -> None:
    """SIGSTOP ``process`` at a moment it holds no SQLite write lock (a frozen writer would
    block every other process, which is SQLite's nature, not what this test is about)."""
    while True:
        process.send_signal(signal.SIGSTOP)
        probe = sqlite3.connect(database, timeout=0.05, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:  # it was inside a transaction: let it finish
            process.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()


def test_a_serve_frozen_past_its_lease_stops_and_writes_nothing(
    tmp_path: Path, config_dir: Path
) -> None:
    home = tmp_path / "home"
    app = App.open(Settings.from_env({"CAREPATH_HOME": str(home),
                                      "CAREPATH_CONFIG_DIR": str(config_dir)}), SystemClock())
    first = serve_process(home, config_dir, output=subprocess.PIPE, env=FAST)
    _wait_until(lambda: any(r.flow == "dispatch_outbox" for r in _runs(app, first.pid)), first)

    _freeze_while_idle(first, home / "carepath.db")
    second = serve_process(home, config_dir, output=subprocess.PIPE, env=FAST,
                           args=("--engine", "direct", "--standby"))
    _wait_until(lambda: sum(r.flow == "dispatch_outbox" for r in _runs(app, second.pid)) >= 2,
                first, second)
    first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=DEADLINE_SECONDS) == 9
    said = first.communicate()[0].decode()
    assert "the orchestrator lease moved on" in said

    taken_at = min(r.started_at for r in _runs(app, second.pid))
    stale = [r for r in _runs(app, first.pid) if r.started_at >= taken_at]
    assert stale == []  # the resumed serve wrote no run (and so no sweep) after the take-over
    old, new = {r.owner_token for r in _runs(app, first.pid)}, \
        {r.owner_token for r in _runs(app, second.pid)}
    assert len(old) == len(new) == 1 and new.pop() == old.pop() + 1  # type: ignore[operator]

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=DEADLINE_SECONDS) == 0
