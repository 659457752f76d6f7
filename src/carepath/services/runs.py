"""Workflow runs an admin can see, and leases that keep one scheduler per database.

A run that fails leaves a row with its error (``carepath runs list``), never only a log line.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import LeaseRow, RunRow
from carepath.services import App
from carepath.services.fence import fence_of


@dataclass(frozen=True)
class RunView:
    """One recorded run as an admin sees it (``carepath runs list``)."""

    id: int
    flow: str
    name: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    summary: str
    error: str
    host: str
    pid: int | None
    engine: str
    owner_token: int | None
    flow_run_id: str | None


@dataclass(frozen=True)
class LeaseView:
    """Who holds a lease, until when, with which fencing token."""

    name: str
    owner: str
    expires_at: datetime
    token: int
    engine: str


@dataclass
class RunHandle:
    """What a running workflow may say about itself before it ends."""

    id: int
    summary: str = ""


@contextmanager
def recorded_run(app: App, flow: str, name: str) -> Iterator[RunHandle]:
    """Record a run's start, then its success (with summary) or failure (with the error).

    The row names who ran it — host, pid, engine, the orchestrator's fencing token and
    Prefect's flow-run id — so that a sweep run twice by two owners shows in ``runs list``.
    """
    with transaction(app.engine) as session:
        row = RunRow(flow=flow, name=name[:200], started_at=app.clock.now(),
                     **_runner_identity(app))
        session.add(row)
        session.flush()
        assert row.id is not None
        handle = RunHandle(row.id)
    try:
        yield handle
    except BaseException as error:
        _finish(app, handle, "failed", f"{type(error).__name__}: {error}")
        raise
    _finish(app, handle, "succeeded", "")


def _runner_identity(app: App) -> dict[str, Any]:
    fence = fence_of(app)
    return {"host": socket.gethostname()[:200], "pid": os.getpid(),
            "engine": fence.engine if fence else "cli",
            "owner_token": fence.token if fence else None,
            "flow_run_id": _prefect_flow_run_id()}


def _prefect_flow_run_id() -> str | None:
    """The id of the Prefect flow run this code runs in, if any (without importing Prefect)."""
    if "prefect" not in sys.modules:
        return None
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else None


def _finish(app: App, handle: RunHandle, status: str, error: str) -> None:
    with transaction(app.engine) as session:
        row = session.get(RunRow, handle.id)
        assert row is not None
        row.status, row.error = status, error[:2000]
        row.summary, row.finished_at = handle.summary[:1000], app.clock.now()
        session.add(row)


def list_runs(app: App, *, limit: int = 50, status: str | None = None) -> list[RunView]:
    with transaction(app.engine) as session:
        query = select(RunRow).order_by(col(RunRow.id).desc()).limit(limit)
        if status:
            query = query.where(RunRow.status == status)
        return [_run_view(row) for row in session.exec(query)]


def _run_view(row: RunRow) -> RunView:
    assert row.id is not None
    return RunView(row.id, row.flow, row.name, row.status, row.started_at, row.finished_at,
                   row.summary, row.error, row.host, row.pid, row.engine, row.owner_token,
                   row.flow_run_id)


def double_runs(runs: list[RunView]) -> list[RunView]:
    """The runs among ``runs`` that overlapped in time with a run of the same sweep by another
    process: a sweep run twice at once, which one fenced orchestrator should never show."""
    doubled: set[int] = set()
    by_flow: dict[str, list[RunView]] = {}
    for run in runs:
        by_flow.setdefault(run.flow, []).append(run)
    for same in by_flow.values():
        same.sort(key=lambda r: r.started_at)
        for number, first in enumerate(same):
            end = first.finished_at or first.started_at
            for second in same[number + 1:]:
                if second.started_at > end:
                    break
                if (first.host, first.pid) != (second.host, second.pid):
                    doubled.update({id(first), id(second)})
    return [run for run in runs if id(run) in doubled]


def acquire_lease(app: App, name: str, owner: str, ttl: timedelta, *,
                  take_over: str | None = None, engine: str = "serve") -> int | None:
    """Take or renew the lease ``name`` for ``owner``: its fencing token, None while another
    owner holds it.

    The token grows by one whenever the lease changes hands, so a process that lost it can
    tell (``orchestrator.check_fence``). ``take_over`` names a holder known to be dead (its
    process is gone): its lease is taken at once instead of waiting for it to expire.
    """
    now = app.clock.now()
    try:
        with transaction(app.engine) as session:
            query = select(LeaseRow).where(LeaseRow.name == name).with_for_update()
            row = session.exec(query).first()
            if row is None:
                session.add(LeaseRow(name=name, owner=owner, expires_at=now + ttl, token=1,
                                     engine=engine))
                return 1
            if row.owner not in (owner, take_over) and row.expires_at > now:
                return None
            if row.owner != owner:
                row.token += 1
            row.owner, row.expires_at, row.engine = owner, now + ttl, engine
            session.add(row)
            return row.token
    except IntegrityError:  # another process inserted the lease first
        return None


def release_lease(app: App, name: str, owner: str) -> None:
    """Give the lease up (it expires at once) but keep its row, so the token keeps growing."""
    with transaction(app.engine) as session:
        row = session.get(LeaseRow, name)
        if row is not None and row.owner == owner:
            row.expires_at = app.clock.now()
            session.add(row)


def lease_holder(app: App, name: str) -> LeaseView | None:
    with transaction(app.engine) as session:
        row = session.get(LeaseRow, name)
        if row is None or row.expires_at <= app.clock.now():
            return None
        return LeaseView(row.name, row.owner, row.expires_at, row.token, row.engine)


def record_problem(app: App, flow_run_id: str, state: str, flow_run_name: str) -> RunView:
    """A Failed, Crashed or Late Prefect run, reported by its automation: listed with the
    failed runs (``carepath runs list --status failed``), so no one needs the Prefect UI."""
    now = app.clock.now()
    with transaction(app.engine) as session:
        row = RunRow(flow="prefect_problem", name=f"{state} {flow_run_name}"[:200],
                     status="failed", started_at=now, finished_at=now,
                     error=f"Prefect reported flow run {flow_run_name} ({flow_run_id}) {state}",
                     **(_runner_identity(app) | {"flow_run_id": flow_run_id[:64]}))
        session.add(row)
        session.flush()
        app.audit(session, "report_problem", "flow_run", flow_run_id, state=state,
                  name=flow_run_name)
        return _run_view(row)
