"""``carepath goals|measure|recovery|review|escalations|report``: outcome measures and escalation.

Every list or show command takes ``--format json``. Times typed without an offset are in
the clinic's time zone.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

from carepath.adapters.output_file import FORCE_HELP
from carepath.cli.common import FORMAT_OPTION, Format, console, emit, open_app
from carepath.cli.config import parse_date
from carepath.errors import InputError
from carepath.services.escalations import (
    EscalationView,
    accept_proposal,
    dismiss_escalation,
    get_escalation,
    list_escalations,
    preview_acceptance,
    resolve_escalation,
)
from carepath.services.goals import (
    GoalView,
    import_measurements,
    list_goals,
    record_measurement,
    record_recovery,
    review_all,
    set_goal,
)
from carepath.services.instants import parse_instant

goals_app = typer.Typer(help="An episode's goals and how they stand.", no_args_is_help=True)
measure_app = typer.Typer(help="Record outcome measurements.", no_args_is_help=True)
recovery_app = typer.Typer(help="Record two-hour-rule reports.", no_args_is_help=True)
escalations_app = typer.Typer(help="Escalations raised by goal reviews.", no_args_is_help=True)
report_app = typer.Typer(help="Reports a therapist can open offline.", no_args_is_help=True)

GOAL_COLUMNS = ["measure", "name", "baseline", "target", "due", "latest", "reviews", "verdict"]


def _goal_row(goal: GoalView) -> dict[str, Any]:
    row = asdict(goal)
    row["verdict"] = goal.shown_verdict if row["on_track"] else goal.verdict
    return row


@goals_app.command("list")
def goals_list(episode: int, fmt: Format = FORMAT_OPTION) -> None:
    """The episode's goals, each classified: achieved, improving, no change or worsening."""
    rows = [_goal_row(g) for g in list_goals(open_app(), episode)]
    emit(rows, fmt, f"Goals of episode {episode}", columns=GOAL_COLUMNS)


@goals_app.command("set")
def goals_set(
    episode: int, measure: str,
    target: str = typer.Option(..., "--target",
                               help='"mcid" (improve by the MCID), "maintain", or a value'),
    by: str = typer.Option("", "--by", help="due date, YYYY-MM-DD"),
) -> None:
    """Set or revise a goal's target and due date."""
    due = parse_date(by, "--by") if by else None
    goal = set_goal(open_app(), episode, measure, target=target, due=due)
    console.print(f"goal {goal.measure} of episode {episode}: target {goal.target}"
                  + (f" by {goal.due}" if goal.due else "") + f" ({goal.verdict})", markup=False)


# A negative value (GAS −1) is a value, not an option: no `--` needed before it.
@measure_app.command("record", context_settings={"ignore_unknown_options": True})
def measure_record(
    episode: int, measure: str, value: str,
    at: str = typer.Option("", "--at", help="when taken, e.g. 2027-03-01T10:30 (default: now)"),
    appointment: int | None = typer.Option(None, "--appointment", help="the visit it was taken at"),
) -> None:
    """Record one value; it is checked against the measure's unit and valid range."""
    app = open_app()
    when = parse_instant(at, app.config.clinic.timezone) if at else None
    goal = record_measurement(app, episode, measure, value, at=when, appointment_id=appointment)
    text = f"recorded {measure} {value} for episode {episode}"
    if goal is not None:
        text += (f": {goal.shown_verdict} (baseline {goal.baseline}, "
                 f"target {goal.target})")
    console.print(text, markup=False)


@measure_app.command("import")
def measure_import(
    file: Path = typer.Argument(..., help="CSV: episode,measure,value,at,appointment"),
) -> None:
    """Import measurements: all or nothing; every wrong row is named by its line."""
    count = import_measurements(open_app(), file)
    console.print(f"imported {count} measurement(s) from {file.name}", markup=False)


@recovery_app.command("record")
def recovery_record(
    episode: int,
    recovered: bool | None = typer.Option(None, "--yes/--no",
                                          help="felt recovered within two hours?"),
    appointment: int | None = typer.Option(None, "--appointment"),
    at: str = typer.Option("", "--at", help="when reported (default: now)"),
) -> None:
    """Record whether the patient felt recovered within two hours of a session."""
    if recovered is None:
        raise InputError("recovery", "say --yes or --no", "e.g. carepath recovery record 3 --no")
    app = open_app()
    when = parse_instant(at, app.config.clinic.timezone) if at else None
    record_recovery(app, episode, recovered, appointment_id=appointment, at=when)
    console.print(f"two-hour rule for episode {episode}: "
                  f"{'recovered' if recovered else 'NOT recovered'}", markup=False)


