"""Calendar feeds and CalDAV publishing: every upcoming visit of a therapist or a patient.

``export_feed`` writes an import file (owner-only, written atomically: it names patients).
``publish_calendars`` makes each therapist's CalDAV calendar match the database: it reads
the calendar back, PUTs visits that are new or whose SEQUENCE moved on, and DELETEs
cancelled visits and visits handed to another therapist. Objects carepath did not write
(other UIDs) are never touched.

carepath remembers the ETag of every object it wrote (table ``caldav_object``). An object
whose ETag differs on the next publish, or that is gone while its visit still stands, was
changed on the server (someone moved it in their calendar app): the publish reports it and
writes an audit entry (``calendar.server_change``) *before* it restores carepath's version,
because the database, not the calendar, is where visits are booked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlmodel import Session, col, select

from carepath.adapters.caldav import CalDavCalendar, RemoteObject
from carepath.adapters.db import transaction
from carepath.adapters.output_file import write_output_file
from carepath.adapters.tables import AppointmentRow, CalDavObjectRow, PatientRow
from carepath.domain.config.models import Therapist
from carepath.domain.messages.invites import Audience, calendar_object, feed
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.calendar_views import calendar_style, upcoming_visits

Connect = Callable[[str], CalDavCalendar]


@dataclass(frozen=True)
class ServerChange:
    """An event someone changed (or deleted) on the server since carepath wrote it."""

    therapist_id: str
    appointment_id: int
    uid: str
    when: str  # the visit's local start, as carepath has it
    change: Literal["changed", "deleted"]

    def __str__(self) -> str:
        return (f"{self.therapist_id}: appointment {self.appointment_id} ({self.when}) was "
                f"{self.change} on the server; carepath's version restored")


@dataclass
class PublishReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    restored: int = 0
    skipped: list[str] = field(default_factory=list)  # therapists without a caldav_url
    server_changes: list[ServerChange] = field(default_factory=list)


def export_feed(app: App, path: Path, *, therapist_id: str | None = None,
                patient_id: str | None = None, force: bool = False) -> int:
    """Write every upcoming visit of one therapist or one patient to ``path`` (safely: see
    ``adapters.output_file``); returns the count."""
    if (therapist_id is None) == (patient_id is None):
        raise ValueError("give exactly one of therapist_id or patient_id")
    style = calendar_style(app)
    with transaction(app.engine) as session:
        if therapist_id is not None:
            name = app.config.therapist(therapist_id).name
        elif session.get(PatientRow, patient_id) is None:
            raise NotFound("patient", patient_id, "see: carepath patients list")
        else:
            name = f"{style.clinic_name} appointments"
        visits = upcoming_visits(session, app, since=app.clock.now(),
                                 therapist_id=therapist_id, patient_id=patient_id)
    audience: Audience = "therapist" if therapist_id else "patient"
    ics = feed(visits, style, stamp=app.clock.now(), audience=audience, name=name)
    write_output_file(path, ics, force=force)
    return len(visits)


def publish_calendars(app: App, *, connect: Connect | None = None) -> PublishReport:
    """Bring every therapist's CalDAV calendar in line with their upcoming visits."""
    connect = connect or _connector(app)
    report = PublishReport()
    for therapist in app.config.clinic.therapists:
        if not therapist.caldav_url:
            report.skipped.append(therapist.id)
            continue
        calendar = connect(therapist.caldav_url)
        try:
            _publish_one(app, calendar, therapist, report)
        finally:
            calendar.close()
    return report


def _publish_one(app: App, calendar: CalDavCalendar, therapist: Therapist,
                 report: PublishReport) -> None:
    calendar.ensure()
    remote = calendar.objects()
    style, now = calendar_style(app), app.clock.now()
    with transaction(app.engine) as session:
        visits = upcoming_visits(session, app, since=now, therapist_id=therapist.id,
                                 include_cancelled=True)
        elsewhere = _moved_away(session, remote, therapist.id)
        written = _written(session, therapist.id)
    for visit in visits:
        _sync_visit(app, calendar, therapist.id, visit, remote.get(visit.appointment.uid),
                    written.get(visit.appointment.uid), style, report)
    for uid in elsewhere:
        calendar.delete(uid)
        _remember(app, therapist.id, uid, None, forget=True)
        report.deleted += 1


