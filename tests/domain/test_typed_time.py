"""The one typed-time policy: every command reads a typed time the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carepath.domain.typed_time import TypedTimeError, read_instant
from carepath.errors import InputError
from carepath.services.instants import parse_instant
from carepath.services.local_time import parse_local

NEW_YORK = ZoneInfo("America/New_York")


def test_a_time_skipped_by_spring_forward_is_refused_with_the_first_valid_time() -> None:
    with pytest.raises(TypedTimeError) as refused:
        read_instant("2027-03-14T02:30", NEW_YORK)
    assert refused.value.fix == "pick 03:00 or later"


@pytest.mark.parametrize("parse", [
    lambda text: parse_instant(text, "America/New_York"),
    lambda text: parse_local(text, NEW_YORK),
], ids=["instant (measurements, audit)", "visit start (bookings, imports)"])
def test_every_reader_refuses_the_gap_the_same_way(parse: object) -> None:
    with pytest.raises(InputError, match="pick 03:00 or later"):
        parse("2027-03-14 02:30")  # type: ignore[operator]


def test_a_doubled_fall_back_time_is_the_first_unless_an_offset_says_otherwise() -> None:
    assert read_instant("2027-11-07 01:30", NEW_YORK).astimezone(UTC).hour == 5
    assert read_instant("2027-11-07T01:30-05:00", NEW_YORK).astimezone(UTC).hour == 6


def test_a_half_hour_gap_names_its_own_end() -> None:
    """Lord Howe moves 30 minutes: 02:15 does not exist, 02:30 does."""
    with pytest.raises(TypedTimeError) as refused:
        read_instant("2027-10-03 02:15", ZoneInfo("Australia/Lord_Howe"))
    assert refused.value.fix == "pick 02:30 or later"


def test_a_date_is_the_start_of_the_day_even_where_midnight_is_skipped() -> None:
    start = read_instant("2018-11-04", ZoneInfo("America/Sao_Paulo"))
    assert (start.hour, start.minute) == (1, 0)
    assert read_instant("2027-03-01", NEW_YORK) == datetime(2027, 3, 1, tzinfo=NEW_YORK)


def test_seconds_are_refused_only_where_a_visit_starts() -> None:
    with pytest.raises(TypedTimeError, match="whole minute"):
        read_instant("2027-03-02 09:00:30", NEW_YORK, whole_minutes=True)
    assert read_instant("2027-03-02 09:00:30", NEW_YORK).second == 30


def test_nonsense_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="not an ISO date or date-time"):
        parse_instant("next tuesday", "America/New_York")
    with pytest.raises(InputError, match="not a valid date"):
        parse_instant("2027-02-30", "America/New_York")


ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc"))


@given(zone=st.sampled_from(ZONES),
       moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 31)))
def test_a_typed_time_is_that_wall_clock_time_or_refused_for_the_next_one(
        zone: str, moment: datetime) -> None:
    """Any zone, any minute: either the instant shows the same wall-clock time in the zone,
    or the time does not exist and the named fix is the first minute after it that does."""
    tz = ZoneInfo(zone)
    typed = moment.replace(second=0, microsecond=0)
    try:
        instant = read_instant(typed.isoformat(sep=" "), tz)
    except TypedTimeError as refused:
        hour, minute = map(int, refused.fix.removeprefix("pick ").removesuffix(" or later")
                           .split(":"))
        first = typed.replace(hour=hour, minute=minute)
        if first <= typed:  # the gap ran past midnight
            first += timedelta(days=1)
        assert read_instant(first.isoformat(sep=" "), tz).astimezone(tz).replace(
            tzinfo=None) == first
        with pytest.raises(TypedTimeError):
            read_instant((first - timedelta(minutes=1)).isoformat(sep=" "), tz)
        return
    assert instant.astimezone(tz).replace(tzinfo=None) == typed
