"""``carepath enroll``, ``slots``, ``appointments …`` and ``therapists leave``.

Every time is shown in the clinic's zone with its abbreviation (EST/EDT), and typed times
are read in that zone (``2027-03-02 09:00``); see ``services.local_time`` for DST nights.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

from carepath.adapters.output_file import FORCE_HELP, open_output_file
from carepath.cli.common import FORMAT_OPTION, Format, console, emit, open_app
from carepath.domain.timeutil import horizon_problem
from carepath.errors import InputError
from carepath.services import App
from carepath.services.appointment_views import list_appointments
from carepath.services.local_time import parse_local

if TYPE_CHECKING:  # the engine is imported by the commands that book, not by listing
    from carepath.domain.scheduling.types import EpisodeSchedule

appointments_app = typer.Typer(help="List, move, cancel and export appointments.",
                               no_args_is_help=True)
therapists_app = typer.Typer(help="Therapists: leave entered at run time.", no_args_is_help=True)


def parse_day(text: str, option: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option} {text!r}", "not a date", "write e.g. 2027-03-01") from None
    problem = horizon_problem(day)
    if problem:
        raise InputError(f"{option} {text.strip()}", problem, "give an earlier date")
    return day


def zone_of(app: App) -> ZoneInfo:
    return ZoneInfo(app.config.clinic.timezone)


def when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"


def enroll(
    patient_id: str = typer.Argument(None, help="patient id (MRN)"),
    pathway_id: str = typer.Argument(None, help="pathway id, e.g. post-relapse"),
    start: str = typer.Option(None, "--start", help="first day of the episode, e.g. 2027-03-01"),
    therapist: str = typer.Option(None, "--therapist", help="book every visit with this one"),
    partial: bool = typer.Option(False, "--partial",
                                 help="book what fits and wait-list the rest"),
    batch: Path = typer.Option(None, "--batch", help="CSV: patient_id,pathway_id,start"
                               "[,therapist_id][,referred][,evaluation_appointment]"),
    referred: str = typer.Option(None, "--referred", help="referral date the pathway's "
                                 "first_visit_window counts from (default: --start)"),
    evaluation: str = typer.Option(None, "--evaluation", help="an imported evaluation that "
                                   "starts the episode: its appointment id or its day"),
    fmt: Format = typer.Option(Format.table, "--format",
                               help="with --batch: table for people, json for scripts"),
    optimize_seconds: float = typer.Option(
        0.0, "--optimize-seconds", min=0.0, max=3600.0,
        help="with --batch: then move visits to their episode's lead therapist for at most "
        "this long (0: off)"),
) -> None:
    """Book every visit of a pathway for a patient, in one transaction, and print it."""
    from carepath.services import scheduling as booking
    app = open_app()
    if batch is not None:
        _enroll_batch(app, batch, partial, fmt, optimize_seconds)
        return
    if not patient_id or not pathway_id or not (start or evaluation):
        raise InputError("enroll", "needs PATIENT PATHWAY --start DATE (or --batch FILE)",
                         "e.g. carepath enroll MRN1001 post-relapse --start 2027-03-01")
    enrolment = booking.enroll(app, patient_id, pathway_id,
                               parse_day(start, "--start") if start else None,
                               therapist_id=therapist, partial=partial,
                               referred=parse_day(referred, "--referred") if referred else None,
                               evaluation=evaluation)
    if enrolment.existing:
        console.print(f"episode {enrolment.episode_id}: {patient_id} is already enrolled in "
                      f"{pathway_id} from {start} ({len(enrolment.appointment_ids)} visit(s) "
                      "booked); the same request again books nothing", markup=False)
        return
    print_schedule(app, enrolment.schedule,
                   f"episode {enrolment.episode_id}: {patient_id} in {pathway_id}")
    if enrolment.first_appointment_id is not None:
        console.print(f"visit 1 is the imported appointment {enrolment.first_appointment_id}, "
                      f"now the episode's first visit; its weeks start "
                      f"{enrolment.schedule.plan.start}", markup=False)


def print_schedule(app: App, schedule: EpisodeSchedule, title: str) -> None:
    zone = zone_of(app)
    rows = [{"#": p.requirement.seq, "week": p.requirement.week, "visit": p.requirement.name,
             "when": when(p.start, zone), "until": f"{p.end.astimezone(zone):%H:%M}",
             "therapist": p.therapist_id,
             "rooms": ", ".join(f"{r}#{u}" for r, u in p.resources),
             "note": "; ".join(p.penalties)} for p in schedule.placements]
    emit(rows, Format.table, title)
    for note in schedule.notes:
        console.print(f"note: {note}", markup=False)
    for unplaced in schedule.unplaced:
        console.print(f"wait-listed {unplaced.requirement.label}: {unplaced.constraint}",
                      markup=False)
        for alternative in unplaced.alternatives:
            console.print(f"  nearest: {alternative}", markup=False)
    console.print(f"{len(schedule.placements)} visit(s) booked, "
                  f"{len(schedule.therapist_ids)} therapist(s), "
                  f"{schedule.in_preferences}/{len(schedule.placements)} inside the patient's "
                  "wishes", markup=False)


def _enroll_batch(app: App, path: Path, partial: bool, fmt: Format,
                  optimize_seconds: float) -> None:
    from carepath.services import scheduling as booking
    result = booking.enroll_batch(app, path, partial=partial, optimize_seconds=optimize_seconds)
    improved = result.improvement
    if fmt is Format.json:
        typer.echo(json.dumps({
            "booked": [{"line": line, "episode": episode_id}
                       for line, episode_id in sorted(result.booked.items())],
            "not_booked": [{"line": line, "reason": reason}
                           for line, reason in sorted(result.failed.items())],
            "already_enrolled": [{"line": line, "episode": episode_id}
                                 for line, episode_id in sorted(result.existing.items())],
            "repeated": [{"line": line, "same_as_line": earlier}
                         for line, earlier in sorted(result.repeated.items())],
            "waitlist": result.waitlist, "visits_booked": result.visits,
            "visits_waitlisted": len(result.waitlist),
            **({"improvement": {"visits_moved": improved.moved,
                                "pairs_swapped": improved.swapped,
                                "episodes_with_one_therapist_now": improved.unified,
                                "out_of_time": improved.out_of_time}} if improved else {})},
            indent=2, ensure_ascii=False))
        if result.failed:
            raise typer.Exit(4)
        return
    for line, episode_id in sorted(result.booked.items()):
        console.print(f"line {line}: episode {episode_id} booked", markup=False)
    for line, episode_id in sorted(result.existing.items()):
        console.print(f"line {line}: already enrolled as episode {episode_id}, nothing booked",
                      markup=False)
    for line, earlier in sorted(result.repeated.items()):
        console.print(f"line {line}: the same request as line {earlier} (episode "
                      f"{result.booked.get(earlier, '?')}), booked once", markup=False)
    for line, reason in sorted(result.failed.items()):
        console.print(f"line {line}: not booked — {reason}", markup=False)
    repeats = len(result.existing) + len(result.repeated)
    if result.waitlist:
        emit(result.waitlist, Format.table, "wait-listed visits and why",
             columns=["line", "patient", "pathway", "visit", "name", "window", "reason",
                      "nearest"])
    console.print(f"{len(result.booked)} enrolment(s), {result.visits} visit(s) booked, "
                  f"{result.waitlisted} wait-listed, {len(result.failed)} not booked"
                  + (f", {repeats} repeated request(s) booked nothing" if repeats else ""),
                  markup=False)
    if improved:
        spent = ("the time ran out before every episode was looked at" if improved.out_of_time
                 else "every episode looked at")
        console.print(f"improvement: {improved.moved} visit(s) moved to their episode's lead "
                      f"therapist, {improved.swapped} pair(s) at the same time traded "
                      f"therapists, {improved.unified} episode(s) now with one therapist "
                      f"({spent})", markup=False)
    if result.failed:
        raise typer.Exit(4)


def slots(
    visit_type: str = typer.Argument(..., help="visit type id, e.g. aquatic"),
    pathway: str = typer.Option(..., "--pathway", help="the pathway that defines the visit"),
    therapist: str = typer.Option(None, "--therapist", help="only this therapist"),
    from_day: str = typer.Option(None, "--from", help="first day to look at (default today)"),
    limit: int = typer.Option(10, "--limit", min=1, max=200),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """The next free slots for a visit type, with one therapist or any qualified one."""
    from carepath.services import scheduling as booking
    app = open_app()
    zone = zone_of(app)
    found = booking.find_slots(app, visit_type, pathway_id=pathway, therapist_id=therapist,
                               limit=limit,
                               from_day=parse_day(from_day, "--from") if from_day else None)
    rows = [{"start": s.start.astimezone(zone).isoformat() if fmt is Format.json
             else when(s.start, zone), "minutes": int((s.end - s.start).total_seconds() // 60),
             "therapist": s.therapist_id,
             "rooms": ", ".join(f"{r}#{u}" for r, u in s.resources)} for s in found]
    emit(rows, fmt, f"next free slots for {visit_type}")


@appointments_app.command("list")
def list_(
    patient: str = typer.Option(None, "--patient"),
    therapist: str = typer.Option(None, "--therapist"),
    status: str = typer.Option(None, "--status", help="booked, completed, cancelled, no_show"),
    from_day: str = typer.Option(None, "--from", help="first day (default: all)"),
    days: int = typer.Option(0, "--days", help="how many days from --from (0: all)"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Appointments in time order, in the clinic's time zone."""
    app = open_app()
    since = until = None
    if from_day:
        since = parse_local(parse_day(from_day, "--from").isoformat() + "T00:00", zone_of(app))
        until = since + timedelta(days=days) if days else None
    records = list_appointments(app, since=since, until=until, patient_id=patient,
                                therapist_id=therapist, status=status)
    emit([_display(r) for r in records] if fmt is Format.table else records, fmt,
         "Appointments", columns=None if fmt is Format.json else [
             "id", "patient_id", "visit_name", "start", "until", "therapist_id", "status",
             "sequence", "resources", "hold"])


