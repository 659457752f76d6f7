"""``carepath db``: schema upgrades and where the data lives."""

from __future__ import annotations

import typer

from carepath.adapters.db import current_revision, make_engine, upgrade
from carepath.cli.common import console, settings

db_app = typer.Typer(help="Database schema and location.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head")) -> None:
    """Apply schema migrations (creates the database when it does not exist)."""
    engine = make_engine(settings().database_url)
    before = current_revision(engine)
    upgrade(engine, revision)
    console.print(f"database at revision {current_revision(engine)} (was {before or 'empty'})")


@db_app.command("info")
def info() -> None:
    """Where carepath keeps its data, and the schema revision (secrets masked)."""
    current = settings()
    for key, value in current.public().items():
        console.print(f"{key}: {value}", markup=False)
    console.print(f"revision: {current_revision(make_engine(current.database_url))}")
