"""What one deployed sweep costs on Prefect: a real server and process worker on 127.0.0.1.

``python -m bench prefect_runs [--runs 5]``

Starts ``prefect server start``, a process work pool and a worker polling every second
(``PREFECT_WORKER_QUERY_SECONDS=1``), deploys ``dispatch-outbox`` from the generated
``prefect.yaml`` and triggers it ``--runs`` times, one after the other, on an empty outbox
(the sweep's own work is milliseconds). For each run: trigger → start (the worker's polling
and the flow-run process starting), start → end (imports, opening carepath, the flow), and
carepath's own part from its run record.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx

from carepath.bootstrap import open_app
from carepath.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench prefect_runs")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carepath-bench-prefect-") as name:
        folder = Path(name)
        env = _environment(folder)
        server = _start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port",
                         env["PREFECT_API_URL"].split(":")[2].split("/")[0]], env)
        worker = None
        try:
            _healthy(env["PREFECT_API_URL"])
            _prefect(env, "work-pool", "create", "carepath", "--type", "process")
            _prefect(env, "deploy", "--name", "dispatch-outbox")
            _prefect(env, "deployment", "schedule", "pause", "--all")
            worker = _start([PREFECT, "worker", "start", "--pool", "carepath"], env)
            figures = [_one_run(env) for _ in range(args.runs)]
        finally:
            for process in (worker, server):
                if process is not None:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=60)
    print(_render(figures))


def _environment(folder: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(folder / "prefect"),
           "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
           "PREFECT_LOGGING_LEVEL": "WARNING", "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_WORKER_QUERY_SECONDS": "1", "CAREPATH_HOME": str(folder / "home"),
           "CAREPATH_MAIL_TRANSPORT": "folder", "CAREPATH_WORKDIR": str(ROOT)}
    env.pop("CAREPATH_DATABASE_URL", None)
    return env


def _start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _healthy(url: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the Prefect server did not start")


def _prefect(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PREFECT, "--no-prompt", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"prefect {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def _one_run(env: dict[str, str]) -> dict[str, float]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def trigger_and_wait() -> Any:
        async with get_client() as client:
            deployment = await client.read_deployment_by_name("dispatch_outbox/dispatch-outbox")
            created = await client.create_flow_run_from_deployment(deployment.id)
            while True:
                flow_run = await client.read_flow_run(created.id)
                if flow_run.state is not None and flow_run.state.is_final():
                    return flow_run
                await asyncio.sleep(0.2)

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        triggered = time.time()
        flow_run = asyncio.run(trigger_and_wait())
    if flow_run.state is None or not flow_run.state.is_completed():
        raise RuntimeError(f"the deployed run ended {flow_run.state}")
    started, ended = flow_run.start_time.timestamp(), flow_run.end_time.timestamp()
    return {"pickup": started - triggered, "run": ended - started,
            "total": ended - triggered, "carepath": _carepath_seconds(env)}


def _carepath_seconds(env: dict[str, str]) -> float:
    from carepath.adapters.clock import SystemClock
    from carepath.config.settings import Settings
    from carepath.services.runs import list_runs

    app = open_app(Settings.from_env(env), SystemClock())
    [latest] = list_runs(app, limit=1)
    app.engine.dispose()
    assert latest.finished_at is not None
    return (latest.finished_at - latest.started_at).total_seconds()


def _render(figures: list[dict[str, float]]) -> str:
    lines = [f"{'run':>4}{'trigger→start s':>17}{'start→end s':>13}{'total s':>9}"
             f"{'carepath s':>12}"]
    for number, f in enumerate(figures, 1):
        lines.append(f"{number:>4}{f['pickup']:>17.2f}{f['run']:>13.2f}{f['total']:>9.2f}"
                     f"{f['carepath']:>12.3f}")
    lines.append(f"{'med':>4}{median(f['pickup'] for f in figures):>17.2f}"
                 f"{median(f['run'] for f in figures):>13.2f}"
                 f"{median(f['total'] for f in figures):>9.2f}"
                 f"{median(f['carepath'] for f in figures):>12.3f}")
    return "\n".join(lines)
