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
    """One line for a database driver's errors — only ever raised once a command loaded
    SQLAlchemy, so ``--help`` and the config commands never import it for this."""
    if "sqlalchemy.exc" not in sys.modules:
        return None
    from carepath.services.database import described

    found = described(error)
    if found is None:
        return None
    code, line = found
    _say(escape(line))
    return code


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
