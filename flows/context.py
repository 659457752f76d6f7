"""Which carepath app a flow runs against.

Deployed flows open the app from the environment (``CAREPATH_*``) and take the orchestrator
lease for the Prefect deployments (owner ``prefect``, shared by every worker): while
``carepath serve`` holds the database they refuse with one line, and while they hold it serve
refuses. Their writes are fenced like serve's. ``carepath serve``, the demo and tests hand
their app over with ``using_app`` (same database, injected clock, serve's own fence).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from carepath.bootstrap import open_app
from carepath.services import App
from carepath.settings import Settings

_current: App | None = None
_deployed: App | None = None
_opening = threading.Lock()
_stop_renewing = threading.Event()  # replaced by each opening; set by forget_deployed


@contextmanager
def using_app(app: App) -> Iterator[App]:
    global _current
    previous, _current = _current, app
    try:
        yield app
    finally:
        _current = previous


def current_app() -> App:
    return _current if _current is not None else _deployed_app()


def _deployed_app() -> App:
    """The app of a deployed flow run, fenced by the Prefect deployments' lease.

    Opened once per process (a flow run is one process on a process worker; each task asks
    again): opening costs the config, the schema check and the config sync. A daemon thread
    renews the lease while the process runs, so a long sweep keeps it; when the process ends
    the lease lapses after ``CAREPATH_LEASE_SECONDS``.
    """
    global _deployed
    with _opening:
        if _deployed is None:
            _deployed = _open_deployed()
        return _deployed


def forget_deployed() -> None:
    """Stop renewing and drop the deployed app (tests; a process that stops orchestrating)."""
    global _deployed, _stop_renewing
    with _opening:
        _stop_renewing.set()
        _stop_renewing = threading.Event()
        if _deployed is not None:
            _deployed.engine.dispose()
        _deployed = None


def _open_deployed() -> App:
    from carepath.services.orchestrator import (
        PREFECT_OWNER,
        OrchestratorBusy,
        claim,
        fenced,
        holder,
    )

    app = open_app(Settings.from_env(os.environ))
    ttl = timedelta(seconds=app.settings.lease_seconds)
    for _ in range(3):  # a lease that expires between the two reads is free on the next try
        fence = claim(app, "prefect", PREFECT_OWNER, ttl)
        if fence is not None:
            threading.Thread(target=_keep_renewing, args=(app, ttl, _stop_renewing),
                             daemon=True, name="carepath-lease").start()
            return fenced(app, fence)
        current = holder(app)
        if current is not None:
            raise OrchestratorBusy(current, "prefect")
    raise RuntimeError("the orchestrator lease changed hands three times in a row")


def _keep_renewing(app: App, ttl: timedelta, stop: threading.Event) -> None:
    from carepath.services.orchestrator import PREFECT_OWNER, claim

    while not stop.wait(app.settings.lease_renew_seconds):
        try:
            if claim(app, "prefect", PREFECT_OWNER, ttl) is None:
                return  # another orchestrator holds it: the fence refuses our writes
        except Exception:  # noqa: BLE001 - retried at the next tick; expiry is the backstop
            continue
