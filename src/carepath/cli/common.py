"""What every command shares: opening the app, printing tables or JSON, one-line errors."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import ArgumentError, DataError, OperationalError
from typer.core import TyperGroup

from carepath.errors import CarepathError
from carepath.services import App
from carepath.settings import Settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class Format(StrEnum):
    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(Format.table, "--format", help="table for people, json for scripts")


class ErrorGroup(TyperGroup):
    """Turns every ``CarepathError`` below it into one clear line and its exit code."""

    def invoke(self, ctx: Any) -> Any:  # click's Context (typer may vendor click)
        try:
            return super().invoke(ctx)
        except CarepathError as error:
            err_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except (OperationalError, ArgumentError) as error:  # database down, or a bad URL
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            err_console.print(f"[bold red]error:[/] cannot use the database: {escape(reason)} — "
                              "check CAREPATH_DATABASE_URL and that the server runs",
                              soft_wrap=True)
            raise typer.Exit(6) from None
        except OSError as error:  # a path the user gave: missing, a folder, not writable
            where = f" {error.filename}" if error.filename else ""
            err_console.print(f"[bold red]error:[/] cannot use{escape(where)}: "
                              f"{escape(error.strerror or str(error))}", soft_wrap=True)
            raise typer.Exit(7) from None
        except (OverflowError, DataError) as error:  # e.g. an id past 64 bits reaching SQLite
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            err_console.print(f"[bold red]error:[/] a value is out of range: {escape(reason)}",
                              soft_wrap=True)
            raise typer.Exit(2) from None


def settings() -> Settings:
    return Settings.from_env(os.environ)


def open_app() -> App:
    """The app for this command: settings from the environment, the wall clock."""
    return App.open(settings())


def emit(rows: Sequence[dict[str, Any]], fmt: Format, title: str = "",
         columns: Sequence[str] | None = None) -> None:
    """Print ``rows`` as a Rich table or as JSON (every value as in the dict)."""
    if fmt is Format.json:
        typer.echo(json.dumps(list(rows), indent=2, default=str, ensure_ascii=False))
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=escape(title) or None, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*(escape(_cell(row.get(c))) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
