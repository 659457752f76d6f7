"""``carepath demo``: twelve weeks of the example clinic, into ``var/demo``."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import time as timer
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from carepath.cli.common import console
from carepath.cli.config import parse_date

if TYPE_CHECKING:
    from carepath.demo import DemoResult


def demo(
    home: Path = typer.Option(Path("var/demo"), "--home", help="folder to (re)create"),
    start: str = typer.Option("2027-03-01", "--start", help="first day of the virtual clinic"),
    weeks: int = typer.Option(12, "--weeks", min=1, max=52, help="how long to simulate"),
    seed: int = typer.Option(7, "--seed", help="random seed: the same seed, the same story"),
) -> None:
    """Run the example clinic from an empty folder and print what happened."""
    from carepath.demo import run_demo  # the flows and Prefect: only for this command

    began = timer.perf_counter()
    result = run_demo(home, start=parse_date(start, "--start"), seed=seed, weeks=weeks,
                      say=lambda line: console.print(line, markup=False))
    console.print(_summary_table(result))
    console.print(f"done in {timer.perf_counter() - began:.1f} s (seed {seed}). Look at:")
    for label, path in (("database", result.home / "carepath.db"),
                        ("emails (.eml)", result.home / "mail"),
                        ("therapist calendars (.ics)", result.home / "calendars"),
                        ("episode reports (.html)", result.home / "reports")):
        console.print(f"  {label:<28} {path}", markup=False)
    for line in next_commands(home, sys.argv[0]):
        console.print(line, markup=False, soft_wrap=True)
    last_monday = parse_date(start, "--start") + timedelta(weeks=max(weeks - 1, 0))
    for line in web_commands(home, sys.argv[0], last_monday):
        console.print(line, markup=False, soft_wrap=True)


def web_commands(home: Path, invoked_as: str, day: date) -> list[str]:
    """How to open the web app on the demo's data: a secret and a passphrase of your own
    (read from the terminal, never written down here), a login, the server."""
    prefix = _prefix(home, invoked_as)
    return ["Open the web app on the demo data (type a passphrase of 12+ characters at the "
            "prompt of read):",
            "  export CAREPATH_WEB_SECRET=\"$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')\"",
            "  read -rs DEMO_PASSWORD && export DEMO_PASSWORD",
            f"  {prefix} users add demo --role admin --therapist chen "
            "--password-env DEMO_PASSWORD",
            f"  {prefix} web",
            f"  then open http://localhost:8000/day?day={day.isoformat()} and sign in as demo"]


def next_commands(home: Path, invoked_as: str) -> list[str]:
    """What to type next, exactly as it works in a fresh shell: the same ``carepath`` program
    this run used (``.venv/bin/carepath`` after ``make demo``; it is not on the PATH) and the
    demo's home, quoted for the shell."""
    prefix = _prefix(home, invoked_as)
    return ["Try (copy and paste):",
            f"  {prefix} escalations list",
            f"  {prefix} episodes list",
            f"  {prefix} outbox list"]


def _summary_table(result: DemoResult) -> Table:
    table = Table(title="carepath demo summary")
    table.add_column("what")
    table.add_column("by state", overflow="fold")
    table.add_column("total", justify="right")
    for what, counts in result.summary.items():
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        table.add_row(what, detail, str(sum(counts.values())))
    story = result.story
    table.add_row("stalling patient", story.stalling_patient, "")
    table.add_row("relapse", f"{story.relapsing_patient} on {story.relapse_day}: "
                  f"{len(story.relapse_cancelled)} booster visit(s) cancelled, "
                  f"new episode {story.relapse_episode}", "")
    return table


def _prefix(home: Path, invoked_as: str) -> str:
    program = invoked_as if os.sep in invoked_as else "carepath"
    if os.path.isabs(program):
        with contextlib.suppress(ValueError):  # another drive (Windows): keep it absolute
            program = os.path.relpath(program)
    return f"CAREPATH_HOME={shlex.quote(str(home))} {shlex.quote(program)}"
