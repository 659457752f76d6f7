"""`carepath serve --engine prefect` runs its sweeps as Prefect flows on a Prefect server that
is its own child: SIGKILL serve and the server goes too (no orphan holding port and database).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlmodel import col, select

from carepath.adapters.clock import SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import RunRow
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.services import App
from carepath.testing import serve_process

DEADLINE_SECONDS = 120


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (read from /proc; zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _prefect_runs(app: App) -> list[RunRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(RunRow).where(col(RunRow.flow_run_id).is_not(None))))


def _wait(condition: object, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():  # type: ignore[operator]
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
            raise AssertionError(f"{what}; serve said:\n{output}")
        time.sleep(0.1)


@pytest.mark.slow  # a serve process and its Prefect server, killed: `make slow`
def test_sigkilled_serve_leaves_no_prefect_server_behind(tmp_path: Path,
                                                         config_dir: Path) -> None:
    home = tmp_path / "home"
    app = open_app(Settings.from_env({"CAREPATH_HOME": str(home),
                                      "CAREPATH_CONFIG_DIR": str(config_dir)}), SystemClock())
    env = {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": "",
           "PREFECT_LOGGING_LEVEL": "WARNING", "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "CAREPATH_DISPATCH_SECONDS": "1"}
    serve = serve_process(home, config_dir, output=subprocess.PIPE, env=env,
                          args=("--engine", "prefect"))
    _wait(lambda: any(r.flow == "dispatch_outbox" and r.status == "succeeded"
                      for r in _prefect_runs(app)), serve, "no sweep ran as a Prefect flow")
    [server] = _children(serve.pid)  # the Prefect API server, serve's only child
    assert all(r.engine == "serve" and r.pid == serve.pid for r in _prefect_runs(app))

    os.kill(serve.pid, signal.SIGKILL)
    serve.wait()
    deadline = time.monotonic() + 30
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphan = _alive(server)
    if orphan:
        os.kill(server, signal.SIGKILL)
    assert not orphan, "the Prefect server outlived serve"
    assert serve.stdout is not None
    serve.stdout.close()
