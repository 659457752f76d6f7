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

from carepath import bootstrap
from carepath.config.settings import Settings
from carepath.domain.text import printable, printable_json
from carepath.services import App

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class Format(StrEnum):
    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(Format.table, "--format", help="table for people, json for scripts")


def settings() -> Settings:
    return Settings.from_env(os.environ)


def open_app() -> App:
    """The app for this command: settings from the environment, the wall clock."""
    return bootstrap.open_app(settings())


def emit(rows: Sequence[dict[str, Any]], fmt: Format, title: str = "",
         columns: Sequence[str] | None = None) -> None:
    """Print ``rows`` as a Rich table or as JSON (every value as in the dict)."""
    if fmt is Format.json:
        typer.echo(printable_json(json.dumps(list(rows), indent=2, default=str,
                                             ensure_ascii=False)))
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=escape(title) or None, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        table.add_row(*(escape(printable(_cell(row.get(c)))) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
