"""Two real `carepath serve` processes on one database: the frozen one loses, and knows it.

The first serve is frozen with SIGSTOP until its lease expires; a second (``--standby``)
takes over; the first is resumed. It must stop at once (exit code 9) and write nothing after
the take-over, so every sweep in the `run` table has exactly one owner at a time. Two
processes and a lease to run out: seconds of waiting, so ``slow`` (``make slow`` and CI).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlmodel import select

from availability import postgres_url
from carepath.adapters.clock import SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import RunRow
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.services import App
from carepath.services.runs import double_runs, list_runs
from carepath.testing import postgres_schema, serve_process

DEADLINE_SECONDS = 60
POSTGRES_URL = os.environ.get("CAREPATH_TEST_POSTGRES_URL", "")
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


def _in_transaction(app: App, home: Path) -> bool:
    """Whether the frozen serve holds a transaction open (SQLite: the write lock; PostgreSQL:
    a session of its own application name that is not idle)."""
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect() as connection:
            busy = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'serve-first' "
                "AND state <> 'idle'").scalar()
        return bool(busy)
    probe = sqlite3.connect(home / "carepath.db", timeout=0.05, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _freeze_while_idle(process: subprocess.Popen[bytes], app: App, home: Path) -> None:
    """SIGSTOP ``process`` at a moment it is outside any transaction (a frozen writer holding
    locks would block every other process: the database's nature, not this test's subject)."""
    while True:
        process.send_signal(signal.SIGSTOP)
        if not _in_transaction(app, home):
            return
        process.send_signal(signal.SIGCONT)  # let it finish that transaction, then try again
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
def test_a_serve_frozen_past_its_lease_stops_and_writes_nothing(
    backend: str, tmp_path: Path, config_dir: Path
) -> None:
    home = tmp_path / "home"
    with ExitStack() as stack:
        url = ""
        if backend == "postgresql":
            url = stack.enter_context(postgres_schema(postgres_url()))
        _frozen_serve_loses(home, config_dir, url)


def _frozen_serve_loses(home: Path, config_dir: Path, url: str) -> None:
    database = {"CAREPATH_DATABASE_URL": url} if url else {}
    app = open_app(Settings.from_env({"CAREPATH_HOME": str(home), **database,
                                      "CAREPATH_CONFIG_DIR": str(config_dir)}), SystemClock())
    named = {"CAREPATH_DATABASE_URL": f"{url}&application_name=serve-first"} if url else {}
    first = serve_process(home, config_dir, output=subprocess.PIPE, env=FAST | named)
    _wait_until(lambda: any(r.flow == "dispatch_outbox" for r in _runs(app, first.pid)), first)

    _freeze_while_idle(first, app, home)
    second = serve_process(home, config_dir, output=subprocess.PIPE, env=FAST | database,
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
    assert double_runs(list_runs(app, limit=10_000)) == []  # no sweep ever ran twice at once
    app.engine.dispose()
