"""Engines, sessions and schema upgrades. Engines are built at start-up, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from carepath.errors import CarepathError, InputError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
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
    from carepath.settings import mask_url

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


HEAD = "0017"  # the newest migration (a test keeps it equal to Alembic's head)


def ensure_schema(engine: Engine) -> None:
    """Upgrade to head unless the database is there already: the usual case is one lookup,
    not Alembic's start-up (about a fifth of a second of every command)."""
    try:
        stored = stored_revision(engine)
    except Exception as error:
        damaged = _damaged_sqlite(engine, error)
        if damaged:
            raise damaged from None
        raise
    if stored == HEAD:
        return
    if stored is not None and stored not in known_revisions():
        raise DatabaseUnusable(
            f"the database is at schema revision {stored!r}, which this carepath does not know "
            f"(its newest is {HEAD}) — a newer carepath wrote it: run that version, or restore "
            "a backup made for this one")
    upgrade(engine)


def known_revisions() -> set[str]:
    """Every revision this code's migrations define (read only when the stored one differs)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def _damaged_sqlite(engine: Engine, error: Exception) -> DatabaseUnusable | None:
    """A SQLite file that is not a database (truncated, overwritten, encrypted): one line."""
    if engine.dialect.name != "sqlite":
        return None
    from sqlalchemy.exc import DatabaseError

    if not isinstance(error, DatabaseError):
        return None
    reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
    if not any(sign in reason for sign in ("not a database", "malformed", "disk image")):
        return None  # e.g. "unable to open database file": a path problem, said elsewhere
    return DatabaseUnusable(
        f"the SQLite database {engine.url.database} is unreadable ({reason}) — restore it "
        "from a backup, or move it aside and run again to start an empty one")


def stored_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, read without Alembic; None when empty."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(revision) if revision is not None else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
