"""Issue-level behaviour of the review: the pathway's cadence, trends, worsening after
success, one escalation per condition, measures true to their sources. Each test is one of
the worked examples in docs/goals.md."""

from datetime import UTC, datetime, timedelta

import pytest

from carepath.domain.config.models import Config, Measure, Stratum, Threshold
from carepath.domain.goals.escalations import (
    BookReassessment,
    KnownEscalation,
    NotifyPhysician,
    PromptRelapseScreen,
)
from carepath.domain.goals.progress import (
    Goal,
    Reading,
    change_between,
    for_stratum,
    goal_status,
    parse_value,
    verdict_for,
)
from carepath.domain.goals.review import EpisodeFacts, review_episode
from carepath.errors import InputError

T0 = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)  # the evaluation: the baseline


def _at(day: int) -> datetime:
    return T0 + timedelta(days=day)


def _facts(config: Config, measure: str, baseline: float, target: float,
           values: list[tuple[int, float]], **more: object) -> EpisodeFacts:
    goals = (Goal(measure, baseline, target, "mcid", baseline_at=T0),)
    readings = {measure: [Reading(v, _at(day), 100 + i) for i, (day, v) in enumerate(values)]}
    return EpisodeFacts(1, config.pathway("post-relapse"), "chen", goals, readings,
                        has_physician=True, **more)  # type: ignore[arg-type]


def test_every_value_is_not_a_review(config: Config) -> None:
    """Example 1. Post-relapse reviews every 2 weeks from the evaluation (days 14, 28, …).
    Berg 40 at the evaluation, then 41 on day 4 and 41 on day 7: no review has been held yet,
    so nothing escalates; the first planned review (day 14) uses the latest value (41)."""
    facts = _facts(config, "bbs", 40, 43, [(4, 41), (7, 41)])
    assert review_episode(facts, config.measures, now=_at(8)).effects == ()
    at_review = review_episode(facts, config.measures, now=_at(14))
    assert at_review.effects == () and at_review.goals[0].reviews == 1
    assert at_review.goals[0].plateau == 1


def test_two_planned_reviews_without_real_change_are_a_stall(config: Config) -> None:
    """Example 2. Berg 41 by day 14 and 42 by day 28: two planned reviews in a row without
    3 points of change since the baseline: one level-1 escalation on day 28, not before."""
    facts = _facts(config, "bbs", 40, 43, [(3, 41), (10, 42), (24, 42)])
    assert review_episode(facts, config.measures, now=_at(27)).escalations == []
    [escalation] = review_episode(facts, config.measures, now=_at(28)).escalations
    assert escalation.key == "e1:stall:bbs@base:L1"


def test_a_trend_on_track_is_not_a_stall(config: Config) -> None:
    """Example 3. T25FW 10.0 s, target 8.0 s: 9.6 s at day 14, 9.2 s at day 28 — each step
    under 20 %, but the fitted line (−0.029 s a day) reaches 8.0 s by day 70, the episode's
    planned end: "improving (on track)". With the end at day 35 it is a stall."""
    values = [(14, 9.6), (28, 9.2)]
    on_time = _facts(config, "t25fw", 10.0, 8.0, values, planned_end=_at(70))
    decision = review_episode(on_time, config.measures, now=_at(28))
    assert decision.escalations == []
    assert (decision.goals[0].verdict, decision.goals[0].on_track) == ("improving", True)
    too_slow = _facts(config, "t25fw", 10.0, 8.0, values, planned_end=_at(35))
    [escalation] = review_episode(too_slow, config.measures, now=_at(28)).escalations
    assert escalation.kind == "stall"


def test_worsening_after_the_goal_is_met_escalates_with_a_relapse_screen(
        config: Config) -> None:
    """Example 4. T25FW 10.0 s → 6.0 s (target 8.0 s met) → 7.9 s: still under the target,
    but 32 % slower than the best reached (beyond the 20 % MCID): worsening, at once."""
    measure = config.measures["t25fw"]
    goal = Goal("t25fw", 10.0, 8.0, "mcid", baseline_at=T0)
    met = [Reading(6.0, _at(14), 1)]
    assert verdict_for(measure, goal, met) == "achieved"
    assert verdict_for(measure, goal, [*met, Reading(7.9, _at(18), 2)]) == "worsening"
    facts = _facts(config, "t25fw", 10.0, 8.0, [(14, 6.0), (18, 7.9)])
    decision = review_episode(facts, config.measures, now=_at(18))
    [escalation] = decision.escalations
    assert (escalation.kind, escalation.level) == ("worsening", 1)
    assert any(isinstance(e, PromptRelapseScreen) for e in decision.effects)


