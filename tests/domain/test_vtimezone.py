"""VTIMEZONE with yearly RRULEs reads back with zoneinfo's offsets in icalendar and vobject."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar, Event

from carepath.domain.messages.vtimezone import vtimezone

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Sao_Paulo",
         "Asia/Tokyo", "Asia/Kolkata"]


def wrapped(component_ics: bytes) -> str:
    return (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + component_ics
            + b"END:VCALENDAR\r\n").decode()


@pytest.mark.parametrize("name", ZONES)
def test_vobject_reads_the_rrule_zone_with_zoneinfos_offsets_for_two_years(name: str) -> None:
    """Every hour sampled over 2027–2028 has the offset zoneinfo gives it."""
    zone = ZoneInfo(name)
    component = vtimezone(zone, date(2027, 1, 1), date(2028, 12, 31))
    assert component is not None
    parsed = vobject.readOne(wrapped(component.to_ical())).vtimezone.gettzinfo()
    instant = datetime(2027, 1, 1, tzinfo=UTC)
    while instant.year < 2029:
        local = instant.astimezone(zone).replace(tzinfo=None)
        wanted = instant.astimezone(zone).utcoffset()
        if local.replace(tzinfo=zone, fold=1).utcoffset() == wanted:  # skip the ambiguous hour
            assert local.replace(tzinfo=parsed).utcoffset() == wanted, local
        instant += timedelta(hours=7)


def test_the_definition_is_identical_whatever_the_visit_dates() -> None:
    """Clients that keep the first VTIMEZONE per TZID see one definition from us, always."""
    zone = ZoneInfo("America/New_York")
    winter = vtimezone(zone, date(2027, 1, 10), date(2027, 1, 12))
    summer = vtimezone(zone, date(2028, 7, 1), date(2028, 7, 3))
    assert winter is not None and summer is not None
    assert winter.to_ical() == summer.to_ical()
    assert b"RDATE" not in winter.to_ical()


def test_a_zone_whose_rule_is_irregular_falls_back_to_none() -> None:
    """Casablanca changes around Ramadan: no yearly rule, so the caller uses RDATEs."""
    assert vtimezone(ZoneInfo("Africa/Casablanca"), date(2027, 1, 1), date(2027, 12, 31)) is None


def test_icalendar_reads_an_event_in_the_rrule_zone_at_its_local_time() -> None:
    """icalendar resolves the TZID to the same instant as zoneinfo on both sides of DST."""
    zone = ZoneInfo("Europe/Berlin")
    component = vtimezone(zone, date(2027, 3, 1), date(2027, 4, 30))
    assert component is not None
    for start in (datetime(2027, 3, 22, 9, tzinfo=zone), datetime(2027, 4, 5, 9, tzinfo=zone)):
        calendar = Calendar()
        calendar.add("prodid", "-//test//EN")
        calendar.add("version", "2.0")
        calendar.add_component(component)
        calendar.add_component(Event.new(uid="u", stamp=datetime(2027, 1, 1, tzinfo=UTC),
                                         start=start, end=start + timedelta(hours=1)))
        (event,) = Calendar.from_ical(calendar.to_ical()).walk("VEVENT")
        assert event.start.astimezone(UTC) == start.astimezone(UTC)
