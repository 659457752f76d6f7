"""When an episode may start and how its weeks count: a first-visit window after the referral,
calendar weeks, and an evaluation already booked that the episode starts with."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.scheduling_helpers import hard_violations, make_clinic, make_pathway, therapist

from carepath.config.loader import load_config
from carepath.domain.config.models import Pathway
from carepath.domain.scheduling import schedule_batch, schedule_episode
from carepath.domain.scheduling.planning import later_starts, plan_episode, stretch
from carepath.domain.scheduling.types import BookedFirst, Busy, EpisodeRequest
from carepath.errors import ConfigError

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2027, 3, 1)
DAWN = datetime(2027, 3, 1, 6, tzinfo=NEW_YORK)
THREE_A_WEEK = [{"weeks": "1-2", "visit": "visit", "per_week": 3}]


def _windowed(window: object, **extra: object) -> Pathway:
    return make_pathway(THREE_A_WEEK, weeks=2, max_weeks=3, first_visit_window=window, **extra)


def _closed(*days: date) -> list[dict[str, object]]:
    return [{"date": d.isoformat(), "reason": "Staff training"} for d in days]


def _week(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(5)]


# ------------------------------------------------------------------ first-visit window
def test_a_number_is_a_window_from_the_referral_day() -> None:
    window = _windowed(14).first_visit_window
    assert window is not None and (window.earliest_days, window.latest_days) == (0, 14)


def test_the_first_visit_is_due_within_the_window_of_the_referral() -> None:
    """Referred the Friday before: 0–3 days leaves Monday for the first visit, not the week."""
    plan = plan_episode(_windowed(3), MONDAY, referred=date(2027, 2, 26))
    first = plan.requirements[0]
    assert (first.earliest, first.latest) == (MONDAY, MONDAY)
    assert "first_visit_window: 0–3 days after the referral on Fri Feb 26" in first.rule
    assert all(r.latest == r.earliest + timedelta(days=6) for r in plan.requirements[1:])


def test_the_episode_starts_no_earlier_than_the_windows_first_day() -> None:
    plan = plan_episode(_windowed({"earliest_days": 2, "latest_days": 9}), MONDAY)
    assert plan.start == date(2027, 3, 3)
    assert plan.requirements[0].latest == date(2027, 3, 9)


def test_stretching_never_makes_the_first_visit_late() -> None:
    plan = plan_episode(_windowed(4), MONDAY)
    longer = stretch(plan, 3)
    assert longer.requirements[0].latest == date(2027, 3, 5)
    assert longer.requirements[1].latest > date(2027, 3, 7)


def test_later_starts_go_a_week_at_a_time_while_the_first_visit_can_be_in_time() -> None:
    plan = plan_episode(_windowed(14), MONDAY)
    starts = [(p.start, p.requirements[0].latest) for p in later_starts(plan)]
    assert starts == [(date(2027, 3, 8), date(2027, 3, 14)), (date(2027, 3, 15), date(2027, 3, 15))]
    assert later_starts(plan_episode(make_pathway(THREE_A_WEEK, weeks=2), MONDAY)) == []


def test_a_full_first_week_starts_the_episode_a_week_later_inside_the_window() -> None:
    """Closed all of week 1: with 14 days' window the whole episode runs a week later, in
    batch and alone, at the same cadence; nothing is late."""
    clinic = make_clinic(closures=_closed(*_week(MONDAY)))
    plan = plan_episode(_windowed(14), MONDAY)
    alone = schedule_episode(plan, clinic, Busy(), zone=NEW_YORK, not_before=DAWN,
                             patient_id="p1")
    [batch] = schedule_batch([EpisodeRequest("1", "p1", plan)], clinic, Busy(),
                             zone=NEW_YORK, not_before=DAWN)
    for schedule in (alone, batch):
        assert schedule.complete and schedule.stretched_from is None
        assert schedule.plan.start == date(2027, 3, 8)
        days = sorted(p.start.astimezone(NEW_YORK).date() for p in schedule.placements)
        assert days[0] <= date(2027, 3, 15) and len(days) == 6
        assert hard_violations([("p1", schedule.plan, p) for p in schedule.placements],
                               clinic) == []


def test_a_first_visit_that_cannot_be_in_its_window_is_wait_listed_naming_the_window() -> None:
    """Closed for two weeks, window 7 days: the first visit is never booked late; the episode
    waits for it and the reason names the window."""
    clinic = make_clinic(closures=_closed(*_week(MONDAY), *_week(date(2027, 3, 8))))
    plan = plan_episode(_windowed(7), MONDAY)
    [batch] = schedule_batch([EpisodeRequest("1", "p1", plan)], clinic, Busy(),
                             zone=NEW_YORK, not_before=DAWN, partial=True)
    alone = schedule_episode(plan, clinic, Busy(), zone=NEW_YORK, not_before=DAWN,
                             patient_id="p1", partial=True)
    for schedule in (batch, alone):
        assert schedule.placements == ()
        first = schedule.unplaced[0]
        assert first.requirement.seq == 1 and "first_visit_window" in first.constraint
        assert "Mon Mar 01–Mon Mar 08" in first.constraint, first.constraint
        assert all("waits for visit 1" in u.constraint for u in schedule.unplaced[1:])


def test_without_a_window_nothing_changes() -> None:
    pathway = make_pathway(THREE_A_WEEK, weeks=2)
    plan = plan_episode(pathway, MONDAY, referred=date(2027, 1, 1))
    assert plan.start == MONDAY and plan.first_due is None
    assert plan == plan_episode(pathway, MONDAY)


# ------------------------------------------------------------------ calendar weeks
def test_calendar_weeks_run_monday_to_sunday_after_a_short_first_week() -> None:
    """From a Thursday in a Mon–Fri clinic, week 1 is Thu–Sun with 2 of 5 open days left:
    3 a week becomes 3 × 2/5 = 1.2, rounded to 1; week 2 is Monday to Sunday with all 3."""
    plan = plan_episode(make_pathway(THREE_A_WEEK, weeks=2, weeks_are="calendar"),
                        date(2027, 3, 4), open_weekdays=range(5))
    windows = [(r.week, r.earliest, r.latest) for r in plan.requirements]
    assert windows == [(1, date(2027, 3, 4), date(2027, 3, 7))] + [
        (2, date(2027, 3, 8), date(2027, 3, 14))] * 3
    assert plan.end == date(2027, 3, 14)


@pytest.mark.parametrize(("start", "rest", "week_one"), [
    (date(2027, 3, 1), 0, 3), (date(2027, 3, 2), 0, 2), (date(2027, 3, 3), 0, 2),
    (date(2027, 3, 5), 0, 1), (date(2027, 3, 3), 1, 2), (date(2027, 3, 4), 1, 1)])
def test_a_partial_first_week_gets_its_visits_pro_rata(start: date, rest: int,
                                                       week_one: int) -> None:
    """3 a week × open days left / 5, rounded half up, at least one, and no more than the
    days left hold with the rest days (Thu/Fri with one rest day: one)."""
    plan = plan_episode(make_pathway(THREE_A_WEEK, weeks=2, weeks_are="calendar", rest=rest),
                        start, open_weekdays=range(5))
    assert sum(1 for r in plan.requirements if r.week == 1) == week_one


def test_a_weekend_start_in_calendar_weeks_begins_on_monday() -> None:
    plan = plan_episode(make_pathway(THREE_A_WEEK, weeks=2, weeks_are="calendar"),
                        date(2027, 3, 6), open_weekdays=range(5))
    assert plan.start == date(2027, 3, 8)
    assert sum(1 for r in plan.requirements if r.week == 1) == 3


def test_calendar_weeks_are_kept_by_the_scheduler_and_by_stretching() -> None:
    clinic = make_clinic(therapists=[therapist("t1")])
    pathway = make_pathway(THREE_A_WEEK, weeks=2, max_weeks=3, weeks_are="calendar", rest=1)
    plan = plan_episode(pathway, date(2027, 3, 3), open_weekdays=range(5))
    schedule = schedule_episode(plan, clinic, Busy(), zone=NEW_YORK, not_before=DAWN,
                                patient_id="p1")
    assert schedule.complete
    weeks = {p.requirement.week: p.start.astimezone(NEW_YORK).date() for p in schedule.placements}
    assert weeks[1] <= date(2027, 3, 7) and weeks[2] >= date(2027, 3, 8)
    longer = stretch(plan, 3)
    assert longer.requirements[-1].latest == date(2027, 3, 21)  # a Sunday


# ------------------------------------------------------------------ an evaluation booked
def test_a_booked_first_visit_starts_the_episode_and_is_not_planned_again() -> None:
    pathway = make_pathway(THREE_A_WEEK, weeks=2)
    plan = plan_episode(pathway, date(2027, 3, 3), first_booked=True)
    assert plan.started and plan.opening is None
    assert [r.seq for r in plan.requirements] == [2, 3, 4, 5, 6]
    assert plan.requirements[0].earliest == date(2027, 3, 3)


def test_the_rest_follows_the_booked_evaluation_and_its_therapist() -> None:
    """The evaluation on Wednesday with t2: the other visits come after it, with t2, keeping
    the rest day; none is the evaluation again."""
    clinic = make_clinic(therapists=[therapist("t1"), therapist("t2")])
    plan = plan_episode(make_pathway(THREE_A_WEEK, weeks=2, rest=1), date(2027, 3, 3),
                        first_booked=True)
    busy = Busy()
    busy.add(datetime(2027, 3, 3, 10, tzinfo=NEW_YORK), datetime(2027, 3, 3, 10, 45,
                                                                  tzinfo=NEW_YORK),
             therapist_id="t2", patient_id="p1")
    booked = BookedFirst("t2", date(2027, 3, 3), 600)
    [batch] = schedule_batch([EpisodeRequest("1", "p1", plan, booked_first=booked)], clinic,
                             busy.copy(), zone=NEW_YORK, not_before=DAWN)
    alone = schedule_episode(plan, clinic, busy.copy(), zone=NEW_YORK, not_before=DAWN,
                             patient_id="p1", booked_first=booked)
    for schedule in (batch, alone):
        assert schedule.complete and len(schedule.placements) == 5
        assert {p.therapist_id for p in schedule.placements} == {"t2"}
        days = sorted(p.start.astimezone(NEW_YORK).date() for p in schedule.placements)
        assert days[0] >= date(2027, 3, 5)  # a rest day after Wednesday's evaluation


def test_a_booked_evaluation_is_not_wait_listed_for_when_the_rest_does_not_fit() -> None:
    clinic = make_clinic(closures=_closed(*_week(date(2027, 3, 8))))
    plan = plan_episode(make_pathway(THREE_A_WEEK, weeks=2), date(2027, 3, 5),
                        first_booked=True)
    [schedule] = schedule_batch(
        [EpisodeRequest("1", "p1", plan, booked_first=BookedFirst("t1", date(2027, 3, 5), 540))],
        clinic, Busy(), zone=NEW_YORK, not_before=DAWN, partial=True)
    assert schedule.unplaced and not any("waits for" in u.constraint for u in schedule.unplaced)


# ------------------------------------------------------------------ config errors
CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize(("old", "new", "field", "hint"), [
    ("first_visit: evaluation\n",
     "first_visit: evaluation\nfirst_visit_window: {earliest_days: 7, latest_days: 3}\n",
     "first_visit_window.latest_days", "raise latest_days or lower earliest_days"),
    ("first_visit: evaluation\n", "first_visit: evaluation\nfirst_visit_window: -2\n",
     "first_visit_window.latest_days", ""),
    ("first_visit: evaluation\n", "first_visit: evaluation\nweeks_are: weekly\n",
     "weeks_are", "from_start"),
])
def test_a_broken_window_or_week_rule_names_file_field_and_fix(
        tmp_path: Path, old: str, new: str, field: str, hint: str) -> None:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    path = folder / "pathways" / "post-relapse.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    [problem] = caught.value.problems
    assert Path(problem.file).name == "post-relapse.yaml" and problem.field == field
    assert hint in str(problem)
