"""Wall-clock times become instants correctly, including on daylight-saving nights."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from carepath.domain.timeutil import (
    ClockRange,
    NonexistentLocalTime,
    is_ambiguous,
    local_datetime,
    to_utc,
)

NY = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


@pytest.mark.parametrize(("zone", "before", "after"), [
    (NY, date(2027, 3, 8), date(2027, 3, 15)),        # US spring forward 2027-03-14
    (NY, date(2027, 11, 1), date(2027, 11, 8)),       # US fall back 2027-11-07
    (SYDNEY, date(2027, 3, 29), date(2027, 4, 5)),    # Sydney fall back 2027-04-04
    (SYDNEY, date(2027, 9, 27), date(2027, 10, 4)),   # Sydney spring forward 2027-10-03
])
def test_weekly_nine_oclock_stays_nine_oclock_across_a_change(
    zone: ZoneInfo, before: date, after: date
) -> None:
    """A 09:00 visit a week later is 09:00 local, so its UTC time moves by an hour."""
    first = local_datetime(before, time(9), zone)
    second = local_datetime(after, time(9), zone)
    assert second.astimezone(zone).time() == time(9)
    assert abs((to_utc(second) - to_utc(first)) - timedelta(days=7)) == timedelta(hours=1)


def test_a_time_in_the_spring_gap_is_refused() -> None:
    """02:30 on the New York spring-forward night does not exist."""
    with pytest.raises(NonexistentLocalTime, match="does not exist"):
        local_datetime(date(2027, 3, 14), time(2, 30), NY)


def test_a_time_in_the_gap_can_be_shifted_forward() -> None:
    """Asked to shift, 02:30 becomes 03:30 EDT."""
    shifted = local_datetime(date(2027, 3, 14), time(2, 30), NY, shift_gap=True)
    assert shifted.astimezone(NY).time() == time(3, 30)


def test_an_ambiguous_time_takes_the_first_occurrence() -> None:
    """01:30 on the fall-back night happens twice; the first (EDT) is used."""
    day = date(2027, 11, 7)
    assert is_ambiguous(day, time(1, 30), NY)
    first = local_datetime(day, time(1, 30), NY)
    assert first.astimezone(UTC) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_sydney_ambiguous_time_is_detected() -> None:
    """02:30 on Sydney's fall-back night happens twice."""
    assert is_ambiguous(date(2027, 4, 4), time(2, 30), SYDNEY)
    assert not is_ambiguous(date(2027, 4, 5), time(2, 30), SYDNEY)


def test_naive_datetimes_are_refused() -> None:
    """Every datetime must carry its zone."""
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2027, 3, 1, 9))


@pytest.mark.parametrize("text", ["9-12", "12:00-09:00", "25:00-26:00", "08:00"])
def test_bad_clock_ranges_are_refused(text: str) -> None:
    """A range must look like 08:00-12:00 and end after it starts."""
    with pytest.raises(ValueError):
        ClockRange.parse(text)
