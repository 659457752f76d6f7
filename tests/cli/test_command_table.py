"""``carepath --help`` answers from a table without importing the areas: the table must say
what each command's own help says, and every command must still load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from carepath.cli import COMMANDS
from carepath.cli.group import load_command
from database_templates import copy_sqlite


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_line_is_the_commands_own_first_line(name: str) -> None:
    module, attribute, summary = COMMANDS[name]
    command = load_command(name, module, attribute)
    own = " ".join((command.help or "").strip().split("\n\n")[0].split())
    assert summary == own


def test_help_imports_no_database_prefect_or_services() -> None:
    """What keeps `carepath --help` fast: nothing heavy is imported to list the commands."""
    probe = ("import sys; from carepath.cli import app; "
             "from typer.testing import CliRunner; "
             "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
             "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'prefect', 'alembic', "
             "'carepath.services', 'icalendar', 'jinja2') if m in sys.modules); print(heavy)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).parent)
    assert done.stdout.strip() == "[]"


def test_a_read_command_loads_no_messaging_and_the_next_no_yaml(
        tmp_path: Path, config_dir: Path, sqlite_template: Path) -> None:
    """What keeps `carepath appointments list` and `slots` quick: the event handlers that
    write invites and emails (iCalendar, Jinja, the notify service) load when a booking
    publishes an event, not to read the diary; once one command has checked the config, the
    next reads the checked result and the clinic's holidays from the home's cache instead of
    parsing YAML and importing the holiday calendars; and listing never loads the engine."""
    copy_sqlite(sqlite_template, tmp_path / "home" / "carepath.db")
    probe = ("import sys; from carepath.cli import app; "
             "from typer.testing import CliRunner; "
             "r = CliRunner().invoke(app, sys.argv[1].split()); "
             "assert r.exit_code == 0 and r.output.strip(), r.output; "
             "print(sorted(m for m in sys.argv[2:] if m in sys.modules))")
    env = {**os.environ, "CAREPATH_HOME": str(tmp_path / "home"),
           "CAREPATH_CONFIG_DIR": str(config_dir)}
    env.pop("CAREPATH_DATABASE_URL", None)
    messaging = ["icalendar", "jinja2", "carepath.services.notify",
                 "carepath.domain.messages.invites"]
    parsing = ["ruamel.yaml", "holidays"]
    slots = "slots treatment --pathway post-relapse --from 2027-03-15 --limit 2"
    for command, heavy in (("appointments list", messaging),  # a new home,
                           ("appointments list", [*messaging, *parsing,  # then the same one
                                                  "carepath.domain.scheduling"]),
                           (slots, [*messaging, *parsing])):
        done = subprocess.run([sys.executable, "-c", probe, command, *heavy],
                              capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent, env=env)
        assert done.stdout.strip().splitlines()[-1] == "[]", (command, done.stdout)
