"""One fenced orchestrator: a serve that lost its lease writes nothing and stops at once.

In-process tests drive the lease with an injected clock; ``test_serve_processes.py`` does the
same with real processes frozen by SIGSTOP.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from carepath.adapters.clock import FixedClock, SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import RunRow
from carepath.entrypoints.serve import LeaseLost, serve
from carepath.services import App
from carepath.services.orchestrator import (
    PREFECT_OWNER,
    Fence,
    FencedOut,
    OrchestratorBusy,
    claim,
    fenced,
    holder,
)
from carepath.services.runs import list_runs, recorded_run, release_lease
from carepath.services.sweeps import run_sweep

TTL = timedelta(seconds=180)


def _clock(app: App) -> FixedClock:
    assert isinstance(app.clock, FixedClock)
    return app.clock


def _runs(app: App) -> list[RunRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(RunRow).order_by(RunRow.id)))  # type: ignore[arg-type]


def _fast(app: App, **overrides: float) -> App:
    """``app`` with a short lease renewed often (the clock still decides expiry)."""
    values = {"lease_seconds": 180.0, "lease_renew_seconds": 0.01} | overrides
    return dataclasses.replace(app, settings=dataclasses.replace(app.settings, **values))


def test_a_stale_owner_writes_nothing_after_a_take_over(any_app: App) -> None:
    """Frozen past its lease, the first owner wakes up to find every write refused."""
    first = claim(any_app, "serve", "host-a:1", TTL)
    assert first is not None
    stale = fenced(any_app, first)
    run_sweep(stale, "send_reminders")  # while it holds the lease, it works
    _clock(any_app).advance(TTL + timedelta(seconds=1))
    second = claim(any_app, "serve", "host-b:2", TTL)
    assert second is not None and second.token == first.token + 1
    before = len(_runs(any_app))
    with pytest.raises(FencedOut, match="host-b:2"):
        run_sweep(stale, "send_reminders")
    assert len(_runs(any_app)) == before  # not even the run's start was stored
    assert run_sweep(fenced(any_app, second), "send_reminders") == "0 reminder(s) queued"


def test_an_expired_lease_refuses_writes_before_anyone_takes_over(any_app: App) -> None:
    """A serve past its expiry stops writing even while no other orchestrator has started."""
    fence = claim(any_app, "serve", "host-a:1", TTL)
    assert fence is not None
    _clock(any_app).advance(TTL)
    with pytest.raises(FencedOut, match="not renewed"):
        run_sweep(fenced(any_app, fence), "dispatch_outbox")
    assert _runs(any_app) == []


def test_runs_record_host_pid_engine_and_token(app: App) -> None:
    """`runs list` can tell two orchestrators (or a CLI run) apart."""
    fence = claim(app, "serve", "h:1", TTL)
    assert fence is not None
    run_sweep(fenced(app, fence), "dispatch_outbox")
    with recorded_run(app, "review_goals", "by hand"):
        pass
    by_hand, served = list_runs(app)
    assert (served.engine, served.owner_token) == ("serve", fence.token)
    assert (served.host, served.pid) == (socket.gethostname(), os.getpid())
    assert (by_hand.engine, by_hand.owner_token, by_hand.flow_run_id) == ("cli", None, None)


def test_serve_stops_the_moment_its_lease_is_taken(app: App) -> None:
    """Another orchestrator takes over during a sweep: that sweep and all later ones write
    nothing, and serve (not on standby) ends with LeaseLost."""
    fast = _fast(app)
    served: list[str] = []

    def runner(fenced_app: App, name: str) -> str:
        if name == "send_reminders":  # frozen here past expiry; another serve took over
            _clock(app).advance(TTL + timedelta(seconds=1))
            assert claim(app, "serve", "elsewhere:7", TTL) is not None
        served.append(name)
        return run_sweep(fenced_app, name)

    with pytest.raises(LeaseLost):
        serve(fast, runner, install_signals=False)
    assert served == ["review_goals", "extend_boosters", "schedule_progression_reviews",
                      "send_reminders"]  # the scheduler stopped: no dispatch after the refusal
    assert [r.flow for r in _runs(app)] == ["review_goals", "extend_boosters",
                                             "schedule_progression_reviews"]
    current = holder(app)
    assert current is not None and current.owner == "elsewhere:7"  # serve did not release it


def test_standby_waits_for_the_lease_and_serves_with_a_new_token(app: App) -> None:
    """`serve --standby` waits while another holds the lease, then serves under a new token."""
    other = claim(app, "serve", "elsewhere:7", TTL)
    assert other is not None
    stop = threading.Event()
    tokens: list[int] = []

    def runner(fenced_app: App, name: str) -> str:
        stop.set()
        return run_sweep(fenced_app, name)

    def on_lease(fence: Fence) -> None:
        tokens.append(fence.token)

    waiting = threading.Thread(target=serve, args=(_fast(app), runner), kwargs={
        "install_signals": False, "standby": True, "stop": stop, "on_lease": on_lease})
    waiting.start()
    assert not stop.wait(0.2) and _runs(app) == []  # standing by, running nothing
    release_lease(app, "scheduler", "elsewhere:7")
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    assert tokens == [other.token + 1]
    assert [(r.flow, r.owner_token) for r in _runs(app)] == [("review_goals", other.token + 1)]


def test_serve_refuses_a_database_the_prefect_deployments_orchestrate(app: App) -> None:
    """One clear line names the other orchestrator and what to do."""
    assert claim(app, "prefect", PREFECT_OWNER, TTL) is not None
    with pytest.raises(OrchestratorBusy, match=r"the Prefect deployments orchestrate this "
                                               r"database .*prefect deployment schedule pause"):
        serve(_fast(app), run_sweep, install_signals=False)
    assert _runs(app) == []


def test_deployed_flows_refuse_a_database_serve_orchestrates(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Prefect worker's flow run opens the app from the environment and stops at once,
    with one line, while carepath serve holds the database; otherwise it is fenced too."""
    from flows.context import current_app, forget_deployed

    monkeypatch.setenv("CAREPATH_HOME", str(app.settings.home))
    monkeypatch.setenv("CAREPATH_CONFIG_DIR", str(app.settings.config_dir))
    monkeypatch.delenv("CAREPATH_DATABASE_URL", raising=False)
    serving = claim(app, "serve", "host-a:1", TTL)
    assert serving is not None
    with pytest.raises(OrchestratorBusy, match=r"carepath serve \(host-a:1\) orchestrates this "
                                               r"database .*before running the Prefect"):
        current_app()
    # serve stops (released at the wall-clock time the worker's app reads)
    release_lease(dataclasses.replace(app, clock=SystemClock()), "scheduler", "host-a:1")
    try:
        deployed = current_app()
        assert deployed.engine.get_execution_options()["carepath_fence"].engine == "prefect"
        assert current_app() is deployed  # opened once per process, not once per task
    finally:
        forget_deployed()