def review(
    episode: int | None = typer.Option(None, "--episode", help="review this episode only"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Review active episodes' goals now; escalate what has stalled (safe to re-run)."""
    app = open_app()
    report = review_all(app, now=app.clock.now(), episode_id=episode)
    if fmt is Format.json:
        emit([{"episodes": report.episodes, "goals": report.goals, "verdicts": report.verdicts,
               "seconds": round(report.seconds, 3),
               "escalations": [_opened(e) for e in report.escalations]}], fmt)
        return
    console.print(str(report), markup=False)
    if report.escalations:
        emit([_opened(e) for e in report.escalations], fmt, "New escalations")


def _opened(view: EscalationView) -> dict[str, Any]:
    """An escalation a review opened, as ``review`` reports it."""
    return {"escalation_id": view.id, "episode_id": view.episode_id, "level": view.level,
            "kind": view.kind, "status": view.status, "summary": view.summary,
            "appointment_id": view.appointment_id}


ESCALATION_COLUMNS = ["id", "episode_id", "level", "kind", "status", "summary",
                      "appointment_id", "assigned_to", "created_at"]


def _escalation_row(view: EscalationView, evidence: bool = False) -> dict[str, Any]:
    row = {f.name: getattr(view, f.name) for f in fields(view) if f.name != "decision"}
    if evidence:
        row["evidence"] = view.evidence
    return row


@escalations_app.command("list")
def escalations_list(
    status: str = typer.Option("", "--status", help="open, scheduled, resolved or dismissed"),
    episode: int | None = typer.Option(None, "--episode"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Escalations, newest first."""
    rows = [_escalation_row(e) for e in list_escalations(open_app(), status=status or None,
                                                          episode_id=episode)]
    emit(rows, fmt, "Escalations", columns=ESCALATION_COLUMNS)


@escalations_app.command("show")
def escalations_show(escalation: int, fmt: Format = FORMAT_OPTION) -> None:
    """One escalation with its evidence: each value against its MCID band and target."""
    view = get_escalation(open_app(), escalation)
    if fmt is Format.json:
        emit([_escalation_row(view, evidence=True)], fmt)
        return
    emit([_escalation_row(view)], fmt, f"Escalation {escalation}")
    decision = view.decision
    for measure in decision.opened.evidence:
        values = ", ".join(f"{v}" for _, v in measure.values) or "none yet"
        console.print(f"  {measure.name}: baseline {measure.baseline} {measure.unit}, "
                      f"no-change band {measure.band_low:g}–{measure.band_high:g}, "
                      f"target {measure.target}; reviews: {values} → {measure.verdict}",
                      markup=False)
    for line in decision.opened.facts:
        console.print(f"  {line}", markup=False)
    for title, lines in (("What carepath did", decision.actions),
                         ("What the therapist should do", decision.to_do)):
        if lines:
            console.print(f"  {title}:", markup=False)
        for line in lines:
            console.print(f"  - {line}", markup=False)
    if view.proposed_pathway and view.status in ("open", "scheduled"):
        console.print(f"  Proposed, not booked: {view.proposed_pathway} — carepath escalations "
                      f"preview {view.id}, then carepath escalations accept {view.id}",
                      markup=False)


@escalations_app.command("resolve")
def escalations_resolve(escalation: int,
                        reason: str = typer.Option("", "--reason", help="what was done")) -> None:
    """Close an escalation as dealt with."""
    view = resolve_escalation(open_app(), escalation, reason)
    console.print(f"escalation {view.id}: {view.status}", markup=False)


@escalations_app.command("dismiss")
def escalations_dismiss(escalation: int,
                        reason: str = typer.Option(..., "--reason", help="why (required)")) -> None:
    """Close an escalation as needing no action; the reason is kept."""
    view = dismiss_escalation(open_app(), escalation, reason)
    console.print(f"escalation {view.id}: {view.status} ({view.resolution})", markup=False)


@escalations_app.command("accept")
def escalations_accept(escalation: int,
                       start: str = typer.Option("", "--start", help="first day, YYYY-MM-DD")
                       ) -> None:
    """Accept a level-2 proposal: enrol the patient in the proposed pathway."""
    day = parse_date(start, "--start") if start else None
    done = accept_proposal(open_app(), escalation, day)
    console.print(f"escalation {escalation} accepted: new episode {done.new_episode_id} "
                  f"({done.pathway_name}), {done.booked} visit(s) booked with "
                  f"{done.therapist_id}", markup=False)


@escalations_app.command("preview")
def escalations_preview(escalation: int,
                        start: str = typer.Option("", "--start", help="first day, YYYY-MM-DD"),
                        fmt: Format = FORMAT_OPTION) -> None:
    """What accepting a level-2 proposal would book, booking nothing."""
    app = open_app()
    day = parse_date(start, "--start") if start else None
    shown = preview_acceptance(app, escalation, day)
    zone = ZoneInfo(app.config.clinic.timezone)
    rows = [{"visit": v.visit, "start": v.start.astimezone(zone).isoformat(timespec="minutes"),
             "therapist": v.therapist_id} for v in shown.visits]
    if fmt is Format.json:
        emit([{**asdict(shown), "visits": rows}], fmt)
        return
    console.print(f"escalation {escalation} would enrol {shown.patient_id} in "
                  f"{shown.pathway_name} from {shown.start} with {shown.therapist_name}:",
                  markup=False)
    emit(rows, fmt, "Visits it would book", columns=["visit", "start", "therapist"])


@report_app.command("episode")
def report_episode(
    episode: int,
    output: Path = typer.Option(..., "-o", "--output", help="the HTML file to write"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """One HTML file (opens offline): goals, charts with MCID band and target, attendance,
    two-hour reports and escalations."""
    from carepath.services.report import write_episode_report

    write_episode_report(open_app(), episode, output, force=force)
    console.print(f"wrote {output}", markup=False)
