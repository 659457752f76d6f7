"""Helpers shared by the reliability tests and the reliability bench (no fixtures here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import Result
from sqlalchemy import func
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from carepath.adapters.db import transaction
from carepath.cli import app as cli_app
from carepath.services import App
from carepath.testing import Inbox, free_port, smtp_server

FIXED_START = datetime(2027, 3, 1, 7, 0, tzinfo=ZoneInfo("America/New_York"))
POSTGRES_URL = os.environ.get("CAREPATH_TEST_POSTGRES_URL")
__all__ = ["Inbox", "free_port", "smtp_server"]  # from carepath.testing


@dataclass
class Cli:
    """Runs ``carepath`` in-process with its own home folder, as a user would."""

    home: Path
    config_dir: Path
    runner: CliRunner

    def env(self, **extra: str) -> dict[str, str]:
        return {"CAREPATH_HOME": str(self.home), "CAREPATH_CONFIG_DIR": str(self.config_dir),
                "CAREPATH_ACTOR": "reliability", "COLUMNS": "400", **extra}

    def __call__(self, *args: str, **env: str) -> Result:
        return self.runner.invoke(cli_app, list(args), env=self.env(**env))


def assert_clean(result: Result) -> None:
    """A command ended on purpose: an exit code, never a traceback or a stray exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert "Traceback" not in result.output


def count(app: App, table: type[SQLModel]) -> int:
    with transaction(app.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards (PostgreSQL not
    configured: skips, or fails in CI)."""
    from availability import postgres_url
    from carepath.testing import postgres_schema as schema

    with schema(postgres_url()) as url:
        yield url
