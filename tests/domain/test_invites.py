"""Invites follow RFC 5545/5546 and what real clients honour; output is byte-for-byte stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import vobject
from icalendar import Calendar
from invite_samples import NY, STAMP, golden, make_style, make_visit

from carepath.domain.config.models import Config
from carepath.domain.messages.invites import feed, invite_for


def request_and_cancel(config: Config) -> tuple[Calendar, Calendar]:
    style = make_style(config)
    booked = invite_for(make_visit(config), style, attendee="m.alvarez@riverside-rehab.example",
                        attendee_name="Maria Alvarez", stamp=STAMP)
    cancelled = invite_for(make_visit(config, status="cancelled", sequence=1), style,
                           attendee="m.alvarez@riverside-rehab.example",
                           attendee_name="Maria Alvarez", stamp=STAMP)
    return Calendar.from_ical(booked.ics), Calendar.from_ical(cancelled.ics)


def test_a_request_matches_its_golden_file_byte_for_byte(config: Config) -> None:
    """For a fixed clock the REQUEST is the same bytes every time."""
    invite = invite_for(make_visit(config), make_style(config),
                        attendee="m.alvarez@riverside-rehab.example", attendee_name="Maria Alvarez",
                        stamp=STAMP)
    golden("invite_request.ics", invite.ics)


def test_a_cancel_matches_its_golden_file_byte_for_byte(config: Config) -> None:
    """For a fixed clock the CANCEL is the same bytes every time."""
    invite = invite_for(make_visit(config, status="cancelled", sequence=1), make_style(config),
                        attendee="m.alvarez@riverside-rehab.example", attendee_name="Maria Alvarez",
                        stamp=STAMP)
    golden("invite_cancel.ics", invite.ics)


def test_a_cancel_keeps_the_uid_raises_sequence_and_says_cancelled(config: Config) -> None:
    """CANCEL: METHOD:CANCEL, STATUS:CANCELLED, same UID, higher SEQUENCE."""
    request, cancel = request_and_cancel(config)
    (booked,), (gone,) = request.walk("VEVENT"), cancel.walk("VEVENT")
    assert (str(request["METHOD"]), str(cancel["METHOD"])) == ("REQUEST", "CANCEL")
    assert str(gone["STATUS"]) == "CANCELLED" and str(booked["STATUS"]) == "CONFIRMED"
    assert gone["UID"] == booked["UID"]
    assert int(gone["SEQUENCE"]) > int(booked["SEQUENCE"])
    assert not gone.walk("VALARM")


def test_organizer_is_the_clinic_and_the_attendee_is_exactly_the_recipient(
        config: Config) -> None:
    """ORGANIZER never changes between updates; ATTENDEE is the recipient's address only."""
    request, cancel = request_and_cancel(config)
    for calendar in (request, cancel):
        (event,) = calendar.walk("VEVENT")
        assert str(event["ORGANIZER"]) == "mailto:scheduling@riverside-rehab.example"
        assert str(event["ATTENDEE"]) == "mailto:m.alvarez@riverside-rehab.example"


def test_stamp_is_utc_every_tzid_has_a_vtimezone_and_alarms_display(config: Config) -> None:
    """DTSTAMP ends in Z, each TZID has a VTIMEZONE, and the alarm is ACTION:DISPLAY."""
    request, _ = request_and_cancel(config)
    text = request.to_ical().decode()
    assert "DTSTAMP:20270301T120000Z" in text
    assert [str(tz["TZID"]) for tz in request.walk("VTIMEZONE")] == ["America/New_York"]
    (alarm,) = request.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"


def test_invites_show_initials_by_default_and_a_full_name_only_when_configured(
        config: Config) -> None:
    """Minimum necessary: initials unless invite_detail is full_name; never a diagnosis."""
    visit = make_visit(config)
    short = invite_for(visit, make_style(config), attendee="a@b.org", attendee_name="A",
                       stamp=STAMP).ics.decode()
    full = invite_for(visit, make_style(config, "full_name"), attendee="a@b.org",
                      attendee_name="A", stamp=STAMP).ics.decode()
    assert "SUMMARY:Treatment session – J.Q.D." in short and "Jane" not in short
    assert "Jane Q. Doe" in full
    assert "sclerosis" not in short.lower() and "diagnos" not in short.lower()


def test_a_weekly_feed_across_the_dst_change_keeps_local_times_in_two_parsers(
        config: Config) -> None:
    """Visits at 09:00 before and after the March change read back at 09:00 in both parsers."""
    visits = [make_visit(config, start=datetime(2027, 3, 8, 9, 0, tzinfo=NY) + timedelta(weeks=w),
                         uid=f"appt-{w}@riverside") for w in range(3)]
    ics = feed(visits, make_style(config), stamp=STAMP, audience="therapist", name="Alvarez")
    by_icalendar = [e.start.astimezone(NY).hour for e in Calendar.from_ical(ics).walk("VEVENT")]
    parsed = vobject.readOne(ics.decode())
    by_vobject = [e.dtstart.value.astimezone(NY).hour for e in parsed.vevent_list]
    utc_hours = [e.dtstart.value.astimezone(UTC).hour for e in parsed.vevent_list]
    assert by_icalendar == by_vobject == [9, 9, 9]
    assert utc_hours == [14, 13, 13]  # EST before 14 March 2027, EDT after


def test_a_feed_carries_no_method_and_no_attendee(config: Config) -> None:
    """Import files are not iTIP messages: no METHOD, and never PUBLISH with attendees."""
    ics = feed([make_visit(config)], make_style(config), stamp=STAMP, audience="patient")
    assert b"METHOD" not in ics and b"ATTENDEE" not in ics


@pytest.mark.parametrize("status", ["booked", "cancelled"])
def test_every_invite_parses_with_an_independent_parser(config: Config, status: str) -> None:
    """vobject (not icalendar) reads each invite and finds the same UID and SEQUENCE."""
    visit = make_visit(config, status=status, sequence=3)
    invite = invite_for(visit, make_style(config), attendee="a@b.org", attendee_name="A",
                        stamp=STAMP)
    parsed = vobject.readOne(invite.ics.decode())
    assert parsed.method.value == invite.method
    assert parsed.vevent.uid.value == "appt-7-2@riverside"
    assert int(parsed.vevent.sequence.value) == 3


def test_a_zone_without_a_yearly_rule_still_gets_a_vtimezone(config: Config) -> None:
    """Fallback: icalendar's RDATE VTIMEZONE over the visit's dates (Casablanca)."""
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    style = replace(make_style(config), zone=ZoneInfo("Africa/Casablanca"))
    ics = feed([make_visit(config)], style, stamp=STAMP, audience="therapist")
    calendar = Calendar.from_ical(ics)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Africa/Casablanca"]
    assert vobject.readOne(ics.decode()).vevent.dtstart.value.astimezone(UTC) == datetime(
        2027, 3, 10, 14, 0, tzinfo=UTC)
