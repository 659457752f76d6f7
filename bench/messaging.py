"""Messaging benchmark: invites built, emails rendered, a 10,000-visit feed exported.

Each figure sits beside the bare library doing the same work, so carepath's overhead shows
as a ratio (carepath time ÷ bare time):

- invites: ``invite_for`` (summary rules, VTIMEZONE as RRULEs, alarm, attendee) vs
  ``icalendar`` alone building the same VEVENT with ``add_missing_timezones`` and serializing;
- emails: the two bodies (render + CSS inlining), then whole emails (bodies + MIME, the
  stdlib ``email`` package), each vs a raw Jinja2 render of the same two templates;
- feed: ``feed`` over 10,000 visits vs ``icalendar`` alone serializing 10,000 events; and
  ``export_feed`` end to end (SQLite read, build, private atomic write).

Run: ``python -m bench messaging [--size small|medium|large]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vCalAddress
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from carepath.adapters.clock import FixedClock
from carepath.adapters.templates import EmailTemplates
from carepath.bootstrap import open_app
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir, templates_dir
from carepath.domain.appointments import Appointment
from carepath.domain.messages.invites import feed, invite_for
from carepath.domain.messages.mime import Body, Mailbox, compose, to_bytes
from carepath.domain.messages.notices import Recipient, single_context
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit
from carepath.domain.patients import Patient

SIZES = {"small": 300, "medium": 1000, "large": 3000}
FEED_VISITS = 10_000
NY = ZoneInfo("America/New_York")
STAMP = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench messaging")
    parser.add_argument("--size", choices=[*SIZES, "all"], default="medium")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args(argv)
    count = SIZES["large" if args.size == "all" else args.size]
    style, visits = _sample(count)
    rows = [
        _row("invites built", count, args.repeat,
             lambda: [_carepath_invite(v, style) for v in visits],
             lambda: [_bare_invite(v) for v in visits]),
        _row("email bodies rendered", count, args.repeat, _carepath_bodies(visits, style),
             _bare_emails(visits, style)),
        _row("emails (bodies + MIME)", count, args.repeat, _carepath_emails(visits, style),
             _bare_emails(visits, style)),
    ]
    _, many = _sample(FEED_VISITS)
    rows.append(_row(f"feed of {FEED_VISITS:,} visits", 1, args.repeat,
                     lambda: feed(many, style, stamp=STAMP, audience="therapist"),
                     lambda: _bare_feed(many)))
    _print(rows)
    print(f"export_feed end to end ({FEED_VISITS:,} visits in SQLite → .ics): "
          f"{_export_seconds(FEED_VISITS):.2f} s")


def _row(name: str, count: int, repeat: int, ours: Callable[[], object],
         bare: Callable[[], object]) -> tuple[str, int, float, float]:
    return name, count, _best(ours, repeat), _best(bare, repeat)


def _best(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def _print(rows: list[tuple[str, int, float, float]]) -> None:
    print(f"{'work':<24}{'n':>7}{'carepath/s':>13}{'bare lib/s':>13}{'ratio':>8}")
    for name, count, ours, bare in rows:
        per = "per s" if count > 1 else "s"
        ours_text = f"{count / ours:,.0f}" if count > 1 else f"{ours:.2f} s"
        bare_text = f"{count / bare:,.0f}" if count > 1 else f"{bare:.2f} s"
        print(f"{name:<24}{count:>7}{ours_text:>13}{bare_text:>13}{ours / bare:>7.2f}×"
              f"  ({per})")
    print("ratio = carepath time ÷ bare library time for the same work (lower is better)")


def _sample(count: int) -> tuple[CalendarStyle, list[CalendarVisit]]:
    clinic = load_config(bundled_config_dir()).clinic
    style = CalendarStyle(clinic.name, clinic.organizer_email, clinic.address, NY)
    rooms = tuple(r for r in clinic.resources if r.id == "treatment-1")
    first = datetime(2027, 3, 1, 8, 0, tzinfo=NY)
    visits = []
    for i in range(count):
        start = first + timedelta(days=i // 8, hours=i % 8)
        appointment = Appointment(
            id=i + 1, uid=f"appt-{i + 1}@bench", episode_id=1, patient_id=f"P{i}",
            therapist_id="alvarez", visit_type="treatment", visit_name="Treatment session",
            seq=i, start=start, end=start + timedelta(minutes=45), status="booked", sequence=0)
        patient = Patient(id=f"P{i}", name=f"Patient Number{i}", email=f"p{i}@bench.example")
        visits.append(CalendarVisit(appointment, patient, clinic.therapists[0], rooms))
    return style, visits


def _carepath_invite(visit: CalendarVisit, style: CalendarStyle) -> bytes:
    return invite_for(visit, style, attendee=visit.therapist.email,
                      attendee_name=visit.therapist.name, stamp=STAMP).ics


def _bare_event(visit: CalendarVisit) -> Event:
    a = visit.appointment
    event = Event.new(uid=a.uid, sequence=a.sequence, stamp=STAMP, start=a.start.astimezone(NY),
                      end=a.end.astimezone(NY), summary=f"{a.visit_name} – {a.patient_id}")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", a.visit_name)
    alarm.add("trigger", timedelta(minutes=-15))
    event.add_component(alarm)
    return event


def _bare_invite(visit: CalendarVisit) -> bytes:
    event = _bare_event(visit)
    event.add("organizer", vCalAddress.new("mailto:scheduling@bench.example"))
    event.add("attendee", vCalAddress.new(f"mailto:{visit.therapist.email}"))
    calendar = Calendar()
    calendar.add("prodid", "-//bench//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    calendar.add_component(event)
    day = visit.appointment.start.date()
    calendar.add_missing_timezones(day - timedelta(days=1), day + timedelta(days=1))
    ics: bytes = calendar.to_ical()
    return ics


def _bare_feed(visits: list[CalendarVisit]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//bench//EN")
    calendar.add("version", "2.0")
    for visit in visits:
        calendar.add_component(_bare_event(visit))
    calendar.add_missing_timezones(date(2027, 1, 1), date(2031, 1, 1))
    ics: bytes = calendar.to_ical()
    return ics


def _carepath_bodies(visits: list[CalendarVisit],
                     style: CalendarStyle) -> Callable[[], object]:
    templates = EmailTemplates()
    contexts = [single_context(v, style, Recipient(v.patient.email or "", v.patient.name),
                               hours_before=24) for v in visits]

    def work() -> list[Body]:
        return [templates.render("patient_reminder", c) for c in contexts]

    return work


def _carepath_emails(visits: list[CalendarVisit],
                     style: CalendarStyle) -> Callable[[], object]:
    templates = EmailTemplates()
    sender = Mailbox(style.organizer_email, style.clinic_name)

    def work() -> list[bytes]:
        out = []
        for visit in visits:
            recipient = Recipient(visit.patient.email or "", visit.patient.name)
            body = templates.render("patient_reminder", single_context(visit, style, recipient,
                                                                       hours_before=24))
            message = compose(sender=sender, to=Mailbox(recipient.email, recipient.name),
                              subject="Reminder", body=body, date=STAMP,
                              idempotency_key=f"reminder:{visit.appointment.uid}")
            out.append(to_bytes(message))
        return out

    return work


def _bare_emails(visits: list[CalendarVisit], style: CalendarStyle) -> Callable[[], object]:
    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    html, text = env.get_template("patient_reminder.html.j2"), env.get_template(
        "patient_reminder.txt.j2")
    contexts = [single_context(v, style, Recipient(v.patient.email or "", v.patient.name),
                               hours_before=24) for v in visits]

    def work() -> list[Body]:
        return [Body(text.render(c), html.render(c)) for c in contexts]

    return work


def _export_seconds(count: int) -> float:
    from carepath.config.settings import Settings
    from carepath.services.calendars import export_feed
    from carepath.services.messaging_testing import add_patient_row

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        settings = Settings(home=home, config_dir=bundled_config_dir(),
                            database_url=f"sqlite:///{home / 'carepath.db'}", actor="bench")
        app = open_app(settings, FixedClock(STAMP))
        add_patient_row(app, "P1", "Patient One", "p1@bench.example")
        _insert_visits(app, count)
        began = time.perf_counter()
        export_feed(app, home / "calendars" / "alvarez.ics", therapist_id="alvarez")
        seconds = time.perf_counter() - began
        app.engine.dispose()
    return seconds


def _insert_visits(app: object, count: int) -> None:
    """Rows straight into the table, no events: the export is what is measured."""
    from sqlalchemy import insert

    from carepath.adapters.db import transaction
    from carepath.adapters.tables import AppointmentRow
    from carepath.services import App

    assert isinstance(app, App)
    first = datetime(2027, 3, 1, 8, 0, tzinfo=NY)
    rows = []
    for i in range(count):
        start = (first + timedelta(days=i // 8, hours=i % 8)).astimezone(UTC)
        rows.append({"uid": f"appt-{i}@bench", "patient_id": "P1", "therapist_id": "alvarez",
                     "visit_type": "treatment", "visit_name": "Treatment session", "seq": i,
                     "start_utc": start, "end_utc": start + timedelta(minutes=45),
                     "status": "booked", "sequence": 0, "fixed": False,
                     "caregiver_invited": False, "created_at": STAMP, "updated_at": STAMP})
    with transaction(app.engine) as session:
        session.execute(insert(AppointmentRow), rows)