def _sync_visit(app: App, calendar: CalDavCalendar, therapist_id: str, visit: CalendarVisit,
                there: RemoteObject | None, written: CalDavObjectRow | None,
                style: CalendarStyle, report: PublishReport) -> None:
    appointment = visit.appointment
    if visit.cancelled:
        if there is not None:
            calendar.delete(appointment.uid)
            report.deleted += 1
        if written is not None:
            _remember(app, therapist_id, appointment.uid, None, forget=True)
        return
    change = _server_change(there, written)
    if change is None and there is not None and there.sequence == appointment.sequence:
        report.unchanged += 1
        return
    if change is not None:
        _report_server_change(app, therapist_id, visit, style, change, there, written, report)
    etag = calendar.put(appointment.uid, calendar_object(visit, style, stamp=app.clock.now()))
    _remember(app, therapist_id, appointment.uid, etag, sequence=appointment.sequence)
    if change is not None:
        report.restored += 1
    elif there is None:
        report.created += 1
    else:
        report.updated += 1


def _server_change(there: RemoteObject | None,
                   written: CalDavObjectRow | None) -> Literal["changed", "deleted"] | None:
    """Whether the server's object is no longer what carepath last wrote (by ETag)."""
    if written is None or written.etag is None:
        return None  # never written by this database, or the server gave no ETag
    if there is None:
        return "deleted"
    if there.etag is not None and there.etag != written.etag:
        return "changed"
    return None


def _report_server_change(app: App, therapist_id: str, visit: CalendarVisit,
                          style: CalendarStyle, change: Literal["changed", "deleted"],
                          there: RemoteObject | None, written: CalDavObjectRow | None,
                          report: PublishReport) -> None:
    """Say it (report and audit, committed) before carepath's version goes back."""
    appointment = visit.appointment
    when = f"{appointment.start.astimezone(style.zone):%a %Y-%m-%d %H:%M}"
    found = ServerChange(therapist_id, appointment.id, appointment.uid, when, change)
    with transaction(app.engine) as session:
        app.audit(session, "calendar.server_change", "appointment", appointment.id,
                  therapist=therapist_id, uid=appointment.uid, change=change,
                  written_etag=written.etag if written else None,
                  server_etag=there.etag if there else None, then="restored")
    report.server_changes.append(found)


def _written(session: Session, therapist_id: str) -> dict[str, CalDavObjectRow]:
    rows = session.exec(select(CalDavObjectRow).where(
        CalDavObjectRow.therapist_id == therapist_id))
    return {row.uid: row for row in rows}


def _remember(app: App, therapist_id: str, uid: str, etag: str | None, *, sequence: int = 0,
              forget: bool = False) -> None:
    """Keep (or drop) the ETag of what carepath just wrote to this therapist's calendar."""
    with transaction(app.engine) as session:
        row = session.get(CalDavObjectRow, (therapist_id, uid))
        if forget:
            if row is not None:
                session.delete(row)
            return
        row = row or CalDavObjectRow(therapist_id=therapist_id, uid=uid,
                                     written_at=app.clock.now())
        row.etag, row.sequence, row.written_at = etag, sequence, app.clock.now()
        session.add(row)


def _moved_away(session: Session, remote: dict[str, RemoteObject],
                therapist_id: str) -> list[str]:
    """UIDs in this calendar whose appointment now belongs to someone else."""
    if not remote:
        return []
    rows = session.exec(select(AppointmentRow).where(col(AppointmentRow.uid).in_(list(remote))))
    return sorted(row.uid for row in rows if row.therapist_id != therapist_id)


def _connector(app: App) -> Connect:
    settings = app.settings

    def connect(url: str) -> CalDavCalendar:
        return CalDavCalendar(url, username=settings.caldav_username,
                              password=settings.caldav_password,
                              ca_bundle=settings.caldav_ca_bundle)

    return connect
