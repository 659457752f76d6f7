"""Engines and sessions: built at start-up, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from carepath.errors import CarepathError, InputError

# The drivers carepath ships and tests; anything else would fail later, less clearly.
DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
URL_FIX = "use sqlite:///path/to/carepath.db or postgresql://user@host/db"


class DatabaseUnusable(CarepathError):
    """The database cannot be used as it is (damaged, newer than this code): what and why."""

    exit_code = 6


def parse_database_url(url: str) -> URL:
    """``url`` parsed, or one ``InputError`` naming what is wrong with it."""
    name = "CAREPATH_DATABASE_URL"
    try:
        parsed = make_url(url)
    except ValueError as error:  # a port that is not a number
        raise InputError(name, f"{_masked(url)!r}: its port is not a number ({error})",
                         URL_FIX) from None
    except ArgumentError:
        raise InputError(name, f"{_masked(url)!r} is not a database URL", URL_FIX) from None
    if parsed.drivername not in DRIVERS:
        raise InputError(name, f"the driver {parsed.drivername!r} is not one carepath ships "
                         "(SQLite, PostgreSQL through psycopg)", URL_FIX)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InputError(name, f"port {parsed.port} is out of range", "use 1-65535")
    return parsed


def _masked(url: str) -> str:
    from carepath.config.settings import mask_url

    return mask_url(url)


def make_engine(url: str, *, echo: bool = False, connect_timeout: float | None = None,
                statement_timeout: float | None = None) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout. On
    PostgreSQL, ``connect_timeout`` (seconds) bounds connecting — a server that accepts and
    never answers — and ``statement_timeout`` bounds every statement."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite's analogue of a statement timeout is how long a writer waits for the write
        # lock: a long batch enrolment holds it for its whole transaction
        wait = statement_timeout or SQLITE_LOCK_WAIT
        engine = create_engine(url, echo=echo, connect_args={"timeout": wait})
        event.listen(engine, "connect", _sqlite_pragmas(wait))
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if connect_timeout:
        connect_args["connect_timeout"] = max(1, round(connect_timeout))  # libpq: whole seconds
    if statement_timeout:
        given = parsed.query.get("options", "")
        given = given if isinstance(given, str) else " ".join(given)
        connect_args["options"] = " ".join(
            filter(None, [given, f"-c statement_timeout={round(statement_timeout * 1000)}"]))
    return create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=connect_args)


SQLITE_LOCK_WAIT = 30.0  # seconds, when no statement timeout is set


def _sqlite_pragmas(wait: float) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Python's sqlite3 opens transactions lazily; we issue BEGIN IMMEDIATE ourselves so
        # that every write transaction holds the write lock from its first statement.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={round(wait * 1000)}")
        cursor.close()
    return on_connect


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
