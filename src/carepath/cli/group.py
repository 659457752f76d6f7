"""The command tree's root: each area's module is imported only when one of its commands runs.

``carepath --help`` lists every command from ``COMMANDS`` (name, module, object, one line of
help) without importing SQLAlchemy, Prefect or the services, so it answers at the speed of
Typer itself; a test checks each line against the real command's help, so the list cannot rot.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from carepath.errors import CarepathError


class ErrorGroup(TyperGroup):
    """Turns every ``CarepathError`` below it into one clear line and its exit code."""

    def invoke(self, ctx: Any) -> Any:  # click's Context (typer vendors click)
        try:
            return super().invoke(ctx)
        except CarepathError as error:
            _say(escape(str(error)))
            raise typer.Exit(error.exit_code) from None
        except OSError as error:  # a path the user gave: missing, a folder, not writable
            where = f" {error.filename}" if error.filename else ""
            _say(f"cannot use{escape(where)}: {escape(error.strerror or str(error))}")
            raise typer.Exit(7) from None
        except OverflowError as error:  # e.g. an id past 64 bits reaching SQLite
            _say(f"a value is out of range: {escape(str(error))}")
            raise typer.Exit(2) from None
        except Exception as error:
            code = _database_error(error)
            if code is None:
                raise
            raise typer.Exit(code) from None


def _database_error(error: Exception) -> int | None:
    """One line for SQLAlchemy's errors — only ever raised once a command loaded it."""
    exc = sys.modules.get("sqlalchemy.exc")
    if exc is None:
        return None
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    line = _timeout_line(error, reason)
    if line:
        _say(line)
        return 6
    if isinstance(error, exc.OperationalError | exc.ArgumentError):  # server down, bad URL
        _say(f"cannot use the database: {escape(reason)} — check CAREPATH_DATABASE_URL and "
             "that the server runs")
        return 6
    if isinstance(error, exc.DataError):  # e.g. an id past 64 bits reaching PostgreSQL
        _say(f"a value is out of range: {escape(reason)}")
        return 2
    if isinstance(error, exc.DatabaseError) and _DAMAGED in reason:
        _say(f"the database is damaged: {escape(reason)} — restore it from a backup")
        return 6
    return None


_DAMAGED = "malformed"  # SQLite: "database disk image is malformed"


def _timeout_line(error: Exception, reason: str) -> str | None:
    """The settings' timeouts firing, said as what happened and which setting to change."""
    if getattr(getattr(error, "orig", None), "sqlstate", None) == "57014" or (
            "statement timeout" in reason):
        return ("a database statement ran longer than CAREPATH_DB_STATEMENT_TIMEOUT allows "
                "and was cancelled; nothing was changed — raise the setting, or find what "
                "holds the database up")
    if "database is locked" in reason:  # SQLite: another writer held it past the wait
        return ("the database stayed locked by another carepath command longer than "
                "CAREPATH_DB_STATEMENT_TIMEOUT allows; nothing was changed — run it again "
                "when that command has finished, or raise the setting")
    if "timeout expired" in reason:
        return ("the database did not answer within CAREPATH_DB_CONNECT_TIMEOUT — check "
                "CAREPATH_DATABASE_URL and that the server there is up and not overloaded")
    return None


def _say(line: str) -> None:
    from carepath.cli.common import err_console

    err_console.print(f"[bold red]error:[/] {line}", soft_wrap=True)


class LazyGroup(ErrorGroup):
    """A root whose commands come from a table of (module, attribute, one-line help)."""

    table: dict[str, tuple[str, str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False
        self._loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.table)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.table:
            return None
        module, attribute, summary = self.table[name]
        if self._listing:  # the root's --help needs only the name and one line
            return TyperCommand(name=name, help=summary, callback=None)
        if name not in self._loaded:
            self._loaded[name] = load_command(name, module, attribute)
        return self._loaded[name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load_command(name: str, module: str, attribute: str) -> Any:
    """The Click command behind a Typer app or a plain function of ``module``."""
    target = getattr(importlib.import_module(module), attribute)
    # Mounted under a parent, as `add_typer` and `command` did: a sub-app with one command
    # stays a group (`carepath config validate`), and no completion options are added.
    parent = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        parent.add_typer(target, name=name)
    else:
        parent.command(name)(target)
    parent.callback()(_no_options)
    group: Any = typer.main.get_command(parent)
    return group.commands[name]


def _no_options() -> None:
    """A group of one: the parent only carries the command."""
