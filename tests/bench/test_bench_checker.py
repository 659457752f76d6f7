"""The bench's independent checker counts every kind of hard-rule violation it is shown."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench.baseline import schedule_naive
from bench.checker import check
from bench.model import Booking, Workload
from bench.workload import generate
from carepath.domain.config.models import Period

NEW_YORK = ZoneInfo("America/New_York")
MEMORIAL_DAY = date(2027, 5, 31)
AFTER_SPRING_FORWARD = date(2027, 3, 15)  # the Monday after the clocks went forward


@pytest.fixture(scope="module")
def empty() -> Workload:
    """The small clinic with no enrolments and no existing bookings: only what a test adds."""
    workload = generate("small", 1)
    staff = [t.model_copy(update={"leave": []}) for t in workload.clinic.therapists]
    rooms = [r.model_copy(update={"maintenance": []}) for r in workload.clinic.resources]
    clinic = workload.clinic.model_copy(update={"therapists": staff, "resources": rooms})
    config = workload.config.model_copy(update={"clinic": clinic})
    return dataclasses.replace(workload, config=config, enrolments=(), existing=())


def fixed(day: date, at: str, minutes: int = 45, *, therapist: str = "alvarez",
          patient: str = "prev-1", resources: tuple[str, ...] = ("gym-1",),
          visit_type: str = "treatment") -> Booking:
    start = datetime.combine(day, time.fromisoformat(at), tzinfo=NEW_YORK)
    return Booking(patient_id=patient, episode_id="existing", seq=0, visit_type=visit_type,
                   therapist_id=therapist, start=start, end=start + timedelta(minutes=minutes),
                   resources=resources, fixed=True)


def kinds(workload: Workload, *bookings: Booking) -> dict[str, int]:
    return dict(check(dataclasses.replace(workload, existing=bookings), []).counts)


def test_a_valid_visit_counts_nothing(empty: Workload) -> None:
    """A gym visit inside clinic and therapist hours on a working day is clean."""
    assert kinds(empty, fixed(date(2027, 3, 2), "09:00")) == {}


def test_a_visit_after_the_spring_forward_keeps_its_wall_clock_hours(empty: Workload) -> None:
    """09:00 New York the Monday after the change is inside hours, though its UTC hour moved."""
    assert kinds(empty, fixed(AFTER_SPRING_FORWARD, "09:00")) == {}


def test_two_visits_with_one_therapist_at_once_are_a_double_booking(empty: Workload) -> None:
    """The second overlapping visit of a therapist counts once."""
    first = fixed(date(2027, 3, 2), "09:00")
    second = fixed(date(2027, 3, 2), "09:30", patient="prev-2")
    assert kinds(empty, first, second) == {"therapist_overlap": 1}


def test_one_patient_in_two_places_at_once_is_a_double_booking(empty: Workload) -> None:
    """A patient with two overlapping visits (two therapists) counts once."""
    first = fixed(date(2027, 3, 2), "09:00")
    second = fixed(date(2027, 3, 2), "09:15", therapist="patel")
    assert kinds(empty, first, second) == {"patient_overlap": 1}


def test_a_resource_past_its_capacity_is_counted(empty: Workload) -> None:
    """The gait trainer holds one visit at a time."""
    one = fixed(date(2027, 3, 2), "09:00", therapist="chen", resources=("gait-trainer-1",),
                visit_type="gait")
    two = fixed(date(2027, 3, 2), "09:00", therapist="patel", patient="prev-2",
                resources=("gait-trainer-1",), visit_type="gait")
    assert kinds(empty, one, two) == {"resource_over_capacity": 1}


def test_a_unit_held_twice_is_counted(empty: Workload) -> None:
    """Named units of the gym (capacity 4) cannot be shared either."""
    one = dataclasses.replace(fixed(date(2027, 3, 2), "09:00"), units=(2,))
    two = dataclasses.replace(fixed(date(2027, 3, 2), "09:00", therapist="patel",
                                    patient="prev-2"), units=(2,))
    assert kinds(empty, one, two) == {"unit_overlap": 1}


def test_a_visit_on_a_public_holiday_is_counted(empty: Workload) -> None:
    """Memorial Day is a holiday in New York, though alvarez works Mondays."""
    assert kinds(empty, fixed(MEMORIAL_DAY, "09:00")) == {"holiday": 1}


def test_a_visit_outside_the_therapists_hours_is_counted(empty: Workload) -> None:
    """okafor starts at 09:00: a 07:30 visit is inside clinic hours but not hers."""
    assert kinds(empty, fixed(date(2027, 3, 2), "07:30", therapist="okafor")) == {
        "therapist_hours": 1}


def test_a_visit_after_closing_time_is_counted_twice(empty: Workload) -> None:
    """17:30 on a Friday is after the clinic (16:00) and alvarez (15:00) close."""
    assert kinds(empty, fixed(date(2027, 3, 5), "17:30")) == {
        "clinic_hours": 1, "therapist_hours": 1}


def test_a_visit_on_leave_is_counted(empty: Workload) -> None:
    """A therapist on leave that day cannot see anyone."""
    leave = Period.model_validate({"from": date(2027, 3, 1), "to": date(2027, 3, 5)})
    staff = [t.model_copy(update={"leave": [leave]}) if t.id == "alvarez" else t
             for t in empty.clinic.therapists]
    clinic = empty.clinic.model_copy(update={"therapists": staff})
    workload = dataclasses.replace(empty, config=empty.config.model_copy(
        update={"clinic": clinic}))
    assert kinds(workload, fixed(date(2027, 3, 2), "09:00")) == {"leave": 1}


def test_a_visit_without_the_skill_or_room_it_needs_is_counted(empty: Workload) -> None:
    """An evaluation needs the evaluation skill and a treatment room, not the gym."""
    evaluation = fixed(date(2027, 3, 2), "09:00", 60, visit_type="evaluation")
    assert kinds(empty, evaluation) == {"resource_need": 1}


@pytest.fixture(scope="module")
def booked() -> tuple[Workload, list[Booking]]:
    """The small workload as the naive baseline books it."""
    workload = generate("small", 2)
    return workload, schedule_naive(workload)


def test_the_baseline_keeps_every_hard_rule(booked: tuple[Workload, list[Booking]]) -> None:
    """The naive baseline books the small workload with zero violations."""
    workload, bookings = booked
    assert bookings
    assert check(workload, bookings).total == 0


def test_visits_too_close_together_break_the_rest_days(
    booked: tuple[Workload, list[Booking]],
) -> None:
    """Moving a post-relapse visit to the day after the previous one counts a rest-day break."""
    workload, bookings = booked
    episode = next(e for e in workload.enrolments if e.pathway_id == "post-relapse")
    visits = sorted((b for b in bookings if b.episode_id == episode.id), key=lambda b: b.seq)
    moved = dataclasses.replace(visits[1], start=visits[0].start + timedelta(days=1),
                                end=visits[0].start + timedelta(days=1, minutes=45))
    found = check(workload, [moved if b is visits[1] else b for b in bookings])
    assert found.counts["rest_days"] >= 1


def test_a_visit_outside_its_week_breaks_the_cadence(
    booked: tuple[Workload, list[Booking]],
) -> None:
    """A week-1 visit booked three weeks later is outside its window."""
    workload, bookings = booked
    first = bookings[0]
    late = dataclasses.replace(first, start=first.start + timedelta(weeks=3),
                               end=first.end + timedelta(weeks=3))
    assert check(workload, [late, *bookings[1:]]).counts["cadence"] >= 1