def _display(record: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(record["start"])
    return {**record, "start": f"{start:%a %Y-%m-%d %H:%M %Z}" if start.tzname() else
            record["start"], "until": record["end"][11:16]}


@appointments_app.command("reschedule")
def reschedule(
    appointment_id: int = typer.Argument(...),
    to: str = typer.Option(..., "--to", help="new start in the clinic's time, 2027-03-02 09:00"),
    therapist: str = typer.Option(None, "--therapist", help="also change the therapist"),
) -> None:
    """Move a visit; every constraint is re-checked (hours, rest days, the week's cadence)."""
    from carepath.services import scheduling as booking
    app = open_app()
    zone = zone_of(app)
    row = booking.reschedule(app, appointment_id, parse_local(to, zone), therapist)
    console.print(f"appointment {row.id} moved to {when(row.start, zone)} with "
                  f"{row.therapist_id} (sequence {row.sequence})", markup=False)


@appointments_app.command("cancel")
def cancel(appointment_id: int = typer.Argument(...),
           reason: str = typer.Option("cancelled", "--reason")) -> None:
    """Cancel a visit; the therapist and rooms are free again and the invite is cancelled."""
    from carepath.services import scheduling as booking
    row = booking.cancel(open_app(), appointment_id, reason)
    console.print(f"appointment {row.id} cancelled", markup=False)


@appointments_app.command("complete")
def complete(appointment_id: int = typer.Argument(...)) -> None:
    """Mark a visit as done."""
    from carepath.services import scheduling as booking
    row = booking.complete(open_app(), appointment_id)
    console.print(f"appointment {row.id} completed", markup=False)


@appointments_app.command("no-show")
def no_show(appointment_id: int = typer.Argument(...)) -> None:
    """Record that the patient did not come."""
    from carepath.services import scheduling as booking
    row = booking.no_show(open_app(), appointment_id)
    console.print(f"appointment {row.id} recorded as a no-show", markup=False)


@appointments_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV: patient_id,therapist_id,visit_type,start"
                                "[,minutes][,resource]"),
    skip_conflicts: bool = typer.Option(False, "--skip-conflicts",
                                        help="import the rows that fit, report the rest"),
) -> None:
    """Import existing bookings as fixed appointments; conflicts are reported by line."""
    from carepath.services import scheduling as booking
    result = booking.import_appointments(open_app(), file, skip_conflicts=skip_conflicts)
    console.print(f"imported {len(result.imported)} appointment(s), "
                  f"{len(result.conflicts)} conflict(s)", markup=False)
    for conflict in result.conflicts:
        console.print(f"  skipped {conflict}", markup=False)


