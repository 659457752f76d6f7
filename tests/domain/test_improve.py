"""The improvement phase: visits move to their episode's lead therapist (the same time, else
the same day, else another day of the week between the episode's other visits), never
breaking a hard rule (checked by the independent ``hard_violations``), within its budget."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.scheduling_helpers import hard_violations, make_clinic, make_pathway, therapist

from carepath.domain.config.models import Clinic
from carepath.domain.scheduling import schedule_batch
from carepath.domain.scheduling.improve import Improvement, improve, lead_of
from carepath.domain.scheduling.planning import (
    EpisodePlan,
    PatientPreferences,
    plan_episode,
    started_with_first,
)
from carepath.domain.scheduling.types import Busy, EpisodeRequest, EpisodeSchedule, Placement

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2027, 3, 1)
DAWN = datetime(2027, 3, 1, 6, tzinfo=NEW_YORK)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=day), datetime.min.time(),
                            tzinfo=NEW_YORK).replace(hour=hour, minute=minute)


def _episode(plan: EpisodePlan, busy: Busy, visits: list[tuple[int, str]],
             patient: str = "p1", unit: int = 0) -> EpisodeSchedule:
    """Visits of ``patient`` at 09:00 on the given days (0 = Monday), with those therapists."""
    placements = []
    for requirement, (day, who) in zip(plan.requirements, visits, strict=True):
        start = _at(day, 9)
        placement = Placement(requirement, who, start, start + timedelta(minutes=45),
                              (("gym", unit),))
        busy.add(placement.start, placement.end, therapist_id=who, units=placement.resources,
                 patient_id=patient)
        placements.append(placement)
    return EpisodeSchedule(plan, tuple(placements), key=patient, patient_id=patient)


def _improved(schedule: EpisodeSchedule, clinic: Clinic, busy: Busy,
              stop: bool = False) -> tuple[EpisodeSchedule, int, bool]:
    [better], report = improve([schedule], clinic, busy, zone=NEW_YORK, not_before=DAWN,
                               stop=lambda: stop)
    assert hard_violations([("p1", better.plan, p) for p in better.placements], clinic) == []
    return better, report.moved, report.out_of_time


def _where(schedule: EpisodeSchedule) -> list[tuple[str, str]]:
    return [(p.therapist_id, p.start.astimezone(NEW_YORK).strftime("%a %H:%M"))
            for p in schedule.placements]


def _clinic(**leave: list[dict[str, str]]) -> Clinic:
    return make_clinic(therapists=[therapist("t1", leave=leave.get("t1", [])),
                                   therapist("t2")])


def test_a_visit_moves_to_the_lead_at_the_same_time_when_the_lead_is_free() -> None:
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 3}], rest=1),
                        MONDAY)
    clinic, busy = _clinic(), Busy()
    schedule = _episode(plan, busy, [(0, "t1"), (2, "t2"), (4, "t1")])
    better, moved, _ = _improved(schedule, clinic, busy)
    assert moved == 1 and better.single_therapist and lead_of(better) == "t1"
    assert _where(better) == [("t1", "Mon 09:00"), ("t1", "Wed 09:00"), ("t1", "Fri 09:00")]
    assert not busy.therapist("t2").overlaps(*_minutes(_at(2, 9)))  # the diary follows
    assert busy.therapist("t1").overlaps(*_minutes(_at(2, 9)))


def _minutes(start: datetime) -> tuple[int, int]:
    from carepath.domain.scheduling.availability import to_minute

    return to_minute(start), to_minute(start) + 45


def test_a_lead_busy_at_that_time_takes_it_later_the_same_day() -> None:
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 3}], rest=1),
                        MONDAY)
    clinic, busy = _clinic(), Busy()
    busy.add(_at(2, 8), _at(2, 10), therapist_id="t1")  # another patient's visit
    schedule = _episode(plan, busy, [(0, "t1"), (2, "t2"), (4, "t1")])
    better, moved, _ = _improved(schedule, clinic, busy)
    who, when = _where(better)[1]
    assert moved == 1 and who == "t1" and when.startswith("Wed") and when >= "Wed 10:00"


def test_a_lead_away_that_day_takes_another_day_clear_of_the_rest_days() -> None:
    """t1 is away on Wednesday; Tuesday is too close to Monday's visit (one rest day), so the
    visit goes to Thursday: nearest, in its week, after the visit before it."""
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 2}], rest=1),
                        MONDAY)
    clinic = _clinic(t1=[{"from": "2027-03-03", "to": "2027-03-03", "reason": "Course"}])
    busy = Busy()
    schedule = _episode(plan, busy, [(0, "t1"), (2, "t2")])
    better, moved, _ = _improved(schedule, clinic, busy)
    assert moved == 1 and [(who, when[:3]) for who, when in _where(better)] == [
        ("t1", "Mon"), ("t1", "Thu")]


def test_an_episode_started_by_an_imported_evaluation_keeps_its_days() -> None:
    """The evaluation (imported, Monday, t1) is not among the schedule's placements: moving
    Wednesday's visit to Tuesday would put it a day after the evaluation, inside the pathway's
    rest day. The phase cannot see that day, so it moves such visits only within their day."""
    pathway = make_pathway([{"weeks": "1-2", "visit": "visit", "per_week": 2}], rest=1,
                           weeks=2)
    whole = plan_episode(pathway, MONDAY)
    plan = started_with_first(whole)
    clinic = _clinic(t1=[{"from": "2027-03-03", "to": "2027-03-03", "reason": "Course"}])
    busy = Busy()
    evaluation = Placement(whole.requirements[0], "t1", _at(0, 9), _at(0, 9, 45),
                           (("gym", 0),))
    visits = [Placement(req, who, _at(day, 9), _at(day, 9, 45), (("gym", 0),))
              for req, (day, who) in zip(plan.requirements, [(2, "t2"), (7, "t1"), (9, "t1")],
                                         strict=True)]
    for placement in (evaluation, *visits):
        busy.add(placement.start, placement.end, therapist_id=placement.therapist_id,
                 units=placement.resources, patient_id="p1")
    schedule = EpisodeSchedule(plan, tuple(visits), key="1", patient_id="p1")
    [better], _ = improve([schedule], clinic, busy, zone=NEW_YORK, not_before=DAWN,
                          stop=lambda: False)
    triples = [("p1", plan, p) for p in (evaluation, *better.placements)]
    assert hard_violations(triples, clinic) == []
    assert better.placements[0].start.astimezone(NEW_YORK).date() == MONDAY + timedelta(days=2)


def test_a_move_that_would_break_a_rule_leaves_the_visit_and_the_diary_as_they_were() -> None:
    """t1 away Wednesday, and the days around are rest days of the episode: no move."""
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 3}], rest=1),
                        MONDAY)
    clinic = _clinic(t1=[{"from": "2027-03-03", "to": "2027-03-03", "reason": "Course"}])
    busy = Busy()
    schedule = _episode(plan, busy, [(0, "t1"), (2, "t2"), (4, "t1")])
    better, moved, _ = _improved(schedule, clinic, busy)
    assert moved == 0 and better == schedule
    assert busy.therapist("t2").overlaps(*_minutes(_at(2, 9)))
    assert busy.patient("p1").overlaps(*_minutes(_at(2, 9)))


def test_two_visits_at_the_same_time_trade_therapists_to_reach_both_leads() -> None:
    """Wednesday 09:00: p1 (lead t1) is with t2 and p2 (lead t2) with t1, and neither lead is
    free then: they trade, and both episodes end with one therapist."""
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 3}], rest=1),
                        MONDAY)
    clinic = make_clinic(therapists=[therapist("t1"), therapist("t2")],
                         resources=[{"id": "gym", "name": "Gym", "provides": ["gym"],
                                     "capacity": 2}])
    busy = Busy()
    first = _episode(plan, busy, [(0, "t1"), (2, "t2"), (4, "t1")], "p1", unit=0)
    second = _episode(replace(plan), busy, [(0, "t2"), (2, "t1"), (4, "t2")], "p2", unit=1)
    busy.add(_at(2, 8), _at(2, 9), therapist_id="t1")  # both leads full around Wednesday 09:00
    busy.add(_at(2, 9, 45), _at(2, 17), therapist_id="t1")
    busy.add(_at(2, 8), _at(2, 9), therapist_id="t2")
    busy.add(_at(2, 9, 45), _at(2, 17), therapist_id="t2")
    better, report = improve([first, second], clinic, busy, zone=NEW_YORK, not_before=DAWN,
                             stop=lambda: False)
    assert (report.moved, report.swapped, report.unified) == (0, 1, 2)
    assert [s.therapist_ids for s in better] == [("t1",), ("t2",)]
    triples = [(s.patient_id, s.plan, p) for s in better for p in s.placements]
    assert hard_violations(triples, clinic) == []


def test_the_budget_is_asked_before_each_episode() -> None:
    plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 3}], rest=1),
                        MONDAY)
    clinic, busy = _clinic(), Busy()
    schedule = _episode(plan, busy, [(0, "t1"), (2, "t2"), (4, "t1")])
    better, moved, out_of_time = _improved(schedule, clinic, busy, stop=True)
    assert (moved, out_of_time, better) == (0, True, schedule)


def with_lead(schedule: EpisodeSchedule) -> int:
    """Visits with the episode's lead as it stands: the figure the phase raises. (The lead
    may change on the way — a trade can make another therapist the most frequent — so it is
    compared state to state, not against the lead the episode started with.)"""
    if not schedule.placements:
        return 0
    lead = lead_of(schedule)
    return sum(p.therapist_id == lead for p in schedule.placements)


def _batch_then_improve(clinic: Clinic, requests: list[EpisodeRequest]
                        ) -> tuple[list[EpisodeSchedule], list[EpisodeSchedule], Improvement]:
    """The batch's answer, the improved one (checked: no hard rule broken), and the report."""
    busy = Busy()
    schedules = schedule_batch(requests, clinic, busy, zone=NEW_YORK, not_before=DAWN,
                               partial=True)
    better, report = improve(schedules, clinic, busy, zone=NEW_YORK, not_before=DAWN,
                             stop=lambda: False)
    triples = [(s.patient_id, s.plan, p) for s in better for p in s.placements]
    assert hard_violations(triples, clinic) == []
    return schedules, better, report


