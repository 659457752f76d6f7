"""Which carepath app a flow runs against.

Deployed flows open the app from the environment (``CAREPATH_*``) and take the orchestrator
lease for the Prefect deployments (owner ``prefect``, shared by every worker): while
``carepath serve`` holds the database they refuse with one line, and while they hold it serve
refuses. Their writes are fenced like serve's. ``carepath serve``, the demo and tests hand
their app over with ``using_app`` (same database, injected clock, serve's own fence).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from carepath.services import App
from carepath.settings import Settings

_current: App | None = None


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
    """The app of a deployed flow run, fenced by the Prefect deployments' lease."""
    from datetime import timedelta

    from carepath.services.orchestrator import (
        PREFECT_OWNER,
        OrchestratorBusy,
        claim,
        fenced,
        holder,
    )

    app = App.open(Settings.from_env(os.environ))
    ttl = timedelta(seconds=app.settings.lease_seconds)
    for _ in range(3):  # a lease that expires between the two reads is free on the next try
        fence = claim(app, "prefect", PREFECT_OWNER, ttl)
        if fence is not None:
            return fenced(app, fence)
        current = holder(app)
        if current is not None:
            raise OrchestratorBusy(current, "prefect")
    raise RuntimeError("the orchestrator lease changed hands three times in a row")