def _two_goals(config: Config, **more: object) -> EpisodeFacts:
    goals = (Goal("bbs", 40, 43, "mcid", baseline_at=T0),
             Goal("msws12", 60, 49.6, "mcid", baseline_at=T0))
    readings = {"bbs": [Reading(41, _at(14), 1), Reading(41, _at(28), 2),
                        Reading(42, _at(42), 5)],
                "msws12": [Reading(58, _at(14), 3), Reading(57, _at(28), 4),
                           Reading(58, _at(42), 6)]}
    return EpisodeFacts(1, config.pathway("post-relapse"), "chen", goals, readings,
                        has_physician=True, **more)  # type: ignore[arg-type]


def test_one_stall_on_two_measures_is_one_escalation(config: Config) -> None:
    """Example 5. Berg and MSWS-12 stall together: one level-1 escalation naming both, with
    both as evidence, one reassessment — no sibling per measure."""
    decision = review_episode(_two_goals(config), config.measures, now=_at(29))
    [escalation] = decision.escalations
    assert escalation.key == "e1:stall:bbs@base+msws12@base:L1"
    assert {e.measure_id for e in escalation.evidence} == {"bbs", "msws12"}
    assert len([e for e in decision.effects if isinstance(e, BookReassessment)]) == 1


def test_level_two_waits_for_the_reassessment_and_a_review_after_it(config: Config) -> None:
    """Example 6. Level 1 on day 28 books a reassessment for day 32. Level 2 (case review,
    physician letter) needs the reassessment to have taken place and a value taken at it or
    after it that still shows the stall: here the review of day 42. While the reassessment
    is still to come, or before any value after it, nothing climbs."""
    first = review_episode(_two_goals(config), config.measures, now=_at(29))
    [l1] = first.escalations

    def known(status: str, start: datetime) -> tuple[KnownEscalation, ...]:
        return (KnownEscalation(l1.key, 1, "stall", "scheduled", _at(29), start, status, 7),)

    pending = review_episode(_two_goals(config, escalations=known("booked", _at(45))),
                             config.measures, now=_at(42))
    assert pending.escalations == []
    not_yet_reviewed = review_episode(
        _two_goals(config, escalations=known("completed", _at(32))), config.measures,
        now=_at(41))
    assert not_yet_reviewed.escalations == []
    later = review_episode(_two_goals(config, escalations=known("completed", _at(32))),
                           config.measures, now=_at(42))
    [l2] = later.escalations
    assert (l2.level, l2.key) == (2, "e1:stall:bbs@base+msws12@base:L2")
    assert any(isinstance(e, NotifyPhysician) for e in later.effects)


def test_a_new_stall_while_one_is_open_folds_into_it(config: Config) -> None:
    """A measure that stalls while a stall escalation is open raises no sibling."""
    known = (KnownEscalation("e1:stall:t25fw@base:L1", 1, "stall", "open", _at(20)),)
    decision = review_episode(_two_goals(config, escalations=known), config.measures,
                              now=_at(29))
    assert decision.escalations == []


def test_gas_at_minus_one_at_a_review_is_a_stall(config: Config) -> None:
    """Example 7. GAS −1 at a planned review is under-achieved: a stall at once."""
    facts = _facts(config, "gas", -1, 0, [(12, -1)])
    facts = EpisodeFacts(1, facts.pathway, "chen", (Goal("gas", -2, 0, "value", baseline_at=T0),),
                         facts.readings)
    [escalation] = review_episode(facts, config.measures, now=_at(14)).escalations
    assert escalation.kind == "stall" and "at or below -1" in escalation.summary


def test_ashworth_one_to_one_plus_is_flagged_not_a_worsening(config: Config) -> None:
    """Example 8. MAS has no MCID: 1 → 1+ is flagged for a look, with no verdict, no relapse
    screen and no escalation."""
    mas = config.measures["mas"]
    one, one_plus = parse_value("mas", mas, "1")[0], parse_value("mas", mas, "1+")[0]
    goal = Goal("mas", one, one, "maintain", baseline_at=T0)
    assert verdict_for(mas, goal, [Reading(one_plus, _at(14), 1)]) == "flagged"
    assert verdict_for(mas, goal, [Reading(one, _at(14), 1)]) == "unrated"
    facts = EpisodeFacts(1, config.pathway("post-relapse"), "chen", (goal,),
                         {"mas": [Reading(one_plus, _at(14), 1)]})
    assert review_episode(facts, config.measures, now=_at(15)).effects == ()


