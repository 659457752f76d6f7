"""Which carepath app a flow runs against.

``carepath serve``, the demo and tests hand their app over with ``using_app`` (same
database, injected clock, serve's own fence): the hand-over is a context variable, so it
holds for the flows and tasks run inside the ``with`` — Prefect copies the context into its
task threads — and for nothing else. A flow run on a Prefect worker has none handed over
and uses the worker's app (``carepath.entrypoints.prefect_worker``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from carepath.entrypoints.prefect_worker import worker_app
from carepath.services import App

_handed: ContextVar[App | None] = ContextVar("carepath_flow_app", default=None)


@contextmanager
def using_app(app: App) -> Iterator[App]:
    token = _handed.set(app)
    try:
        yield app
    finally:
        _handed.reset(token)


def current_app() -> App:
    handed = _handed.get()
    return handed if handed is not None else worker_app.get()


def forget_deployed() -> None:
    """Stop renewing and drop the worker's app (tests; a process that stops orchestrating)."""
    worker_app.forget()
