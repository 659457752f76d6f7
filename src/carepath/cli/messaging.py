"""``carepath dispatch``, ``carepath outbox …`` and ``carepath calendar …``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from carepath.adapters.mail import make_transport
from carepath.adapters.output_file import FORCE_HELP
from carepath.cli.common import FORMAT_OPTION, Format, console, emit, open_app
from carepath.errors import InputError
from carepath.services.calendars import export_feed, publish_calendars
from carepath.services.outbox import dispatch as dispatch_outbox
from carepath.services.outbox import (
    list_outbox,
    queue_due_reminders,
    retry,
    retry_dead,
    show,
)

outbox_app = typer.Typer(help="See and resend queued messages.", no_args_is_help=True)
calendar_app = typer.Typer(help="Calendar feeds and CalDAV publishing.", no_args_is_help=True)
LIST_COLUMNS = ["id", "status", "kind", "recipient", "subject", "attempts", "next_attempt_at",
                "last_error"]


def dispatch(
    limit: int = typer.Option(0, "--limit", help="send at most this many (0: all that are due)"),
    reminders: bool = typer.Option(True, "--reminders/--no-reminders",
                                   help="queue due reminders first"),
) -> None:
    """Send every due message (mail folder or SMTP, per CAREPATH_MAIL_TRANSPORT)."""
    app = open_app()
    if reminders:
        queued = queue_due_reminders(app, now=app.clock.now())
        console.print(f"reminders queued: {queued}")
    report = dispatch_outbox(app, make_transport(app.settings), limit=limit or None)
    console.print(f"sent {report.sent}, retrying later {report.retrying}, dead {report.dead}")
    for error in report.errors:
        console.print(f"  {error}", markup=False)


@outbox_app.command("list")
def list_(
    status: str = typer.Option("", "--status", help="pending, sent or dead"),
    limit: int = typer.Option(200, "--limit"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Queued and sent messages, newest first."""
    if status and status not in ("pending", "sent", "dead"):
        raise InputError("--status", f"{status!r} is not pending, sent or dead")
    rows = [asdict(e) for e in list_outbox(open_app(), status=status or None, limit=limit)]
    for row in rows:
        row.pop("body")
    emit(rows, fmt, "Outbox", columns=LIST_COLUMNS)


@outbox_app.command("show")
def show_(outbox_id: int, fmt: Format = FORMAT_OPTION,
          body: bool = typer.Option(False, "--body", help="print the whole MIME message")) -> None:
    """One message: every field, and with --body the message itself."""
    entry = asdict(show(open_app(), outbox_id))
    text = entry.pop("body")
    emit([entry], fmt, "Message")
    if body and fmt is Format.table:
        typer.echo(text)


@outbox_app.command("retry")
def retry_(
    outbox_id: int = typer.Argument(0, help="the message's id (see outbox list)"),
    all_dead: bool = typer.Option(False, "--all-dead", help="every dead message"),
) -> None:
    """Queue a dead (or sent) message again, or every dead one; the next dispatch sends it."""
    if all_dead == bool(outbox_id):
        raise InputError("outbox retry", "give a message id or --all-dead, not both")
    if all_dead:
        console.print(f"{retry_dead(open_app())} dead message(s) are pending again")
        return
    entry = retry(open_app(), outbox_id)
    console.print(f"message {entry.id} to {entry.recipient} is pending again", markup=False)


@calendar_app.command("export")
def export(
    output: Path = typer.Option(..., "-o", "--output", help="the .ics file to write"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    therapist: str = typer.Option("", "--therapist", help="a therapist id"),
    patient: str = typer.Option("", "--patient", help="a patient id"),
) -> None:
    """Write all upcoming visits of one therapist or one patient as an .ics file."""
    if bool(therapist) == bool(patient):
        raise InputError("calendar export", "give exactly one of --therapist or --patient")
    count = export_feed(open_app(), output, therapist_id=therapist or None,
                        patient_id=patient or None, force=force)
    console.print(f"wrote {count} visits to {output}", markup=False)


@calendar_app.command("publish")
def publish() -> None:
    """Push each therapist's visits to their CalDAV calendar (caldav_url in clinic.yaml)."""
    report = publish_calendars(open_app())
    console.print(f"created {report.created}, updated {report.updated}, deleted "
                  f"{report.deleted}, unchanged {report.unchanged}"
                  + (f", restored {report.restored}" if report.restored else ""))
    if report.server_changes:
        console.print("changed on the server since the last publish (see: carepath audit):",
                      markup=False)
    for change in report.server_changes:
        console.print(f"  {change}", markup=False)
    if report.skipped:
        console.print(f"no caldav_url (skipped): {', '.join(report.skipped)}", markup=False)
