"""Planning turns a pathway and a start date into dated visit requirements."""

from datetime import date

from carepath.domain.config.models import Config
from carepath.domain.scheduling.planning import plan_episode, stretch


def test_post_relapse_starts_with_evaluation_and_ends_with_reevaluation(config: Config) -> None:
    """The first session is the evaluation and the last the re-evaluation."""
    plan = plan_episode(config.pathway("post-relapse"), date(2027, 3, 1))
    assert plan.requirements[0].visit_type == "evaluation"
    assert plan.requirements[-1].visit_type == "reevaluation"
    assert [r.seq for r in plan.requirements] == list(range(1, len(plan.requirements) + 1))


def test_cadence_gives_three_sessions_in_weeks_one_and_two(config: Config) -> None:
    """Weeks 1–2 hold three sessions each, weeks 3–5 two each."""
    plan = plan_episode(config.pathway("post-relapse"), date(2027, 3, 1))
    per_week = {w: sum(1 for r in plan.requirements if r.week == w) for w in range(1, 6)}
    assert per_week == {1: 3, 2: 3, 3: 2, 4: 2, 5: 2}


def test_week_windows_run_seven_days_from_the_start_date(config: Config) -> None:
    """A Wednesday start makes every week run Wednesday to Tuesday."""
    plan = plan_episode(config.pathway("post-relapse"), date(2027, 3, 3))
    week2 = [r for r in plan.requirements if r.week == 2][0]
    assert (week2.earliest, week2.latest) == (date(2027, 3, 10), date(2027, 3, 16))


def test_monthly_boosters_come_every_four_weeks(config: Config) -> None:
    """After four weekly boosters, one visit every four weeks."""
    plan = plan_episode(config.pathway("stable-boosters"), date(2027, 3, 1))
    assert [r.week for r in plan.requirements] == [1, 2, 3, 4, 5, 9, 13, 17, 21, 25]


def test_needs_come_from_the_visit_type(config: Config) -> None:
    """An aquatic visit needs the pool and a therapist with the aquatic skill."""
    plan = plan_episode(config.pathway("post-relapse"), date(2027, 3, 1))
    aquatic = next(r for r in plan.requirements if r.visit_type == "aquatic")
    assert aquatic.resources == ("pool",) and aquatic.skills == ("aquatic",)


def test_stretch_keeps_order_and_never_passes_the_maximum(config: Config) -> None:
    """Stretching spreads the same visits over more weeks, capped at max_weeks."""
    plan = plan_episode(config.pathway("post-relapse"), date(2027, 3, 1))
    longer = stretch(plan, 99)
    assert longer.weeks == plan.max_weeks == 6
    assert [r.visit_type for r in longer.requirements] == [r.visit_type for r in plan.requirements]
    assert max(r.latest for r in longer.requirements) == date(2027, 4, 11)
