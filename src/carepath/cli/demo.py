"""``carepath demo``: the whole story on the embedded default, into ``var/demo``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from carepath.cli.common import Format, console, emit
from carepath.cli.config import parse_date
from carepath.demo import run_demo


def demo(
    home: Path = typer.Option(Path("var/demo"), "--home", help="folder to (re)create"),
    start: str = typer.Option("2027-03-01", "--start", help="first day of the virtual clinic"),
    seed: int = typer.Option(7, "--seed", help="random seed: the same seed, the same story"),
) -> None:
    """Run the example clinic from an empty folder and print what happened."""
    first_day: date = parse_date(start, "--start")
    result = run_demo(home, start=first_day, say=lambda line: console.print(line, markup=False))
    for plan in result.plans.values():
        rows = [{"#": r.seq, "week": r.week, "visit": r.name, "minutes": r.duration_minutes,
                 "window": f"{r.earliest} – {r.latest}"} for r in plan.requirements]
        emit(rows, Format.table, f"{plan.pathway_id} v{plan.pathway_version}: "
             f"{len(rows)} visits over {plan.weeks} weeks")
    console.print(f"done: {result.patients} patients in {home}/carepath.db (seed {seed})")
