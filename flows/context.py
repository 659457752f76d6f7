"""Which carepath app a flow runs against.

Deployed flows open the app from the environment (``CAREPATH_*``); ``carepath serve``, the
demo and tests hand theirs over with ``using_app`` (same database, injected clock).
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
    return _current if _current is not None else App.open(Settings.from_env(os.environ))
