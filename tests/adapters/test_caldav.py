"""CalDAV against a real Radicale on 127.0.0.1: DST-safe read-back, publish, update, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from availability import running
from carepath.adapters.caldav import CalDavCalendar
from carepath.domain.appointments import Appointment
from carepath.domain.messages.invites import calendar_object
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit
from carepath.domain.patients import Patient
from carepath.errors import DeliveryFailed
from carepath.services import App
from carepath.services.calendars import publish_calendars
from carepath.services.messaging_testing import add_patient_row, book, cancel, reschedule, weekly
from carepath.testing import free_port, radicale_server

NY = ZoneInfo("America/New_York")
STAMP = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    """A Radicale server with its own storage folder; any user name, rights for all."""
    with running("Radicale", radicale_server(tmp_path, free_port())) as url:
        yield url


def visit_at(start: datetime, uid: str, config_app: App, sequence: int = 0) -> CalendarVisit:
    clinic = config_app.config.clinic
    appointment = Appointment(
        id=1, uid=uid, episode_id=1, patient_id="MRN1", therapist_id="alvarez",
        visit_type="treatment", visit_name="Treatment session", seq=1, start=start,
        end=start + timedelta(minutes=45), status="booked", sequence=sequence)
    return CalendarVisit(appointment, Patient(id="MRN1", name="Ava Thompson"),
                         clinic.therapists[0])


def style_of(app: App) -> CalendarStyle:
    clinic = app.config.clinic
    return CalendarStyle(clinic.name, clinic.organizer_email, clinic.address, NY)


def test_a_weekly_series_across_dst_reads_back_at_the_same_local_time(
        app: App, radicale: str) -> None:
    """Monday 09:00 for four weeks around 14 March 2027 stays 09:00 in New York."""
    calendar = CalDavCalendar(f"{radicale}/alvarez/clinic/", username="alvarez")
    calendar.ensure()
    for week in range(4):
        start = datetime(2027, 3, 1, 9, 0, tzinfo=NY) + timedelta(weeks=week)
        calendar.put(f"dst-{week}@riverside", calendar_object(
            visit_at(start, f"dst-{week}@riverside", app), style_of(app), stamp=STAMP))
    stored = calendar.objects()
    calendar.close()
    assert sorted(stored) == [f"dst-{w}@riverside" for w in range(4)]
    for uid, remote in stored.items():
        (event,) = Calendar.from_ical(remote.ics).walk("VEVENT")
        other = vobject.readOne(remote.ics.decode()).vevent.dtstart.value
        assert event.start.astimezone(NY).hour == other.astimezone(NY).hour == 9, uid
    utc_hours = sorted((uid, Calendar.from_ical(r.ics).walk("VEVENT")[0].start.astimezone(UTC)
                        .hour) for uid, r in stored.items())
    assert [h for _, h in utc_hours] == [14, 14, 13, 13]


def test_an_unreachable_server_is_a_temporary_failure() -> None:
    """Nothing listening: DeliveryFailed, temporary, naming the URL."""
    calendar = CalDavCalendar(f"http://127.0.0.1:{free_port()}/alvarez/clinic/",
                              username="alvarez", timeout=5)
    with pytest.raises(DeliveryFailed) as caught:
        calendar.ensure()
    calendar.close()
    assert not caught.value.permanent and "127.0.0.1" in str(caught.value)


def test_publish_creates_updates_and_deletes_each_therapists_visits(
        app: App, radicale: str) -> None:
    """Book three, move one, cancel one: the calendar follows, and a re-publish is a no-op."""
    therapists = [t.model_copy(update={"caldav_url": f"{radicale}/{t.id}/clinic/"})
                  if t.id in ("alvarez", "chen") else t for t in app.config.clinic.therapists]
    clinic = app.config.clinic.model_copy(update={"therapists": therapists})
    app.config = app.config.model_copy(update={"clinic": clinic})
    app.settings = type(app.settings)(**{**app.settings.__dict__, "caldav_username": "carepath"})
    add_patient_row(app, "MRN1", "Ava Thompson", "ava@patients.example")
    ids = book(app, "MRN1", weekly(datetime(2027, 3, 8, 9, 0, tzinfo=NY), 3))
    first = publish_calendars(app)
    assert (first.created, first.updated, first.deleted) == (3, 0, 0)
    reschedule(app, ids[0], datetime(2027, 3, 9, 14, 0, tzinfo=NY))
    reschedule(app, ids[1], datetime(2027, 3, 15, 9, 0, tzinfo=NY), therapist_id="chen")
    cancel(app, ids[2], "cancelled")  # (Chen is on leave the week of 22 March)
    second = publish_calendars(app)
    assert (second.created, second.updated, second.deleted) == (1, 1, 2)
    third = publish_calendars(app)
    assert (third.created, third.updated, third.deleted, third.unchanged) == (0, 0, 0, 2)
    alvarez = CalDavCalendar(f"{radicale}/alvarez/clinic/", username="x").objects()
    (moved,) = alvarez.values()
    (event,) = Calendar.from_ical(moved.ics).walk("VEVENT")
    assert event.start.astimezone(NY) == datetime(2027, 3, 9, 14, 0, tzinfo=NY)
    assert int(event["SEQUENCE"]) == 1
    chen = CalDavCalendar(f"{radicale}/chen/clinic/", username="x").objects()
    assert len(chen) == 1
