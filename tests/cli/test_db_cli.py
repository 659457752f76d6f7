"""``carepath db upgrade`` and ``db info``: schema at head, secrets never printed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from typer.testing import CliRunner

from carepath.adapters.db import make_engine
from carepath.cli import app

runner = CliRunner()
SECRET = "pa55-w0rd-never-shown"


def _env(tmp_path: Path, config_dir: Path, **extra: str) -> dict[str, str]:
    return {"COLUMNS": "240", "CAREPATH_HOME": str(tmp_path / "home"),
            "CAREPATH_CONFIG_DIR": str(config_dir), **extra}


def test_db_upgrade_creates_the_schema_in_an_empty_sqlite_file(
    tmp_path: Path, config_dir: Path
) -> None:
    """From nothing to head: the file exists and holds the patient table."""
    result = runner.invoke(app, ["db", "upgrade"], env=_env(tmp_path, config_dir))
    assert result.exit_code == 0, result.output
    assert "(was empty)" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'home' / 'carepath.db'}")
    assert {"patient", "episode", "audit"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_db_upgrade_twice_changes_nothing_the_second_time(
    tmp_path: Path, config_dir: Path
) -> None:
    """Upgrading a database already at head is a no-op that says so."""
    env = _env(tmp_path, config_dir)
    first = runner.invoke(app, ["db", "upgrade"], env=env)
    second = runner.invoke(app, ["db", "upgrade"], env=env)
    head = first.output.split("revision ")[1].split(" ")[0]
    assert second.exit_code == 0
    assert second.output.strip() == f"database at revision {head} (was {head})"


def test_db_info_masks_every_secret(tmp_path: Path, config_dir: Path) -> None:
    """SMTP and CalDAV passwords from the environment appear only as ***."""
    env = _env(tmp_path, config_dir, CAREPATH_SMTP_PASSWORD=SECRET,
               CAREPATH_CALDAV_PASSWORD=SECRET + "-dav")
    result = runner.invoke(app, ["db", "info"], env=env)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "smtp_password: ***" in result.output
    assert "caldav_password: ***" in result.output
    assert f"home: {tmp_path / 'home'}" in result.output


def test_db_info_masks_the_password_in_the_database_url(
    tmp_path: Path, config_dir: Path
) -> None:
    """A URL with a password is shown masked, even when the server cannot be reached."""
    url = f"postgresql://carepath:{SECRET}@127.0.0.1:1/carepath"
    result = runner.invoke(app, ["db", "info"],
                           env=_env(tmp_path, config_dir, CAREPATH_DATABASE_URL=url))
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "Traceback" not in result.output
    assert "database_url: postgresql://carepath:***@127.0.0.1:1/carepath" in result.output
    assert "revision: unknown (cannot use postgresql://carepath:***@" in result.output


def test_db_upgrade_against_an_unreachable_server_is_one_line(
    tmp_path: Path, config_dir: Path
) -> None:
    """No driver traceback: one line naming the masked URL, exit 2."""
    url = f"postgresql://carepath:{SECRET}@127.0.0.1:1/carepath"
    result = runner.invoke(app, ["db", "upgrade"],
                           env=_env(tmp_path, config_dir, CAREPATH_DATABASE_URL=url))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and SECRET not in result.output
    assert lines[0].startswith("error: database: cannot use postgresql://carepath:***@")


def test_db_upgrade_with_a_url_that_is_no_url_is_one_line(
    tmp_path: Path, config_dir: Path
) -> None:
    """A typo in the URL's scheme is a clear line, not an ArgumentError."""
    result = runner.invoke(app, ["db", "upgrade"], env=_env(
        tmp_path, config_dir, CAREPATH_DATABASE_URL="carepath.db"))
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: CAREPATH_DATABASE_URL: 'carepath.db' is not a database URL — use "
        "sqlite:///path/to/carepath.db or postgresql://user@host/db")
