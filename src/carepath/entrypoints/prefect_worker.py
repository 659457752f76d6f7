"""The app of a Prefect worker's flow runs: opened from the environment, fenced by the lease
of the Prefect deployments.

Deployed flows open the app from ``CAREPATH_*`` and take the orchestrator lease for the
Prefect deployments (owner ``prefect``, shared by every worker): while ``carepath serve``
holds the database they refuse with one line, and while they hold it serve refuses. Their
writes are fenced like serve's.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta

from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.services import App
from carepath.services.orchestrator import (
    PREFECT_OWNER,
    OrchestratorBusy,
    claim,
    fenced,
    holder,
)


class DeployedApp:
    """Opened once per process (a flow run is one process on a process worker; each task
    asks again): opening costs the config, the schema check and the config sync. A daemon
    thread renews the lease while the process runs, so a long sweep keeps it; when the
    process ends the lease lapses after ``CAREPATH_LEASE_SECONDS``."""

    def __init__(self) -> None:
        self._app: App | None = None
        self._opening = threading.Lock()
        self._stop_renewing = threading.Event()  # replaced by each opening; set by forget

    def get(self) -> App:
        with self._opening:
            if self._app is None:
                self._app = self._open()
            return self._app

    def forget(self) -> None:
        """Stop renewing and drop the app (tests; a process that stops orchestrating)."""
        with self._opening:
            self._stop_renewing.set()
            self._stop_renewing = threading.Event()
            if self._app is not None:
                self._app.engine.dispose()
            self._app = None

    def _open(self) -> App:
        app = open_app(Settings.from_env(os.environ))
        ttl = timedelta(seconds=app.settings.lease_seconds)
        for _ in range(3):  # a lease that expires between the two reads is free on the next try
            fence = claim(app, "prefect", PREFECT_OWNER, ttl)
            if fence is not None:
                threading.Thread(target=_keep_renewing, args=(app, ttl, self._stop_renewing),
                                 daemon=True, name="carepath-lease").start()
                return fenced(app, fence)
            current = holder(app)
            if current is not None:
                raise OrchestratorBusy(current, "prefect")
        raise RuntimeError("the orchestrator lease changed hands three times in a row")


def _keep_renewing(app: App, ttl: timedelta, stop: threading.Event) -> None:
    while not stop.wait(app.settings.lease_renew_seconds):
        try:
            if claim(app, "prefect", PREFECT_OWNER, ttl) is None:
                return  # another orchestrator holds it: the fence refuses our writes
        except Exception:  # noqa: BLE001 - retried at the next tick; expiry is the backstop
            continue


# The worker process's one app: a flow run is a process, and this module is its entry point.
worker_app = DeployedApp()
