"""Calendar feeds and CalDAV publishing: every upcoming visit of a therapist or a patient.

``export_feed`` writes an import file (owner-only, written atomically: it names patients).
``publish_calendars`` makes each therapist's CalDAV calendar match the database: it reads
the calendar back, PUTs visits that are new or whose SEQUENCE moved on, and DELETEs
cancelled visits and visits handed to another therapist. Objects carepath did not write
(other UIDs) are never touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from carepath.adapters.caldav import CalDavCalendar, RemoteObject
from carepath.adapters.db import transaction
from carepath.adapters.mail import write_private
from carepath.adapters.tables import AppointmentRow, PatientRow
from carepath.domain.config import Therapist
from carepath.domain.invites import Audience, CalendarStyle, CalendarVisit, calendar_object, feed
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.calendar_views import calendar_style, upcoming_visits

Connect = Callable[[str], CalDavCalendar]


@dataclass
class PublishReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # therapists without a caldav_url


def export_feed(app: App, path: Path, *, therapist_id: str | None = None,
                patient_id: str | None = None) -> int:
    """Write every upcoming visit of one therapist or one patient to ``path``; returns the count."""
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
    _make_folder(app, path.resolve().parent)
    write_private(path.resolve(), ics)
    return len(visits)


def _make_folder(app: App, folder: Path) -> None:
    """Create the folder; inside ``$CAREPATH_HOME`` (patient data) it is owner-only."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_relative_to(app.settings.home.resolve()):
        os.chmod(folder, 0o700)


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
    for visit in visits:
        _sync_visit(calendar, visit, remote.get(visit.appointment.uid), style, now, report)
    for uid in elsewhere:
        calendar.delete(uid)
        report.deleted += 1


def _sync_visit(calendar: CalDavCalendar, visit: CalendarVisit, there: RemoteObject | None,
                style: CalendarStyle, now: datetime, report: PublishReport) -> None:
    appointment = visit.appointment
    if visit.cancelled:
        if there is not None:
            calendar.delete(appointment.uid)
            report.deleted += 1
        return
    if there is not None and there.sequence == appointment.sequence:
        report.unchanged += 1
        return
    calendar.put(appointment.uid, calendar_object(visit, style, stamp=now))
    if there is None:
        report.created += 1
    else:
        report.updated += 1


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
                              password=settings.caldav_password)

    return connect
