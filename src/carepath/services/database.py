"""The database itself, for ``carepath db``: its schema revision, and upgrades to a revision.

A database that cannot be reached is an ``InputError`` naming the URL (password masked),
never a driver traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from carepath.adapters.db import current_revision, make_engine, upgrade
from carepath.adapters.db.errors import described
from carepath.config.settings import Settings
from carepath.errors import InputError

__all__ = ["described", "masked", "schema_revision", "upgrade_schema"]

T = TypeVar("T")


def masked(url: str) -> str:
    """The URL with its password shown as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def schema_revision(settings: Settings) -> str | None:
    """The schema revision of the settings' database; None when it is empty."""
    url = settings.database_url
    return _reach(url, lambda: current_revision(_engine(settings)))


def upgrade_schema(settings: Settings, revision: str) -> tuple[str | None, str | None]:
    """Apply migrations up to ``revision`` (creating the database when it does not exist):
    the revisions before and after."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", revision):  # alembic asserts on "" or "0001-01-01"
        raise InputError("revision", f"{revision!r} is not a revision name",
                         "use head, or a revision id such as 0005")
    from alembic.util.exc import CommandError  # Alembic only for the commands that need it

    url = settings.database_url
    engine = _engine(settings)
    before = _reach(url, lambda: current_revision(engine))
    try:
        _reach(url, lambda: upgrade(engine, revision))
    except CommandError as error:  # an unknown revision name
        raise InputError("revision", str(error), "use head, or a revision id such as 0005") \
            from None
    return before, current_revision(engine)


def _engine(settings: Settings) -> Engine:
    url = settings.database_url
    try:
        return make_engine(url, connect_timeout=settings.db_connect_timeout,
                           statement_timeout=settings.db_statement_timeout)
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
