"""``carepath serve``: APScheduler 3 firing the periodic sweeps, one scheduler per database.

Jobs live in carepath's own database (the ``apscheduler_jobs`` table, created by migration
0005), so they survive restarts; each job is added with a fixed id and
``replace_existing=True`` because APScheduler stores options with the job. Misfires after
downtime coalesce into one run (``coalesce=True``); the sweeps themselves derive due work
from the database, so one late run catches up on everything.

A lease row (``services.runs``) keeps a second ``serve`` on the same database from starting.
SIGTERM stops the scheduler after the running job (``shutdown(wait=True)``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.runs import acquire_lease, lease_holder, release_lease

LEASE = "scheduler"
LEASE_TTL = timedelta(minutes=3)
LEASE_RENEW_SECONDS = 30.0
log = logging.getLogger("carepath.serve")

# The app the stored jobs run against; set by ``serve`` (jobs are stored by reference).
_app: App | None = None
_runner: Callable[[App, str], str] | None = None


class AlreadyServing(CarepathError):
    def __init__(self, owner: str) -> None:
        self.owner = owner
        super().__init__(f"another carepath serve holds this database ({owner}); stop it first")


@dataclass(frozen=True)
class Sweep:
    name: str
    trigger: Any
    grace_seconds: int


def sweeps(app: App, review_at: str = "06:00") -> list[Sweep]:
    """The periodic jobs: dispatch each minute, reminders every 5, reviews and boosters daily."""
    zone = app.config.clinic.timezone
    hour, minute = (int(p) for p in review_at.split(":"))
    # Listed in catch-up order: the sweeps that queue messages run before the dispatch.
    return [
        Sweep("review_goals", CronTrigger(hour=hour, minute=minute, timezone=zone), 86400),
        Sweep("extend_boosters", CronTrigger(hour=hour, minute=minute, second=30, timezone=zone),
              86400),
        Sweep("send_reminders", IntervalTrigger(minutes=5), 3600),
        Sweep("dispatch_outbox", IntervalTrigger(minutes=1), 300),
    ]


def run_job(name: str) -> None:
    """The target of every stored job: run one sweep against the serving app."""
    assert _app is not None and _runner is not None, "run_job outside carepath serve"
    try:
        summary = _runner(_app, name)
        log.info("%s: %s", name, summary)
    except Exception:  # recorded as a failed run by the runner; keep the scheduler alive
        log.exception("sweep %s failed", name)


def build_scheduler(app: App) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=app.engine)},
        executors={"default": ThreadPoolExecutor(1)},  # sweeps run one at a time
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=app.config.clinic.timezone,
    )
    for sweep in sweeps(app):
        scheduler.add_job(
            "carepath.adapters.scheduler:run_job", sweep.trigger, args=[sweep.name],
            id=sweep.name, name=sweep.name, replace_existing=True, coalesce=True,
            misfire_grace_time=sweep.grace_seconds, max_instances=1,
        )
    return scheduler


def serve(app: App, runner: Callable[[App, str], str], *, stop: threading.Event | None = None,
          install_signals: bool = True, run_now: bool = True) -> None:
    """Run the sweeps until ``stop`` is set (or SIGTERM/SIGINT arrives)."""
    global _app, _runner
    owner = f"{socket.gethostname()}:{os.getpid()}"
    if not acquire_lease(app, LEASE, owner, LEASE_TTL):
        holder = lease_holder(app, LEASE)
        stale = holder.owner if holder and _is_dead_here(holder.owner) else None
        if stale is None or not acquire_lease(app, LEASE, owner, LEASE_TTL, take_over=stale):
            raise AlreadyServing(holder.owner if holder else "unknown")
        log.warning("took over the scheduler lease of %s (its process is gone)", stale)
    stop = stop or threading.Event()
    if install_signals:
        _stop_on_signals(stop)
    _app, _runner = app, runner
    scheduler = build_scheduler(app)
    try:
        if run_now:  # catch up at once on whatever fell due while we were down
            for sweep in sweeps(app):
                run_job(sweep.name)
        scheduler.start()
        while not stop.wait(LEASE_RENEW_SECONDS):
            acquire_lease(app, LEASE, owner, LEASE_TTL)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)  # lets the running sweep finish
        release_lease(app, LEASE, owner)
        _app = _runner = None


def _is_dead_here(owner: str) -> bool:
    """True when ``owner`` ("host:pid") ran on this host and that process no longer exists."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.warning("signal %s: stopping after the running job", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
