"""``carepath serve``: APScheduler 3 firing the periodic sweeps, one fenced orchestrator per
database.

Jobs live in carepath's own database (the ``apscheduler_jobs`` table, created by migration
0005), so they survive restarts; each job is added with a fixed id and
``replace_existing=True`` because APScheduler stores options with the job. Misfires after
downtime coalesce into one run (``coalesce=True``); the sweeps themselves derive due work
from the database, so one late run catches up on everything.

The orchestrator lease (``services.orchestrator``) keeps a second ``serve`` — or the Prefect
deployments — off the database. The lease is renewed every ``CAREPATH_LEASE_RENEW_SECONDS``;
the moment a renewal fails (the process was frozen past expiry and another took over) the
scheduler stops, and every sweep's own transactions check the fencing token, so a job that
was already running writes nothing. Without ``--standby`` serve then exits (code 9); with it,
it waits for the lease again. SIGTERM stops the scheduler after the running job.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from carepath.services import App
from carepath.services.fence import LEASE
from carepath.services.orchestrator import (
    Fence,
    FencedOut,
    OrchestratorBusy,
    claim,
    fenced,
    holder,
    renew,
    this_process,
)
from carepath.services.runs import release_lease

log = logging.getLogger("carepath.serve")

AlreadyServing = OrchestratorBusy  # the name older callers know


class LeaseLost(FencedOut):
    """serve lost its lease (frozen past expiry, or the database refused the renewal)."""


@dataclass(frozen=True)
class Sweep:
    name: str
    trigger: Any
    grace_seconds: int


def sweeps(app: App) -> list[Sweep]:
    """The periodic jobs: dispatch and reminders at their intervals; goal review, boosters and
    progression reviews once a day at ``CAREPATH_DAILY_AT`` in the clinic's time zone."""
    settings, zone = app.settings, app.config.clinic.timezone
    hour, minute = (int(p) for p in settings.daily_at.split(":"))

    def daily(second: int) -> CronTrigger:
        return CronTrigger(hour=hour, minute=minute, second=second, timezone=zone)

    def every(seconds: float) -> IntervalTrigger:
        return IntervalTrigger(seconds=seconds, timezone=zone)

    # Listed in catch-up order: the sweeps that queue messages run before the dispatch.
    return [
        Sweep("review_goals", daily(0), 86400),
        Sweep("extend_boosters", daily(20), 86400),
        Sweep("schedule_progression_reviews", daily(40), 86400),
        Sweep("send_reminders", every(settings.reminder_seconds),
              max(1, int(settings.reminder_seconds * 12))),
        Sweep("dispatch_outbox", every(settings.dispatch_seconds),
              max(1, int(settings.dispatch_seconds * 5))),
    ]


class Serving:
    """One stretch of serving under one fence: the sweeps run against the fenced app until
    a job finds itself fenced out (``lost``) or serve stops (``close``)."""

    def __init__(self, app: App, runner: Callable[[App, str], str]) -> None:
        self.app, self.runner = app, runner
        self.lost = threading.Event()  # set by a job that found itself fenced out
        self._closed = threading.Event()

    def run(self, name: str) -> None:
        """Run one sweep (the target of every stored job while this stretch lasts)."""
        if self._closed.is_set() or self.lost.is_set():
            return  # a job fired while serve was stopping: it has no lease to run under
        try:
            summary = self.runner(self.app, name)
            log.info("%s: %s", name, summary)
        except FencedOut as error:
            log.error("%s refused: %s", name, error)
            self.lost.set()  # the main loop stops the scheduler at once
        except Exception:  # recorded as a failed run by the runner; keep the scheduler alive
            log.exception("sweep %s failed", name)

    def close(self) -> None:
        self._closed.set()


def stored_job(name: str) -> None:
    """What each job row names as its target (APScheduler stores a job's target by import
    path). It never runs: ``BoundJobStore`` hands every job it loads to the live ``Serving``."""
    raise RuntimeError(f"sweep {name} fired outside carepath serve")


class BoundJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The jobs in carepath's database, each bound as it is loaded to this serve's sweeps, so
    that no module-level state tells a stored job which app it runs against."""

    def __init__(self, engine: Engine, run: Callable[[str], None]) -> None:
        super().__init__(engine=engine)
        self._run = run

    def _reconstitute_job(self, job_state: bytes) -> Job:
        job = super()._reconstitute_job(job_state)
        job.func = self._run
        return job


def build_scheduler(app: App, serving: Serving) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": BoundJobStore(app.engine, serving.run)},
        executors={"default": ThreadPoolExecutor(1)},  # sweeps run one at a time
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=app.config.clinic.timezone,
    )
    for sweep in sweeps(app):
        scheduler.add_job(
            STORED_JOB, sweep.trigger, args=[sweep.name],
            id=sweep.name, name=sweep.name, replace_existing=True, coalesce=True,
            misfire_grace_time=sweep.grace_seconds, max_instances=1,
        )
    return scheduler


STORED_JOB = f"{__name__}:stored_job"


def serve(app: App, runner: Callable[[App, str], str], *, stop: threading.Event | None = None,
          install_signals: bool = True, run_now: bool = True, standby: bool = False,
          engine: str = "direct", on_lease: Callable[[Fence], None] | None = None) -> None:
    """Run the sweeps until ``stop`` is set (or SIGTERM/SIGINT arrives).

    Raises ``AlreadyServing`` when another orchestrator holds the database (unless
    ``standby``: then it waits), and ``LeaseLost`` when the lease is lost while serving
    (unless ``standby``: then it waits to take it back).
    """
    stop = stop or threading.Event()
    if install_signals:
        _stop_on_signals(stop)
    owner = this_process()
    while not stop.is_set():
        fence = _take_lease(app, owner, standby=standby, stop=stop)
        if fence is None:
            return
        log.warning("serving as %s with fencing token %s", owner, fence.token)
        if on_lease is not None:
            on_lease(fence)
        if not _orchestrate(app, fence, runner, stop, run_now=run_now):
            return
        if not standby:
            raise LeaseLost(fence, "renewal failed")
        log.warning("lost the lease: standing by")


def _ttl(app: App) -> timedelta:
    return timedelta(seconds=app.settings.lease_seconds)


def _take_lease(app: App, owner: str, *, standby: bool, stop: threading.Event) -> Fence | None:
    """The lease, at once or (standby) once it is free; None when stopped while waiting."""
    while True:
        fence = claim(app, "serve", owner, _ttl(app))
        if fence is None:
            current = holder(app)
            stale = current.owner if current and _is_dead_here(current.owner) else None
            if stale is not None:
                fence = claim(app, "serve", owner, _ttl(app), take_over=stale)
                if fence is not None:
                    log.warning("took over the lease of %s (its process is gone)", stale)
        if fence is not None:
            return fence
        current = holder(app)
        if not standby:
            if current is None:
                continue  # it expired between the two reads: try again
            raise OrchestratorBusy(current, "serve")
        if stop.wait(app.settings.lease_renew_seconds):
            return None


def _orchestrate(app: App, fence: Fence, runner: Callable[[App, str], str],
                 stop: threading.Event, *, run_now: bool) -> bool:
    """Serve under ``fence`` until stopped (False) or the lease is lost (True)."""
    serving = Serving(fenced(app, fence), runner)
    scheduler = build_scheduler(app, serving)
    lost = False
    try:
        if run_now:  # catch up at once on whatever fell due while we were down
            for sweep in sweeps(app):
                if serving.lost.is_set() or stop.is_set():
                    break
                serving.run(sweep.name)
        if not serving.lost.is_set():
            scheduler.start()
        expires = app.clock.now() + _ttl(app)
        while not serving.lost.is_set() and not stop.wait(app.settings.lease_renew_seconds):
            renewed = None if serving.lost.is_set() else _renewed_until(app, fence, expires)
            if renewed is None:
                break
            expires = renewed
        lost = not stop.is_set()
        return lost
    finally:
        serving.close()  # a job still firing runs nothing
        if scheduler.running:
            # Lost: stop at once; the running job's writes are refused by the fence anyway.
            scheduler.shutdown(wait=not lost)
        if not lost:
            release_lease(app, LEASE, fence.owner)


def _renewed_until(app: App, fence: Fence, expires: datetime) -> datetime | None:
    """Renew the lease: its new expiry, or None once it is lost. A database error keeps
    serve going only while the lease it already holds is still live."""
    try:
        if renew(app, fence, _ttl(app)):
            return app.clock.now() + _ttl(app)
        return None
    except Exception:  # noqa: BLE001 - a database hiccup alone must not stop serve
        log.exception("lease renewal failed")
        return expires if app.clock.now() < expires else None


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