def test_a_crowded_batch_improved_keeps_every_rule_and_every_booking() -> None:
    """Sixteen patients, three therapists on different days and hours, two gym places: the
    batch leaves some episodes mixed; the phase moves visits toward their leads, breaking
    nothing and booking exactly what the batch booked."""
    clinic = make_clinic(therapists=[therapist("t1", days=["mon", "wed", "fri"]),
                                     therapist("t2", hours="08:00-12:00"),
                                     therapist("t3", days=["tue", "wed", "thu"])],
                         resources=[{"id": "gym", "name": "Gym", "provides": ["gym"],
                                     "capacity": 2}])
    pathway = make_pathway([{"weeks": 2, "visit": "visit", "per_week": 2}], rest=1, weeks=2,
                           max_weeks=3)
    requests = [EpisodeRequest(str(i), f"p{i}", plan_episode(pathway, MONDAY))
                for i in range(16)]
    schedules, better, report = _batch_then_improve(clinic, requests)
    assert [len(s.placements) for s in better] == [len(s.placements) for s in schedules]
    mixed_before = sum(not s.single_therapist for s in schedules)
    assert report.moved > 0 and report.looked_at == mixed_before
    assert sum(not s.single_therapist for s in better) == mixed_before - report.unified


DAYS = ["mon", "tue", "wed", "thu", "fri"]
SKILLS = ["aquatic", "vestibular"]
T = TypeVar("T")


