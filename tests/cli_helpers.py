"""One way to run a carepath command in a test (wide enough that tables never wrap); the
``shell`` fixture in tests/cli/conftest.py gives it a home with the demo patients."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from carepath.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "240"}


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env=WIDE)
