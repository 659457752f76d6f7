"""The manual cannot rot: every ``carepath`` command shown in README.md and docs/ runs here
(in-process, through Typer's runner) against a copy of the demo's home, its shown output is
compared, and every config example validates.

Conventions of the pages (see docs/developing.md):
- a ```console block holds ``$ carepath …`` lines, each followed by the output it prints
  (compared line by line, ignoring trailing spaces; ``...`` on a line of its own skips lines);
- in a ```sh block every line starting with ``carepath`` (optionally after ``VAR=value``
  assignments or as ``.venv/bin/carepath``) runs and must exit 0;
- ``<!-- not-run: reason -->`` on the line before a block exempts it (a server, a placeholder);
- ``<!-- config: FILE -->`` before a ```yaml block replaces FILE of the example clinic with the
  block (or, for ``clinic.yaml``, merges its top-level keys in) and the result must validate.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result
from ruamel.yaml import YAML
from typer.testing import CliRunner

from carepath.cli import app as cli_app
from carepath.demo import DemoResult

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!--\s*(not-run|config):\s*(.*?)\s*-->\s*$")
DEMO_OUTPUTS = ("mail", "calendars", "reports")
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


@dataclass
class Block:
    page: Path
    line: int
    language: str
    body: list[str]
    mark: tuple[str, str] | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass
class Command:
    block: Block
    argv: list[str]
    env: dict[str, str]
    expected: list[str] | None = field(default=None)


def blocks(page: Path) -> list[Block]:
    found, current, mark = [], None, None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if current is None and fence:
            current = Block(page, number, fence.group(1), [], mark)
        elif current is not None and line.startswith("```"):
            found.append(current)
            current = None
        elif current is not None:
            current.body.append(line)
        if current is None and not fence:
            marked = MARK.match(line.strip())
            mark = (marked.group(1), marked.group(2)) if marked else (
                mark if not line.strip() else None)
    return found


def _command(block: Block, text: str) -> Command | None:
    words = shlex.split(text, comments=True)
    env: dict[str, str] = {}
    while words and ASSIGNMENT.match(words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if not words or os.path.basename(words[0]) != "carepath":
        return None
    return Command(block, words[1:], env)


def commands() -> list[Command]:
    found = []
    for page in PAGES:
        for block in blocks(page):
            if block.mark and block.mark[0] == "not-run":
                continue
            if block.language == "console":
                found += _console_commands(block)
            elif block.language in ("sh", "bash", "shell"):
                found += [c for line in block.body if (c := _command(block, line))]
    return found


def _console_commands(block: Block) -> list[Command]:
    found: list[Command] = []
    for line in block.body:
        if line.startswith("$ "):
            command = _command(block, line[2:])
            if command is not None:
                command.expected = []
                found.append(command)
        elif found and found[-1].expected is not None:
            found[-1].expected.append(line)
    return found


@pytest.fixture(scope="session")
def demo_home(lived_demo: DemoResult) -> Path:
    """The demo's clinic six weeks in (the lived demo, shared with the flow and FHIR tests):
    what a newcomer has after ``make demo``. Each command runs on its own copy of it. The
    ``carepath demo`` command itself is run by tests/flows/test_demo.py."""
    return lived_demo.home


def _environment() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}
    return keep | {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``...`` on a line of its own stands for any number of lines."""
    pattern = "".join(".*?\n" if line.strip() == "..." else re.escape(line.rstrip()) + "\n"
                      for line in expected)
    return re.fullmatch(pattern, "".join(line.rstrip() + "\n" for line in actual),
                        re.DOTALL) is not None


DOCUMENTED = commands()


def test_the_manual_shows_commands_to_run() -> None:
    assert len(DOCUMENTED) >= 10, "the pages lost their runnable examples"


@pytest.mark.parametrize("command", DOCUMENTED, ids=[
    f"{c.block.where}:{' '.join(c.argv[:3])}" for c in DOCUMENTED])
def test_documented_command_runs_as_shown(command: Command, demo_home: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process through Typer's runner (the process boundary is not what a page shows),
    with the environment a newcomer's shell would have: no other CAREPATH_ setting."""
    home = tmp_path / "home"
    # The demo's output folders are left out: no documented command reads them, and copying
    # its eight hundred emails for each command cost more than running the commands.
    shutil.copytree(demo_home, home, ignore=shutil.ignore_patterns(*DEMO_OUTPUTS))
    monkeypatch.chdir(tmp_path)  # files a command writes land here
    unset = dict.fromkeys(k for k in os.environ if k.startswith("CAREPATH_"))
    env = unset | _environment() | command.env | {"CAREPATH_HOME": str(home)}
    done = CliRunner().invoke(cli_app, command.argv, env=env)
    assert done.exit_code == 0, (
        f"{command.block.where}: `carepath {shlex.join(command.argv)}` exited "
        f"{done.exit_code}:\n{done.stderr}{done.stdout}{_traceback(done)}")
    if command.expected:
        assert _matches(command.expected, done.stdout.splitlines()), (
            f"{command.block.where}: the page shows\n" + "\n".join(command.expected)
            + "\nbut the command printed\n" + done.stdout)


def _traceback(done: Result) -> str:
    if done.exception is None or isinstance(done.exception, SystemExit):
        return ""
    return "".join(traceback.format_exception(done.exception))


CONFIG_EXAMPLES = [b for page in PAGES for b in blocks(page)
                   if b.mark and b.mark[0] == "config"]


@pytest.mark.parametrize("block", CONFIG_EXAMPLES, ids=[b.where for b in CONFIG_EXAMPLES])
def test_config_example_validates(block: Block, config_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "config"
    shutil.copytree(config_dir, folder)
    target = folder / block.mark[1]  # type: ignore[index]
    text = "\n".join(block.body) + "\n"
    if target.name == "clinic.yaml":
        yaml = YAML()
        clinic = yaml.load(target.read_text(encoding="utf-8"))
        clinic.update(yaml.load(text))
        with target.open("w", encoding="utf-8") as out:
            yaml.dump(clinic, out)
    else:
        target.write_text(text, encoding="utf-8")
    done = CliRunner().invoke(cli_app, ["config", "validate", str(folder)], env=_environment())
    assert done.exit_code == 0, (
        f"{block.where}: the example does not validate:\n{done.stdout}{done.stderr}")


def test_reference_pages_are_generated_from_the_code() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs_reference.py"),
                           "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_setting_the_code_reads_is_documented() -> None:
    read = set()
    for source in [*(ROOT / "src").rglob("*.py"), *(ROOT / "flows").rglob("*.py")]:
        read |= set(re.findall(r"\b(CAREPATH_[A-Z][A-Z0-9_]*[A-Z0-9])\b",
                               source.read_text(encoding="utf-8")))
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(name for name in read if name not in documented)
    assert not missing, f"settings read by the code but not in docs/configuration.md: {missing}"