@dataclass(frozen=True)
class Generated(Generic[T]):
    """A generated example and the recipe it was drawn from, which is its repr: a failing
    example then reads as hours, skills and who sees whom when. (The objects' own reprs ran
    to tens of kilobytes, which Hypothesis warns about; the suite turns warnings into errors.)"""

    value: T
    recipe: str

    def __repr__(self) -> str:
        return self.recipe


@st.composite
def crowded_clinics(draw: st.DrawFn) -> Generated[tuple[Clinic, list[EpisodeRequest]]]:
    """Clinics of shapes the phase was not written for: part-timers, short days, a day of
    leave, uneven skills, one to three gym places; patients with weekday wishes, one to three
    visits a week that may need a skill, with or without rest days, starting on different
    days of the first week. (Skills are what a same-time trade must check.)"""
    staff, recipe = [], []
    for index in range(draw(st.integers(2, 4))):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=2, max_size=5, unique=True))
        hours = draw(st.sampled_from(["08:00-17:00", "08:00-12:00", "12:00-17:00"]))
        leave = draw(st.sampled_from([[], [{"from": "2027-03-03", "to": "2027-03-03"}],
                                      [{"from": "2027-03-09", "to": "2027-03-09",
                                        "hours": "08:00-11:00"}]]))
        skills = draw(st.sets(st.sampled_from(SKILLS)))
        staff.append(therapist(f"t{index}", skills=sorted(skills), days=days, hours=hours,
                               leave=leave))
        recipe.append(f"t{index} {days} {hours} leave={leave} skills={sorted(skills)}")
    places = draw(st.integers(1, 3))
    clinic = make_clinic(therapists=staff, resources=[{
        "id": "gym", "name": "Gym", "provides": ["gym"], "capacity": places}])
    recipe.append(f"gym places {places}")
    requests = []
    for index in range(draw(st.integers(4, 16))):
        per_week = draw(st.integers(1, 3))
        needs = {"resources": ["gym"],
                 "skills": sorted(draw(st.sets(st.sampled_from(SKILLS), max_size=1)))}
        rest = draw(st.integers(0, 1))
        pathway = make_pathway([{"weeks": "1-2", "visit": "visit", "per_week": per_week}],
                               rest=rest, weeks=2, max_weeks=3, needs=needs)
        wishes = PatientPreferences(weekdays=tuple(sorted(draw(st.sets(st.integers(0, 4),
                                                                       max_size=3)))))
        start = MONDAY + timedelta(days=draw(st.integers(0, 4)))
        requests.append(EpisodeRequest(str(index), f"p{index}",
                                       plan_episode(pathway, start, wishes)))
        recipe.append(f"p{index} {per_week}/week rest {rest} skills={needs['skills']} "
                      f"weekdays={wishes.weekdays} from {start:%a}")
    return Generated((clinic, requests), "; ".join(recipe))


