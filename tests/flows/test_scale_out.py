"""The manual's scale-out, done for real on 127.0.0.1: `prefect server start`, a process work
pool, `prefect deploy --all` from the generated prefect.yaml, a worker, one sweep run — and
carepath's database shows the run, by the Prefect engine, under the deployments' lease.

A server that cannot start skips here but fails in CI (``CI`` set).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from availability import unavailable
from carepath.adapters.clock import SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import LeaseRow, RunRow
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.services import App
from carepath.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
DEADLINE_SECONDS = 180


def _unavailable(reason: str) -> None:
    unavailable(f"the Prefect server did not start: {reason}")


@pytest.fixture
def prefect_env(tmp_path: Path, config_dir: Path) -> Iterator[dict[str, str]]:
    """A real `prefect server start` on a free port, and the environment to reach it."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"),
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_LOGGING_LEVEL": "WARNING", "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_WORKER_QUERY_SECONDS": "1",
           "CAREPATH_HOME": str(tmp_path / "home"), "CAREPATH_CONFIG_DIR": str(config_dir),
           "CAREPATH_MAIL_TRANSPORT": "folder", "CAREPATH_WORKDIR": str(ROOT)}
    env.pop("CAREPATH_DATABASE_URL", None)
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            if server.poll() is not None:
                _unavailable(f"exit code {server.returncode}")
            try:
                if httpx.get(f"{env['PREFECT_API_URL']}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                _unavailable(f"not healthy after {DEADLINE_SECONDS} s")
            time.sleep(0.5)
        yield env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _prefect(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PREFECT, "--no-prompt", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=DEADLINE_SECONDS)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _dispatch_runs(app: App) -> list[RunRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(RunRow).where(RunRow.flow == "dispatch_outbox")
                                 .where(RunRow.status == "succeeded")))


@pytest.mark.slow
def test_deployed_sweep_runs_on_a_process_worker(prefect_env: dict[str, str],
                                                 config_dir: Path) -> None:
    app = open_app(Settings.from_env(prefect_env), SystemClock())
    _prefect(prefect_env, "work-pool", "create", "carepath", "--type", "process")
    _prefect(prefect_env, "deploy", "--all")
    automations = _prefect(prefect_env, "automation", "ls")
    assert "report-problem" in automations  # the trigger reporting Failed and Late runs
    _prefect(prefect_env, "deployment", "run", "dispatch_outbox/dispatch-outbox")
    worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", "carepath"],
                              env=prefect_env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not _dispatch_runs(app):
            if worker.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode(errors="replace")
    runs = _dispatch_runs(app)
    assert runs, f"no dispatch run reached carepath's database; the worker said:\n{output}"
    assert all(r.engine == "prefect" and r.flow_run_id for r in runs)
    with transaction(app.engine) as session:
        lease = session.get(LeaseRow, "scheduler")
    assert lease is not None and (lease.engine, lease.owner) == ("prefect", "prefect")
