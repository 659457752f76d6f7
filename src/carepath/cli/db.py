"""``carepath db``: schema upgrades and where the data lives.

A database that cannot be reached is one line naming the URL (password masked), never a
driver traceback; ``db info`` still prints the settings, so the admin can see why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from carepath.adapters.db import current_revision, make_engine, upgrade
from carepath.cli.common import console, settings
from carepath.errors import InputError

db_app = typer.Typer(help="Database schema and location.", no_args_is_help=True)
T = TypeVar("T")


def masked(url: str) -> str:
    """The URL with its password shown as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def _engine(url: str) -> Engine:
    current = settings()
    try:
        return make_engine(url, connect_timeout=current.db_connect_timeout,
                           statement_timeout=current.db_statement_timeout)
    except ArgumentError:
        raise InputError("CAREPATH_DATABASE_URL", f"{masked(url)} is not a database URL",
                         "use sqlite:///path/to/carepath.db or postgresql://user@host/db"
                         ) from None


def _reach(url: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except OperationalError as error:
        reason = str(error.orig or error).strip().splitlines()[0][:200]
        if "timeout expired" in reason:  # said the same way as by every other command
            raise
        raise InputError("database", f"cannot use {masked(url)}: {reason}",
                         "check CAREPATH_DATABASE_URL and that the server is running"
                         ) from None


@db_app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head")) -> None:
    """Apply schema migrations (creates the database when it does not exist)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", revision):  # alembic asserts on "" or "0001-01-01"
        raise InputError("revision", f"{revision!r} is not a revision name",
                         "use head, or a revision id such as 0005")
    from alembic.util.exc import CommandError  # Alembic only for the commands that need it

    url = settings().database_url
    engine = _engine(url)
    before = _reach(url, lambda: current_revision(engine))
    try:
        _reach(url, lambda: upgrade(engine, revision))
    except CommandError as error:  # an unknown revision name
        raise InputError("revision", str(error), "use head, or a revision id such as 0005") \
            from None
    console.print(f"database at revision {current_revision(engine)} (was {before or 'empty'})")


@db_app.command("info")
def info() -> None:
    """Where carepath keeps its data, and the schema revision (secrets masked)."""
    current = settings()
    shown = current.public() | {"database_url": masked(current.database_url)}
    for key, value in shown.items():
        console.print(f"{key}: {value}", markup=False)
    try:
        revision = _reach(current.database_url,
                          lambda: current_revision(_engine(current.database_url)))
    except InputError as error:
        revision = f"unknown ({error.why})"
    console.print(f"revision: {revision or 'empty (run: carepath db upgrade)'}", markup=False)
