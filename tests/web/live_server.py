"""The web app served by uvicorn on a free port of this machine, in a thread of the test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from carepath.services import App
from carepath.web import create_app


@contextmanager
def serving(app: App) -> Iterator[str]:
    """The app's base URL while it serves. ``localhost`` is a secure context to Chromium,
    so the Secure session cookie works over plain http here, as over https in production."""
    config = uvicorn.Config(create_app(app, fhir=False), host="127.0.0.1", port=0,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not started.wait(0.01):  # uvicorn sets no event of its own to wait on
        if server.started:
            started.set()
        elif not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
