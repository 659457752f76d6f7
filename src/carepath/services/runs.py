"""Workflow runs an admin can see, and leases that keep one scheduler per database.

A run that fails leaves a row with its error (``carepath runs list``), never only a log line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import LeaseRow, RunRow
from carepath.services import App


@dataclass
class RunHandle:
    """What a running workflow may say about itself before it ends."""

    id: int
    summary: str = ""


@contextmanager
def recorded_run(app: App, flow: str, name: str) -> Iterator[RunHandle]:
    """Record a run's start, then its success (with summary) or failure (with the error)."""
    with transaction(app.engine) as session:
        row = RunRow(flow=flow, name=name[:200], started_at=app.clock.now())
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


def _finish(app: App, handle: RunHandle, status: str, error: str) -> None:
    with transaction(app.engine) as session:
        row = session.get(RunRow, handle.id)
        assert row is not None
        row.status, row.error = status, error[:2000]
        row.summary, row.finished_at = handle.summary[:1000], app.clock.now()
        session.add(row)


def list_runs(app: App, *, limit: int = 50, status: str | None = None) -> list[RunRow]:
    with transaction(app.engine) as session:
        query = select(RunRow).order_by(col(RunRow.id).desc()).limit(limit)
        if status:
            query = query.where(RunRow.status == status)
        return list(session.exec(query))


def acquire_lease(app: App, name: str, owner: str, ttl: timedelta, *,
                  take_over: str | None = None) -> bool:
    """Take or renew the lease ``name`` for ``owner``; False while another owner holds it.

    ``take_over`` names a holder known to be dead (its process is gone): its lease is taken
    at once instead of waiting for it to expire.
    """
    now = app.clock.now()
    try:
        with transaction(app.engine) as session:
            query = select(LeaseRow).where(LeaseRow.name == name).with_for_update()
            row = session.exec(query).first()
            if row is None:
                session.add(LeaseRow(name=name, owner=owner, expires_at=now + ttl))
                return True
            if row.owner not in (owner, take_over) and row.expires_at > now:
                return False
            row.owner, row.expires_at = owner, now + ttl
            session.add(row)
            return True
    except IntegrityError:  # another process inserted the lease first
        return False


def release_lease(app: App, name: str, owner: str) -> None:
    with transaction(app.engine) as session:
        row = session.get(LeaseRow, name)
        if row is not None and row.owner == owner:
            session.delete(row)


def lease_holder(app: App, name: str) -> LeaseRow | None:
    with transaction(app.engine) as session:
        row = session.get(LeaseRow, name)
        return row if row is not None and row.expires_at > app.clock.now() else None
