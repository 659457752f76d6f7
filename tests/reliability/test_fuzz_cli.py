"""Fuzzing the command line: every command, with random and tricky dates, ids and options,
ends with an exit code and a message — never a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from fuzzing import fuzz_settings, tricky_text
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import Cli, assert_clean
from typer.testing import CliRunner

from carepath.cli import app as cli_app
from carepath.config.resources import bundled_config_dir

# Long-running or outward-facing: serve runs until stopped, demo builds a clinic, publish
# talks to CalDAV servers. Each has its own tests.
SKIPPED = {("serve",), ("demo",), ("calendar", "publish")}


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if hasattr(command, "list_commands"):  # a group; the root loads its areas on demand
        context = command.context_class(command)
        return [found for name in sorted(command.list_commands(context))
                for found in _commands(command.get_command(context, name), (*path, name))]
    return [] if path in SKIPPED else [(path, command)]


COMMANDS = _commands(typer.main.get_command(cli_app))


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    """A command path, then a random value for each argument and most options."""
    path, command = draw(st.sampled_from(COMMANDS))
    args = list(path)
    for param in command.params:
        if param.param_type_name == "argument":
            args.append(draw(tricky_text))
        elif param.opts[0] in ("--install-completion", "--show-completion", "--help"):
            continue
        elif draw(st.booleans()):
            args.append(param.opts[0])
            if not getattr(param, "is_flag", False):
                args.append(draw(tricky_text))
    return args


@pytest.fixture(scope="module")
def seeded_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A home with the demo patients and one enrolled episode, so ids like 1 exist."""
    home = tmp_path_factory.mktemp("cli-fuzz")
    cli = Cli(home, bundled_config_dir(), CliRunner())
    before = Path.cwd()
    os.chdir(home)  # commands that write files (-o, --output) write them here
    try:
        assert cli("patients", "import", str(bundled_config_dir() / "demo-patients.csv"),
                   ).exit_code == 0
        cli("enroll", "MRN1001", "post-relapse", "--start", "2027-03-01")
        yield cli
    finally:
        os.chdir(before)


def test_the_fuzzer_reaches_every_command() -> None:
    """The command list is read from the CLI itself, so new commands are fuzzed too."""
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"patients add", "pathways show", "audit", "db info"} <= names


@fuzz_settings(quick=30, full=600)
@given(invocations())
def test_random_arguments_never_show_a_traceback(seeded_cli: Cli, args: list[str]) -> None:
    """Any command with any values: exit code and a message, never an uncaught exception."""
    assert_clean(seeded_cli(*args))
