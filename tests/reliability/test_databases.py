"""Databases that misbehave: a server that accepts and never answers, a statement held up,
damaged or newer SQLite files, URLs carepath cannot use. Each is one line and an exit code,
never a traceback and never a hang."""

from __future__ import annotations

import gc
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from reliability_support import Cli, assert_clean
from sqlalchemy import create_engine, text

from availability import postgres_url

CARPATH = str(Path(sys.executable).parent / "carepath")


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts every connection and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def _environment(home: Path, config_dir: Path, **env: str) -> dict[str, str]:
    return {**os.environ, "CAREPATH_HOME": str(home), "CAREPATH_CONFIG_DIR": str(config_dir),
            "COLUMNS": "400", **env}


def _process(home: Path, config_dir: Path, *args: str, **env: str) -> tuple[int, str]:
    """``carepath`` as a new process; the timeout only guards the test against a hang."""
    done = subprocess.run([CARPATH, *args], env=_environment(home, config_dir, **env),
                          capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, done.stdout + done.stderr


NEVER_ANSWERED = [("patients", "list"), ("serve", "--engine", "direct"), ("db", "upgrade")]


def test_a_server_that_never_answers_is_one_line_not_a_hang(
        tmp_path: Path, config_dir: Path) -> None:
    """Issue case 3: every command (and serve) hung forever on such a host. The commands run
    at once, each in its own process and home, so the suite waits out one timeout, not three."""
    running: dict[str, subprocess.Popen[str]] = {}
    with silent_server() as port:
        try:
            for args in NEVER_ANSWERED:
                running[" ".join(args)] = subprocess.Popen(
                    [CARPATH, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    text=True, env=_environment(
                        tmp_path / args[0], config_dir, CAREPATH_DB_CONNECT_TIMEOUT="1",
                        CAREPATH_DATABASE_URL=f"postgresql://carepath@127.0.0.1:{port}/c"))
            outputs = {name: (process.communicate(timeout=120)[0], process.returncode)
                       for name, process in running.items()}
        finally:  # a command that hung (or failed to start) leaves no process behind
            for process in running.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
    for name, (output, code) in outputs.items():
        assert code == 6, (name, output)
        assert "did not answer within CAREPATH_DB_CONNECT_TIMEOUT" in output, (name, output)
        assert "Traceback" not in output and len(output.strip().splitlines()) == 1, name


@pytest.mark.postgres
def test_a_statement_held_up_past_the_statement_timeout_is_one_line(
        tmp_path: Path, config_dir: Path) -> None:
    """Another session holds the patient table; the statement timeout cancels the wait."""
    from carepath.testing import postgres_schema

    with postgres_schema(postgres_url()) as url:
        code, output = _process(tmp_path, config_dir, "patients", "list",
                                CAREPATH_DATABASE_URL=url)
        assert code == 0, output
        blocker = create_engine(url)
        with blocker.connect() as connection:
            connection.execute(text("LOCK TABLE patient IN ACCESS EXCLUSIVE MODE"))
            code, output = _process(tmp_path, config_dir, "patients", "list",
                                    CAREPATH_DATABASE_URL=url,
                                    CAREPATH_DB_STATEMENT_TIMEOUT="0.5")
            connection.rollback()
        blocker.dispose()
    assert code == 6, output
    assert "ran longer than CAREPATH_DB_STATEMENT_TIMEOUT" in output and "Traceback" not in output


def _sqlite_home(cli: Cli) -> Path:
    assert cli("patients", "add", "MRN1", "--name", "Ann Example").exit_code == 0
    return cli.home / "carepath.db"


def _one_line(result: object, *needles: str) -> None:
    assert_clean(result)  # type: ignore[arg-type]
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code != 0, output  # type: ignore[attr-defined]
    assert len(output.strip().splitlines()) == 1, output
    for needle in needles:
        assert needle in output, output


def test_a_sqlite_file_of_random_bytes(cli: Cli) -> None:
    """Issue case 8: a corrupt SQLite file was a traceback."""
    database = _sqlite_home(cli)
    # As after a crash and a bad disk: no live connection and no write-ahead log to read the
    # rows from (an in-process connection left open could still serve them from its log).
    gc.collect()
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for leftover in ("carepath.db-wal", "carepath.db-shm"):
        cli.home.joinpath(leftover).unlink(missing_ok=True)
    database.write_bytes(os.urandom(8192))
    _one_line(cli("patients", "list"), "unreadable (file is not a database)", "backup")


def test_a_truncated_sqlite_file(cli: Cli) -> None:
    """Cut to its first page: SQLite reads the header, then finds pages missing."""
    database = _sqlite_home(cli)
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = database.read_bytes()
    database.write_bytes(data[:4096])
    result = cli("patients", "list")
    _one_line(result, "backup")


def test_a_text_file_in_place_of_the_database(cli: Cli) -> None:
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "carepath.db").write_text("this is not a database\n" * 200)
    _one_line(cli("patients", "list"), "file is not a database")


def test_a_schema_newer_than_the_code(cli: Cli) -> None:
    """Issue case 8: a revision this code does not know was Alembic's traceback."""
    database = _sqlite_home(cli)
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    _one_line(cli("patients", "list"), "schema revision '0099'", "newer carepath")


@pytest.mark.postgres
def test_a_schema_newer_than_the_code_on_postgresql(cli: Cli) -> None:
    from carepath.testing import postgres_schema

    with postgres_schema(postgres_url()) as url:
        assert cli("patients", "list", CAREPATH_DATABASE_URL=url).exit_code == 0
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        engine.dispose()
        _one_line(cli("patients", "list", CAREPATH_DATABASE_URL=url), "'0099'")


BAD_URLS = {
    "port not a number": ("postgresql://carepath@127.0.0.1:abc/c", "port is not a number"),
    "port out of range": ("postgresql://carepath@127.0.0.1:99999/c", "out of range"),
    "mysql": ("mysql://carepath@127.0.0.1/c", "driver 'mysql'"),
    "asyncpg": ("postgresql+asyncpg://carepath@127.0.0.1/c", "driver 'postgresql+asyncpg'"),
    "psycopg2": ("postgresql+psycopg2://carepath@127.0.0.1/c", "driver 'postgresql+psycopg2'"),
    "oracle": ("oracle://carepath@127.0.0.1/c", "driver 'oracle'"),
    "not a url": ("carepath database please", "is not a database URL"),
    "password masked": ("mysql://carepath:hunter2@127.0.0.1/c", "driver 'mysql'"),
    "closed port": ("postgresql://carepath@127.0.0.1:1/c", "cannot use the database"),
    "sqlite path is a folder": ("sqlite:///{home}", "cannot use the database"),
}


@pytest.mark.parametrize("name", sorted(BAD_URLS))
def test_a_database_url_carepath_cannot_use(cli: Cli, name: str) -> None:
    url, needle = BAD_URLS[name]
    cli.home.mkdir(parents=True, exist_ok=True)
    result = cli("patients", "list", CAREPATH_DATABASE_URL=url.format(home=cli.home),
                 CAREPATH_DB_CONNECT_TIMEOUT="2")
    _one_line(result, needle)
    assert "hunter2" not in result.output


BAD_TIMEOUTS = {"CAREPATH_DB_CONNECT_TIMEOUT": ["abc", "-1", "0", "nan", "1e9"],
                "CAREPATH_DB_STATEMENT_TIMEOUT": ["soon", "-5", "inf"]}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, vs in BAD_TIMEOUTS.items()
                                             for v in vs])
def test_a_timeout_setting_that_is_not_a_number_of_seconds(
        cli: Cli, name: str, value: str) -> None:
    _one_line(cli("patients", "list", **{name: value}), name, "number of seconds")


def test_a_sqlite_write_lock_held_past_the_statement_timeout_is_one_line(cli: Cli) -> None:
    """Another process holds SQLite's write lock (a long batch, say): the wait is bounded by
    the same setting as a PostgreSQL statement, and said so."""
    database = _sqlite_home(cli)
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = cli("patients", "add", "MRN2", "--name", "Bo Example",
                     CAREPATH_DB_STATEMENT_TIMEOUT="0.5")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _one_line(result, "stayed locked by another carepath command",
              "CAREPATH_DB_STATEMENT_TIMEOUT")
