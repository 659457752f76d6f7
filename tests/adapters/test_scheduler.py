"""`carepath serve`: persistent jobs, catch-up on start, one scheduler per database."""

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import SchedulerJobRow
from carepath.entrypoints.serve import AlreadyServing, serve
from carepath.services import App
from carepath.services.runs import acquire_lease

ALL_SWEEPS = {"dispatch_outbox", "send_reminders", "review_goals", "extend_boosters",
              "schedule_progression_reviews"}


def _serve_once(app: App) -> list[str]:
    """Serve until every sweep has run once, then stop as SIGTERM would."""
    stop = threading.Event()
    ran: list[str] = []

    def runner(_app: App, name: str) -> str:
        ran.append(name)
        if set(ran) >= ALL_SWEEPS:
            stop.set()
        return "ok"

    serve(app, runner, stop=stop, install_signals=False)
    return ran


def _job_ids(app: App) -> list[str]:
    with transaction(app.engine) as session:
        return sorted(row.id for row in session.exec(select(SchedulerJobRow)))


def test_serve_catches_up_on_every_sweep_at_start(app: App) -> None:
    """Work that fell due while the service was down runs as soon as it starts."""
    assert set(_serve_once(app)) == ALL_SWEEPS


def test_jobs_persist_in_the_database_once_each(app: App) -> None:
    """The job store keeps one job per sweep, also after a restart."""
    _serve_once(app)
    first = _job_ids(app)
    _serve_once(app)
    assert first == _job_ids(app) == sorted(ALL_SWEEPS)


def test_a_second_scheduler_on_the_same_database_is_refused(app: App) -> None:
    """While one serve holds the lease, another exits with a clear error."""
    assert acquire_lease(app, "scheduler", "elsewhere:42", timedelta(minutes=3))
    with pytest.raises(AlreadyServing, match="elsewhere:42"):
        _serve_once(app)


def test_a_dead_holder_on_this_host_is_taken_over(app: App) -> None:
    """After a crash (the holder's process is gone) serve starts at once, not after expiry."""
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert acquire_lease(app, "scheduler", f"{socket.gethostname()}:{gone}", timedelta(minutes=3))
    assert set(_serve_once(app)) == ALL_SWEEPS