@settings(max_examples=40, deadline=None)
@given(crowded_clinics())
def test_on_any_clinic_the_phase_breaks_no_rule_and_books_the_same(
        shape: Generated[tuple[Clinic, list[EpisodeRequest]]]) -> None:
    clinic, requests = shape.value
    schedules, better, report = _batch_then_improve(clinic, requests)
    assert [[p.requirement.seq for p in s.placements] for s in better] == [
        [p.requirement.seq for p in s.placements] for s in schedules]
    for before, after in zip(schedules, better, strict=True):
        days = [p.start.astimezone(NEW_YORK).date() for p in after.placements]
        assert days == sorted(days)  # the episode's visits keep their order
        assert with_lead(after) >= with_lead(before)
    changed = sum(a.therapist_id != b.therapist_id or a.start != b.start
                  for s, t in zip(schedules, better, strict=True)
                  for a, b in zip(s.placements, t.placements, strict=True))
    assert changed <= report.moved + 2 * report.swapped
    assert (changed == 0) == (report.moved + report.swapped == 0)


@st.composite
def random_diaries(draw: st.DrawFn) -> Generated[tuple[Clinic, list[EpisodeSchedule], Busy]]:
    """Valid diaries the batch would not write: each visit of Mon/Wed/Fri at 09:00 or 10:00
    with any qualified therapist free then, so many visits share a time with crossed
    therapists — what a same-time trade works on."""
    hours = draw(st.sampled_from(["09:00-10:45", "08:00-17:00"]))  # short: moves rarely fit
    staff = [therapist(f"t{i}", skills=sorted(draw(st.sets(st.sampled_from(SKILLS)))),
                       hours=hours) for i in range(draw(st.integers(3, 5)))]
    clinic = make_clinic(therapists=staff, resources=[
        {"id": "gym", "name": "Gym", "provides": ["gym"], "capacity": 12}])
    busy, schedules, taken = Busy(), [], set()
    for index in range(draw(st.integers(4, 20))):
        needs = {"resources": ["gym"],
                 "skills": sorted(draw(st.sets(st.sampled_from(SKILLS), max_size=1)))}
        plan = plan_episode(make_pathway([{"weeks": 1, "visit": "visit", "per_week": 3}],
                                         rest=1, needs=needs), MONDAY)
        placements = []
        for requirement, day in zip(plan.requirements, (0, 2, 4), strict=True):
            start = _at(day, draw(st.sampled_from([9, 10])))
            free = [t["id"] for t in staff if set(needs["skills"]) <= set(t["skills"])
                    and (t["id"], start) not in taken]
            if not free:
                continue
            who = draw(st.sampled_from(free))
            unit = sum(1 for _, at in taken if at == start)  # one gym place per visit then
            taken.add((who, start))
            placement = Placement(requirement, who, start, start + timedelta(minutes=45),
                                  (("gym", unit),))
            busy.add(placement.start, placement.end, therapist_id=who,
                     units=placement.resources, patient_id=f"p{index}")
            placements.append(placement)
        schedules.append(EpisodeSchedule(plan, tuple(placements), key=str(index),
                                         patient_id=f"p{index}"))
    staff_recipe = " ".join(f"{t.id}{sorted(t.skills)}" for t in clinic.therapists)
    visits = "; ".join(f"{s.patient_id}{list(s.plan.requirements[0].skills)}: "
                       + ", ".join(f"{p.start:%a %H:%M} {p.therapist_id}" for p in s.placements)
                       for s in schedules)
    return Generated((clinic, schedules, busy), f"{hours}; {staff_recipe}; {visits}")


@settings(max_examples=60, deadline=None)
@given(random_diaries())
def test_trades_and_moves_on_random_diaries_break_no_rule(
        diaries: Generated[tuple[Clinic, list[EpisodeSchedule], Busy]]) -> None:
    clinic, schedules, busy = diaries.value
    before = [(s.patient_id, s.plan, p) for s in schedules for p in s.placements]
    assert hard_violations(before, clinic) == []  # the generator writes valid diaries
    better, report = improve(schedules, clinic, busy, zone=NEW_YORK, not_before=DAWN,
                             stop=lambda: False)
    after = [(s.patient_id, s.plan, p) for s in better for p in s.placements]
    assert hard_violations(after, clinic) == []
    for old, new in zip(schedules, better, strict=True):
        assert with_lead(new) >= with_lead(old)