def test_fga_change_is_flagged(config: Config) -> None:
    """FGA has no MCID for MS either: any change is a flag."""
    fga = config.measures["fga"]
    assert fga.flag_only
    goal = Goal("fga", 20, 23, "mcid", baseline_at=T0)
    assert verdict_for(fga, goal, [Reading(21, _at(14), 1)]) == "flagged"


def test_tug_thresholds_are_asymmetric(config: Config) -> None:
    """TUG: 23 % faster is a real improvement, but slower needs 31 % (Nilsagård 2007)."""
    tug = config.measures["tug"]
    assert change_between(tug, 10.0, 7.7) == "better"
    assert change_between(tug, 10.0, 12.5) == "none"  # +25 %: inside the +31 % noise
    assert change_between(tug, 10.0, 13.1) == "worse"


@pytest.mark.parametrize(("measure", "value"), [("bbs", "41.5"), ("gas", "0.5"),
                                                ("pain-nrs", "2.5")])
def test_whole_point_scales_refuse_fractions(config: Config, measure: str, value: str) -> None:
    """Berg, GAS and the pain NRS are scored in whole points: 41.5 is a typo."""
    with pytest.raises(InputError, match="whole"):
        parse_value(measure, config.measures[measure], value)


def test_gas_accepts_negative_levels_and_a_typographic_minus(config: Config) -> None:
    gas = config.measures["gas"]
    assert parse_value("gas", gas, "-1")[0] == -1.0
    assert parse_value("gas", gas, "\u22122")[0] == -2.0


def test_new_measures_cite_their_sources(config: Config) -> None:
    """Pain NRS, five-times sit-to-stand and the 9-Hole Peg Test per hand, each sourced."""
    for measure_id in ("pain-nrs", "5sts", "9hpt-dominant", "9hpt-nondominant"):
        measure = config.measures[measure_id]
        assert measure.mcid is not None and measure.source
    assert change_between(config.measures["pain-nrs"], 6, 4) == "better"
    assert change_between(config.measures["5sts"], 15.0, 13.0) == "none"


def test_strata_choose_thresholds_by_edss() -> None:
    """A measure with EDSS strata uses the stratum's MCID once an EDSS is recorded."""
    walk = Measure(name="walk", unit="m", better="higher", min=0, max=900,
                   mcid=Threshold(value=20), strata={
                       "edss_above_4": Stratum(mcid=Threshold(value=10), source="x")})
    assert for_stratum(walk, None).mcid == Threshold(value=20)
    assert for_stratum(walk, 3.5).mcid == Threshold(value=20)
    assert for_stratum(walk, 6.0).mcid == Threshold(value=10)


def test_status_counts_planned_reviews_only(config: Config) -> None:
    """Five values in four weeks are two planned reviews."""
    goal = Goal("bbs", 40, 43, "mcid", baseline_at=T0)
    readings = [Reading(v, _at(d), i) for i, (d, v) in enumerate(
        [(2, 40), (5, 41), (9, 41), (16, 41), (27, 42)])]
    status = goal_status(config.measures["bbs"], goal, readings, every_weeks=2, now=_at(29),
                         planned_end=None)
    assert [r.reading.value for r in status.reviews] == [41, 42]


def test_the_reassessments_own_value_can_confirm_level_two(config: Config) -> None:
    """Berg 41 measured at the reassessment (day 32), still no real change: level 2 then,
    not at the next planned review; a real improvement there (44) stops the climb."""
    first = review_episode(_two_goals(config), config.measures, now=_at(29))
    [l1] = first.escalations
    known = (KnownEscalation(l1.key, 1, "stall", "scheduled", _at(29), _at(32), "completed", 7),)

    def at_reassessment(berg: float) -> EpisodeFacts:
        facts = _two_goals(config, escalations=known)
        readings = {k: [r for r in v if r.at <= _at(29)] for k, v in facts.readings.items()}
        readings["bbs"].append(Reading(berg, _at(32), 9))
        return EpisodeFacts(1, facts.pathway, "chen", facts.goals, readings,
                            escalations=known, has_physician=True)

    [l2] = review_episode(at_reassessment(41), config.measures, now=_at(33)).escalations
    assert l2.level == 2
    assert review_episode(at_reassessment(44), config.measures, now=_at(33)).escalations == []
