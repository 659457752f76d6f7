"""Helpers shared by the reliability tests and the reliability bench (no fixtures here)."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import Result
from sqlalchemy import create_engine, func
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from carepath.adapters.db import transaction
from carepath.cli import app as cli_app
from carepath.services import App

FIXED_START = datetime(2027, 3, 1, 7, 0, tzinfo=ZoneInfo("America/New_York"))
POSTGRES_URL = os.environ.get("CAREPATH_TEST_POSTGRES_URL")


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
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    assert POSTGRES_URL is not None
    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema},public"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (aiosmtpd cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(message_from_bytes(m).get("Message-ID", "")) for m in self.messages]


@contextmanager
def smtp_server(handler: Any, port: int | None = None, **options: Any) -> Iterator[int]:
    """A real SMTP server on 127.0.0.1 for the block; yields its port."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()
