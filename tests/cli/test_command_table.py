"""``carepath --help`` answers from a table without importing the areas: the table must say
what each command's own help says, and every command must still load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from carepath.cli import COMMANDS
from carepath.cli.group import load_command


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
