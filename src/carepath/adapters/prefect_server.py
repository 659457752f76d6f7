"""A Prefect API server for ``carepath serve --engine prefect`` that dies with serve.

Left alone, Prefect starts its ephemeral server as an ordinary subprocess: when serve is
SIGKILLed nothing stops that server, and it runs on as an orphan holding its port and
database. Here serve starts the same server itself (the uvicorn command Prefect uses) as a
child that the kernel signals when serve dies (Linux ``PR_SET_PDEATHSIG``), and points
Prefect at it. With ``PREFECT_API_URL`` set, serve uses that server and starts none.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from carepath.errors import CarepathError

PR_SET_PDEATHSIG = 1
STARTUP_SECONDS = 90.0


class PrefectServerFailed(CarepathError):
    exit_code = 7

    def __init__(self, reason: str) -> None:
        super().__init__(f"the Prefect server for serve --engine prefect did not start: {reason}"
                         "; set PREFECT_API_URL to a running server, or use --engine direct")


def _die_with_parent(parent: int) -> None:
    """Runs in the child between fork and exec: ask for SIGTERM when the parent dies."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def server_command(port: int) -> list[str]:
    import prefect

    return [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
            "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "error", "--lifespan", "on"]


def start_child_server(port: int) -> subprocess.Popen[bytes]:
    """The Prefect API server on 127.0.0.1:``port``, a child that dies with this process."""
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}
    parent = os.getpid()
    return subprocess.Popen(server_command(port), env=env, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: _die_with_parent(parent))  # noqa: PLW1509


def wait_until_healthy(process: subprocess.Popen[bytes], url: str,
                       seconds: float = STARTUP_SECONDS) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PrefectServerFailed(f"it exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # polling a starting server: bounded by the deadline above
    raise PrefectServerFailed(f"not healthy after {seconds:g} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def child_prefect_server() -> Iterator[str | None]:
    """Point Prefect at a child server for the block (none when PREFECT_API_URL is set)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield None
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    process = start_child_server(port)
    try:
        wait_until_healthy(process, url)
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
