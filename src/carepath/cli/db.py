"""``carepath db``: schema upgrades and where the data lives.

A database that cannot be reached is one line naming the URL (password masked), never a
driver traceback; ``db info`` still prints the settings, so the admin can see why.
"""

from __future__ import annotations

import typer

from carepath.cli.common import console, settings
from carepath.errors import InputError
from carepath.services.database import masked, schema_revision, upgrade_schema

db_app = typer.Typer(help="Database schema and location.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head")) -> None:
    """Apply schema migrations (creates the database when it does not exist)."""
    before, after = upgrade_schema(settings(), revision)
    console.print(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("info")
def info() -> None:
    """Where carepath keeps its data, and the schema revision (secrets masked)."""
    current = settings()
    shown = current.public() | {"database_url": masked(current.database_url)}
    for key, value in shown.items():
        console.print(f"{key}: {value}", markup=False)
    try:
        revision = schema_revision(current)
    except InputError as error:
        revision = f"unknown ({error.why})"
    console.print(f"revision: {revision or 'empty (run: carepath db upgrade)'}", markup=False)
