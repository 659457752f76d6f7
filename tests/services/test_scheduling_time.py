"""Time on both databases: stored UTC, shown local, 09:00 stays 09:00 across DST, and typed
times that do not exist or exist twice on a change night are handled on purpose."""

from __future__ import annotations

import json
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow
from carepath.errors import InputError
from carepath.services import App
from carepath.services import scheduling as booking
from carepath.services.local_time import parse_local
from carepath.services.patients import add_patient

NEW_YORK = ZoneInfo("America/New_York")


def test_a_time_skipped_by_spring_forward_is_an_error_naming_the_fix() -> None:
    """02:30 on 14 March 2027 does not exist in New York: refused, 03:00 suggested."""
    with pytest.raises(InputError, match="03:00 or later"):
        parse_local("2027-03-14 02:30", NEW_YORK)


def test_a_time_that_happens_twice_means_the_first_unless_an_offset_says_otherwise() -> None:
    """01:30 on 7 November 2027 is EDT (-04:00) by default; with -05:00 it is the second."""
    assert parse_local("2027-11-07 01:30", NEW_YORK).utcoffset().total_seconds() == -4 * 3600
    second = parse_local("2027-11-07T01:30-05:00", NEW_YORK)
    assert second.utcoffset().total_seconds() == -5 * 3600


def test_weekly_boosters_stay_at_nine_local_across_the_march_change(any_app: App) -> None:
    """A patient who wants 09:00–09:45 gets 09:00 local every week on SQLite and PostgreSQL;
    the stored UTC hour moves from 14:00 to 13:00 when New York springs forward."""
    add_patient(any_app, {"id": "P9", "name": "Nine O'Clock", "time_windows": "09:00-09:45"})
    booking.enroll(any_app, "P9", "stable-boosters", date(2027, 3, 1))
    with transaction(any_app.engine) as session:
        rows = session.exec(select(AppointmentRow).order_by(AppointmentRow.start_utc)).all()
    local = [r.start_utc.astimezone(NEW_YORK) for r in rows]
    assert {m.time() for m in local} == {time(9, 0)}
    assert rows[0].start_utc.hour == 14 and rows[-1].start_utc.hour == 13
    assert all(r.start_utc.tzinfo is not None for r in rows)


def test_export_shows_each_visit_with_the_offset_of_its_own_day(any_app: App) -> None:
    """Boosters from 1 November 2027 cross the autumn change: the first visit exports with
    -04:00, the later ones with -05:00, all at the same local time."""
    add_patient(any_app, {"id": "P1", "name": "Autumn", "time_windows": "10:00-10:45"})
    booking.enroll(any_app, "P1", "stable-boosters", date(2027, 11, 1))
    records = json.loads(booking.export_appointments(any_app, "json"))
    assert records[0]["start"] == "2027-11-01T10:00:00-04:00"
    assert records[1]["start"].endswith("T10:00:00-05:00")


def test_a_time_with_seconds_is_refused_not_rounded() -> None:
    """The schedule is to the minute: 09:00:30 would overlap a 09:45 visit unseen."""
    with pytest.raises(InputError, match="whole minute") as caught:
        parse_local("2027-03-02 09:00:30", NEW_YORK)
    assert caught.value.fix == "write e.g. 2027-03-02 09:00"
