"""One orchestrator per database, fenced.

Exactly one orchestrator runs the timed sweeps against a database: either ``carepath serve``
or the Prefect deployments. It holds the lease row ``scheduler``, which names its engine
(``serve`` or ``prefect``) and carries a *fencing token* that grows whenever the lease
changes hands.

A lease alone cannot stop a process that was frozen (SIGSTOP, a long GC pause, a VM
migration) past its expiry: it wakes up believing it still owns the database. So every
transaction of a fenced process checks, just before it commits and inside the same
transaction, that the lease still carries its token and has not expired. On PostgreSQL the
check takes a share lock on the lease row, so a take-over waits for the commit or the commit
sees the new token; on SQLite every write transaction holds the write lock from BEGIN
IMMEDIATE. Either way a stale owner's writes are refused (``FencedOut``) and nothing of them
is stored.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import select

from carepath.adapters.tables import LeaseRow
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.fence import FENCE_OPTION, LEASE, Fence, fence_of
from carepath.services.runs import LeaseView, acquire_lease, lease_holder

# Fence, fence_of and LEASE live in ``fence`` (the run records need them too)
__all__ = ["LEASE", "PREFECT_OWNER", "Fence", "FencedOut", "OrchestratorBusy", "check_fence",
           "claim", "fence_of", "fenced", "holder", "renew", "this_process"]

PREFECT_OWNER = "prefect"  # every Prefect worker shares the lease: the deployments are one


class FencedOut(CarepathError):
    """This process no longer holds the orchestrator lease; its write was refused."""

    exit_code = 9

    def __init__(self, fence: Fence, holder: str) -> None:
        self.fence = fence
        super().__init__(f"the orchestrator lease moved on ({holder}); this {fence.engine} "
                         f"({fence.owner}, token {fence.token}) writes nothing more")


class OrchestratorBusy(CarepathError):
    """Another orchestrator holds the database."""

    exit_code = 8

    def __init__(self, holder: LeaseView, wanted: str) -> None:
        self.holder = holder
        until = f"{holder.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        if holder.engine == "prefect":
            what = (f"the Prefect deployments orchestrate this database (lease until {until}); "
                    "pause them (prefect deployment schedule pause --all) before carepath serve, "
                    "or start serve with --standby")
        else:
            what = (f"carepath serve ({holder.owner}) orchestrates this database (lease until "
                    f"{until}); stop it before "
                    + ("running the Prefect deployments" if wanted == "prefect"
                       else "starting another, or start this one with --standby"))
        super().__init__(what)


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(app: App, engine: str, owner: str, ttl: timedelta, *,
          take_over: str | None = None) -> Fence | None:
    """Take (or renew) the orchestrator lease; None while another owner holds it."""
    token = acquire_lease(app, LEASE, owner, ttl, take_over=take_over, engine=engine)
    return None if token is None else Fence(owner, token, engine, app.clock)


def renew(app: App, fence: Fence, ttl: timedelta) -> bool:
    """Extend the lease; False when it changed hands meanwhile (the token moved on)."""
    token = acquire_lease(app, LEASE, fence.owner, ttl, engine=fence.engine)
    return token == fence.token


def holder(app: App) -> LeaseView | None:
    """The live holder of the orchestrator lease, if any."""
    return lease_holder(app, LEASE)


def fenced(app: App, fence: Fence) -> App:
    """``app`` whose every transaction checks ``fence`` before it commits.

    The engine is the same pool with an execution option; the check is a Session event.
    """
    return dataclasses.replace(app, engine=app.engine.execution_options(**{FENCE_OPTION: fence}))


def check_fence(session: Session, fence: Fence, now: datetime) -> None:
    """Refuse the commit unless the lease still carries ``fence``'s token and is live."""
    query = (select(LeaseRow.owner, LeaseRow.token, LeaseRow.expires_at)
             .where(LeaseRow.name == fence.name).with_for_update(read=True))
    row = session.execute(query).first()
    if row is None:
        raise FencedOut(fence, "no lease")
    owner, token, expires_at = row
    if token != fence.token or owner != fence.owner:
        raise FencedOut(fence, f"now {owner}, token {token}")
    if expires_at <= now:
        raise FencedOut(fence, f"expired at {expires_at:%H:%M:%S} UTC, not renewed")


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    bind = session.get_bind()
    fence = bind.get_execution_options().get(FENCE_OPTION) if bind is not None else None
    if isinstance(fence, Fence):
        check_fence(session, fence, fence.clock.now())
