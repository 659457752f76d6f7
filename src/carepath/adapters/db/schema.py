"""The schema: upgraded by Alembic when it is not at this code's head revision."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from carepath.adapters.db.engine import DatabaseUnusable

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

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