def test_runs_list_doubles_shows_a_sweep_run_twice_at_once(app: App) -> None:
    """Two processes running the same sweep at the same time show up in `runs list
    --doubles`, by host and pid; one after the other, or different sweeps, do not."""
    import json

    from typer.testing import CliRunner

    from carepath.cli import app as cli

    at = app.clock.now()

    def run(flow: str, pid: int, start: int, end: int) -> RunRow:
        return RunRow(flow=flow, name=flow, status="succeeded", host="h", pid=pid,
                      started_at=at + timedelta(seconds=start),
                      finished_at=at + timedelta(seconds=end))

    with transaction(app.engine) as session:
        session.add_all([run("dispatch_outbox", 1, 0, 10), run("dispatch_outbox", 2, 5, 8),
                         run("dispatch_outbox", 1, 20, 30), run("send_reminders", 3, 0, 10)])
    result = CliRunner().invoke(cli, ["runs", "list", "--doubles", "--format", "json"], env={
        "CAREPATH_HOME": str(app.settings.home),
        "CAREPATH_CONFIG_DIR": str(app.settings.config_dir)})
    assert result.exit_code == 0, result.output
    assert sorted((r["flow"], r["pid"]) for r in json.loads(result.output)) == [
        ("dispatch_outbox", 1), ("dispatch_outbox", 2)]