@appointments_app.command("export")
def export(fmt: str = typer.Option("json", "--format", help="json or csv"),
           output: Path = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
           force: bool = typer.Option(False, "--force", help=FORCE_HELP),
           ) -> None:
    """Every appointment with every field, times in ISO 8601 with offsets."""
    from carepath.services import scheduling as booking
    app = open_app()
    if output is None:
        booking.write_appointments(app, sys.stdout, fmt)
        return
    with open_output_file(output, force=force) as raw:  # patient data: owner only
        stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        booking.write_appointments(app, stream, fmt)
        stream.flush()
        stream.detach()  # the file is closed and put in place by open_output_file
    console.print(f"wrote {output}", markup=False)


@therapists_app.command("leave")
def leave(
    therapist_id: str = typer.Argument(...),
    from_day: str = typer.Option(..., "--from", help="first day of leave"),
    to_day: str = typer.Option(..., "--to", help="last day of leave (inclusive)"),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Record leave and move every visit it touches; each change is printed."""
    from carepath.services import scheduling as booking
    app = open_app()
    zone = zone_of(app)
    changes = booking.therapist_leave(app, therapist_id, parse_day(from_day, "--from"),
                                      parse_day(to_day, "--to"), reason)
    for change in changes:
        target = (f"{when(change.new_start, zone)} with {change.new_therapist}"
                  if change.new_start else "not moved")
        console.print(f"appointment {change.appointment_id} ({change.patient_id}, "
                      f"{change.visit}) {when(change.old_start, zone)} → {target}: "
                      f"{change.note}", markup=False)
    console.print(f"leave recorded for {therapist_id}; {len(changes)} visit(s) changed",
                  markup=False)

