"""``carepath config`` and ``carepath pathways``: check the config, show the plans."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import typer
from rich.markup import escape

from carepath.cli.common import FORMAT_OPTION, Format, console, emit, settings
from carepath.config.loader import load_config
from carepath.domain.scheduling.planning import plan_episode
from carepath.domain.timeutil import EARLIEST_DATE, LATEST_DATE, WEEKDAY_NAMES, horizon_problem  # noqa: E402
from carepath.errors import InputError

config_app = typer.Typer(help="Check the clinic's configuration.", no_args_is_help=True)
pathways_app = typer.Typer(help="List pathways and show their visit plans.", no_args_is_help=True)


@config_app.command("validate")
def validate(
    directory: Path | None = typer.Argument(
        None, help="config folder (default: CAREPATH_CONFIG_DIR or ./config)"),
) -> None:
    """Check every file of a config folder; list every problem with file, line and fix."""
    folder = directory or settings().config_dir
    config = load_config(folder)
    clinic = config.clinic
    summary = (  # names are the admin's text: escaped, never read as Rich markup
        f"{folder}: {clinic.name} ({clinic.timezone}), "
        f"{len(clinic.therapists)} therapists, {len(clinic.resources)} rooms/equipment, "
        f"{len(config.measures)} measures, pathways: {', '.join(sorted(config.pathways))}"
    )
    console.print(f"[green]ok[/] {escape(summary)}")


@pathways_app.command("list")
def list_pathways(fmt: Format = FORMAT_OPTION) -> None:
    """The configured pathways with their version, length and visit count."""
    config = load_config(settings().config_dir)
    rows = []
    for pathway in config.pathways.values():
        plan = plan_episode(pathway, date(2000, 1, 3))
        rows.append({"id": pathway.id, "name": pathway.name, "version": pathway.version,
                     "weeks": f"{pathway.length.min_weeks}-{pathway.length.max_weeks}",
                     "visits": len(plan.requirements),
                     "on_complete": pathway.transitions.on_complete,
                     "on_relapse": pathway.transitions.on_relapse})
    emit(rows, fmt, "Pathways")


@pathways_app.command("show")
def show(
    pathway_id: str = typer.Argument(..., help="pathway id, e.g. post-relapse"),
    start: str = typer.Option(..., "--start", help="first day of the episode, YYYY-MM-DD"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Print the visits a pathway asks for, from a start date, as a table."""
    config = load_config(settings().config_dir)
    pathway = config.pathway(pathway_id)
    plan = plan_episode(pathway, parse_date(start, "--start"))
    rows = [{"#": r.seq, "week": r.week, "visit": r.name, "minutes": r.duration_minutes,
             "earliest": f"{WEEKDAY_NAMES[r.earliest.weekday()][:3]} {r.earliest}",
             "latest": f"{WEEKDAY_NAMES[r.latest.weekday()][:3]} {r.latest}",
             "needs": ", ".join((*r.resources, *r.skills))} for r in plan.requirements]
    if fmt is Format.json:
        emit([asdict(r) for r in plan.requirements], fmt)
        return
    emit(rows, fmt, f"{pathway.name} v{pathway.version} from {plan.start} — "
         f"{len(rows)} visits over {plan.weeks} weeks (may stretch to {plan.max_weeks}); "
         f"at least {plan.min_rest_days} rest day(s) between visits")


def parse_date(text: str, option: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(option, f"{text!r} is not a date", "write it as YYYY-MM-DD") from None
    problem = horizon_problem(day)
    if problem:
        raise InputError(option, f"{text} {problem}",
                         f"give a date between {EARLIEST_DATE} and {LATEST_DATE}")
    return day
