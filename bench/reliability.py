"""Reliability under load: contested bookings on SQLite and PostgreSQL, and an outbox drained
into a real SMTP server on 127.0.0.1.

``python -m bench reliability [--processes 8] [--bookings 500] [--messages 10000]
[--postgres URL]`` — PostgreSQL runs when ``--postgres`` or ``CAREPATH_TEST_POSTGRES_URL``
names a server (a throw-away schema is created and dropped). Prints one line per run:
attempts, winners, clean ``SlotTaken`` losers, anything else, overlaps left in the database,
latency p50/p99 and throughput; then messages/s with lost and doubled counts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench.load import contested_bookings, drain_outbox, open_app
from carepath.config.resources import bundled_config_dir
from carepath.testing import Inbox, postgres_schema, smtp_server


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench reliability")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=500, help="per process")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("CAREPATH_TEST_POSTGRES_URL", ""))
    parser.add_argument("--size", default="", help="ignored (the bench runner passes it)")
    return parser.parse_args(argv)


def _race(home: Path, url: str, backend: str, options: argparse.Namespace) -> None:
    config_dir = bundled_config_dir()
    app = open_app(home, url, config_dir)
    try:
        report = contested_bookings(app, config_dir, processes=options.processes,
                                    rounds=options.bookings, backend=backend)
    finally:
        app.engine.dispose()
    print(report.summary(), flush=True)


def _drain(home: Path, count: int) -> None:
    config_dir = bundled_config_dir()
    app = open_app(home, f"sqlite:///{home}/carepath.db", config_dir)
    inbox = Inbox()
    try:
        with smtp_server(inbox) as port:
            report = drain_outbox(app, count, inbox, port)
    finally:
        app.engine.dispose()
    print(report.summary(), flush=True)


def run(argv: list[str]) -> None:
    options = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="carepath-reliability-") as temp:
        root = Path(temp)
        _race(root / "sqlite", f"sqlite:///{root}/sqlite/carepath.db", "sqlite", options)
        if options.postgres:
            with postgres_schema(options.postgres) as url:
                _race(root / "postgresql", url, "postgresql", options)
        else:
            print("postgresql: skipped (set CAREPATH_TEST_POSTGRES_URL or pass --postgres)")
        _drain(root / "drain", options.messages)
