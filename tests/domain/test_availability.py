"""Availability is interval arithmetic: intersect, subtract, cut — and honest about DST."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Clinic, Config
from carepath.domain.scheduling.availability import (
    BusyList,
    ClinicCalendar,
    cut,
    from_minute,
    intersect,
    normalize,
    subtract,
    to_minute,
)

NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


def test_normalize_merges_overlapping_and_touching_spans() -> None:
    """Spans that overlap or touch become one; empty spans vanish."""
    assert normalize([(5, 9), (0, 3), (3, 4), (8, 12), (20, 20)]) == [(0, 4), (5, 12)]


def test_intersect_keeps_only_time_in_both() -> None:
    """Clinic hours ∩ therapist hours is the time both are open."""
    assert intersect([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]


def test_subtract_removes_busy_time_and_splits_spans() -> None:
    """A booking in the middle of a free span leaves the time before and after."""
    assert subtract([(0, 100)], [(10, 20), (50, 60)]) == [(0, 10), (20, 50), (60, 100)]
    assert subtract([(0, 10)], [(0, 10)]) == []


def test_cut_puts_slots_on_the_local_step_grid() -> None:
    """A 15-minute grid starts at :00/:15/:30/:45 local, even from an odd free start."""
    assert cut([(7, 75)], length=30, step=15, offset=0) == [15, 30, 45]
    assert cut([(0, 60)], length=30, step=60, offset=30) == [30]


def test_busy_list_detects_overlap_but_not_touching() -> None:
    """Back-to-back visits do not overlap; one minute of overlap does."""
    busy = BusyList([(100, 145)])
    assert not busy.overlaps(145, 190)
    assert not busy.overlaps(55, 100)
    assert busy.overlaps(144, 190)
    assert busy.overlaps(90, 200)


def test_busy_list_add_and_remove_round_trip() -> None:
    """Removing a booking frees exactly its time, even after it merged with a neighbour."""
    busy = BusyList()
    busy.add(0, 45)
    busy.add(45, 90)
    busy.remove(0, 45)
    assert (busy.starts, busy.ends) == ([45], [90])
    assert busy.within(0, 200) == [(45, 90)]


def test_minutes_round_trip_to_aware_utc() -> None:
    """An aware datetime becomes a UTC minute and back, whatever its zone."""
    moment = datetime(2027, 3, 14, 9, 0, tzinfo=NEW_YORK)
    assert from_minute(to_minute(moment)) == moment.astimezone(UTC)


def test_clinic_is_closed_on_holidays_and_closures(config: Config) -> None:
    """Thanksgiving (US holiday) and a configured closure both close the clinic."""
    calendar = ClinicCalendar(config.clinic, NEW_YORK)
    assert "Thanksgiving" in (calendar.closed_reason(date(2027, 11, 25)) or "")
    assert "Day after Thanksgiving" in (calendar.closed_reason(date(2027, 11, 26)) or "")
    assert calendar.open_spans(date(2027, 11, 25)) == []
    assert calendar.closed_reason(date(2027, 11, 24)) is None


def test_therapist_leave_empties_their_working_spans(config: Config) -> None:
    """Chen is on leave 22–26 March 2027: no working time, and the reason says so."""
    calendar = ClinicCalendar(config.clinic, NEW_YORK)
    chen = calendar.therapists["chen"]
    assert calendar.working_spans("chen", date(2027, 3, 23)) == []
    assert "leave" in (calendar.off_reason(chen, date(2027, 3, 23)) or "")
    assert calendar.working_spans("chen", date(2027, 3, 29)) != []


def test_working_spans_are_clinic_hours_intersected_with_therapist_hours(
        config: Config) -> None:
    """Okafor works 09:00–13:00 and 14:00–18:00; the clinic opens 07:30–18:00 on Mondays."""
    calendar = ClinicCalendar(config.clinic, NEW_YORK)
    spans = calendar.working_spans("okafor", date(2027, 3, 1))
    local = [(from_minute(a).astimezone(NEW_YORK).time(), from_minute(b).astimezone(NEW_YORK)
              .time()) for a, b in spans]
    assert local == [(time(9), time(13)), (time(14), time(18))]


def _always_open(zone: str) -> Clinic:
    every_day = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return Clinic.model_validate({
        "name": "Night clinic", "timezone": zone, "organizer_email": "s@clinic.example",
        "address": "1 Road", "opening_hours": every_day,
        "resources": [{"id": "gym", "name": "Gym", "provides": ["gym"]}],
        "therapists": [{"id": "t1", "name": "T One", "email": "t1@clinic.example",
                        "working_hours": every_day}],
    })


def test_a_spring_forward_day_has_23_hours_and_a_fall_back_day_25() -> None:
    """Days are local: New York's 14 March 2027 is 23 h long, 7 November 2027 is 25 h."""
    calendar = ClinicCalendar(_always_open("America/New_York"), NEW_YORK)
    for day, hours in ((date(2027, 3, 14), 23), (date(2027, 11, 7), 25),
                       (date(2027, 3, 15), 24)):
        start, end = calendar.day_bounds(day)
        assert end - start == hours * 60


def test_sydney_changes_clocks_in_april_and_october() -> None:
    """In the southern zone 4 April 2027 has 25 hours and 3 October 2027 has 23."""
    calendar = ClinicCalendar(_always_open("Australia/Sydney"), SYDNEY)
    assert calendar.day_bounds(date(2027, 4, 4))[1] - calendar.day_bounds(date(2027, 4, 4))[0] \
        == 25 * 60
    assert calendar.day_bounds(date(2027, 10, 3))[1] - calendar.day_bounds(date(2027, 10, 3))[0] \
        == 23 * 60
