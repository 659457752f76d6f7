"""The episode review: stall rules and the escalation ladder, decided without I/O."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from carepath.domain.config.models import Config
from carepath.domain.goals.attendance import Recovery, Visit, attendance
from carepath.domain.goals.escalations import (
    BookReassessment,
    HoldProgression,
    KnownEscalation,
    NotifyPhysician,
    OpenCaseReview,
    PromptRelapseScreen,
    ProposePathway,
    next_status,
)
from carepath.domain.goals.progress import Goal, Reading
from carepath.domain.goals.review import EpisodeFacts, review_episode
from carepath.errors import InputError, InvalidTransition

T0 = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)


def _at(day: int) -> datetime:
    return T0 + timedelta(days=day)


def _facts(config: Config, berg: list[float], walk: list[float] | None = None,
           **more: object) -> EpisodeFacts:
    """Post-relapse (reviews every 2 weeks): one value per planned review, days 14, 28, …"""
    readings = {"bbs": [Reading(v, _at(14 * (i + 1)), 10 + i) for i, v in enumerate(berg)],
                "t25fw": [Reading(v, _at(14 * (i + 1)), 20 + i)
                          for i, v in enumerate(walk or [])]}
    goals = (Goal("bbs", 40, 43, "mcid", baseline_at=T0), Goal("t25fw", 10, 8, "mcid",
                                                                  baseline_at=T0))
    facts = EpisodeFacts(1, config.pathway("post-relapse"), "chen", goals, readings,
                         has_physician=True)
    return replace(facts, **more)  # type: ignore[arg-type]


def _known(decision_effects: object, at: datetime, **fields: object) -> tuple[KnownEscalation, ...]:
    return tuple(KnownEscalation(e.key, e.level, e.kind, "scheduled", at, **fields)  # type: ignore[attr-defined,arg-type]
                 for e in decision_effects)  # type: ignore[attr-defined]


def test_one_review_without_change_is_not_yet_a_stall(config: Config) -> None:
    """The post-relapse pathway waits for two reviews in a row without real change."""
    decision = review_episode(_facts(config, [41]), config.measures, now=_at(15))
    assert decision.effects == ()
    assert decision.goals[0].verdict == "no_change" and decision.goals[0].plateau == 1


def test_two_reviews_without_change_book_one_reassessment(config: Config) -> None:
    """A stalled goal gives one level-1 escalation and one reassessment with its therapist."""
    decision = review_episode(_facts(config, [41, 42]), config.measures, now=_at(29))
    [escalation] = decision.escalations
    assert (escalation.key, escalation.level, escalation.kind) == ("e1:stall:bbs@base:L1", 1,
                                                                   "stall")
    [booking] = [e for e in decision.effects if isinstance(e, BookReassessment)]
    assert (booking.visit_type, booking.therapist_id, booking.within_days) == (
        "reevaluation", "chen", 5)
    evidence = {e.measure_id: e for e in escalation.evidence}
    assert evidence["bbs"].target == "43" and evidence["bbs"].values[-1][1] == "42"


def test_a_stall_already_on_record_escalates_nothing_new(config: Config) -> None:
    """Re-running the review over the same history adds no escalation."""
    facts = _facts(config, [41, 42])
    first = review_episode(facts, config.measures, now=_at(29))
    again = review_episode(replace(facts, escalations=_known(first.escalations, _at(29))),
                           config.measures, now=_at(30))
    assert again.effects == ()


def test_a_stall_that_persists_after_the_reassessment_climbs_to_level_two(
        config: Config) -> None:
    """Still no real change at the planned review after the reassessment: case review,
    physician, progression review."""
    first = review_episode(_facts(config, [41, 42]), config.measures, now=_at(29))
    known = _known(first.escalations, _at(29), reassessment_start=_at(32),
                   reassessment_status="completed", appointment_id=7)
    later = review_episode(_facts(config, [41, 42, 41], escalations=known,
                                  recoveries=()), config.measures, now=_at(43),
                           senior_therapists=["chen", "okafor"])
    [escalation] = later.escalations
    assert (escalation.key, escalation.level) == ("e1:stall:bbs@base:L2", 2)
    kinds = {type(e) for e in later.effects}
    assert {OpenCaseReview, NotifyPhysician, ProposePathway} <= kinds
    [review] = [e for e in later.effects if isinstance(e, OpenCaseReview)]
    assert review.senior_therapist_id == "okafor"
    [proposal] = [e for e in later.effects if isinstance(e, ProposePathway)]
    assert proposal.pathway_id == "progression-review"


def test_a_dismissed_level_one_does_not_climb(config: Config) -> None:
    """A clinician who dismissed the stall has answered it: no level 2."""
    first = review_episode(_facts(config, [41, 42]), config.measures, now=_at(29))
    known = tuple(replace(k, status="dismissed") for k in _known(first.escalations, _at(29)))
    later = review_episode(_facts(config, [41, 42, 41], escalations=known), config.measures,
                           now=_at(43))
    assert later.escalations == []


def test_a_real_improvement_ends_the_stall(config: Config) -> None:
    """Once a real change happens the plateau restarts from the new value."""
    decision = review_episode(_facts(config, [41, 44]), config.measures, now=_at(29))
    assert decision.escalations == []


def test_worsening_escalates_at_once_and_prompts_a_relapse_screen(config: Config) -> None:
    """A real worsening at one review is enough, and asks for a relapse screen."""
    decision = review_episode(_facts(config, [36]), config.measures, now=_at(15))
    [escalation] = decision.escalations
    assert escalation.kind == "worsening" and escalation.level == 1
    assert any(isinstance(e, PromptRelapseScreen) for e in decision.effects)


def test_worsening_on_two_measures_goes_straight_to_level_two(config: Config) -> None:
    """Berg and T25FW both worse: one level-1 escalation naming both, one reassessment with
    a relapse screen, and one level 2 — no sibling per measure."""
    decision = review_episode(_facts(config, [36], [12.5]), config.measures, now=_at(15))
    assert [(e.level, e.key) for e in decision.escalations] == [
        (1, "e1:worsening:bbs@m10+t25fw@m20:L1"), (2, "e1:worsening:bbs@m10+t25fw@m20:L2")]
    [booking] = [e for e in decision.effects if isinstance(e, BookReassessment)]
    assert booking.escalation_keys == ("e1:worsening:bbs@m10+t25fw@m20:L1",)
    assert "Berg Balance Scale" in decision.escalations[0].summary
    assert "Timed 25-Foot Walk" in decision.escalations[0].summary


def test_a_booked_reassessment_to_come_is_reused(config: Config) -> None:
    """A new stall while a reassessment is already booked links to it instead of booking."""
    known = (KnownEscalation("e1:no_show:2:L1", 1, "no_show", "scheduled", _at(1),
                             reassessment_start=_at(34), reassessment_status="booked",
                             appointment_id=99),)
    decision = review_episode(_facts(config, [41, 42], escalations=known), config.measures,
                              now=_at(29))
    [booking] = [e for e in decision.effects if isinstance(e, BookReassessment)]
    assert booking.existing_appointment_id == 99


def test_a_maintain_goal_may_plateau(config: Config) -> None:
    """Boosters aim to maintain: many reviews without change escalate nothing."""
    goals = (Goal("6mwt", 300, 300, "maintain", baseline_at=T0),)
    readings = {"6mwt": [Reading(300 + i, _at(7 * i + 7), i) for i in range(5)]}
    facts = EpisodeFacts(2, config.pathway("stable-boosters"), "chen", goals, readings)
    assert review_episode(facts, config.measures, now=_at(40)).effects == ()


def test_two_hour_rule_failures_twice_in_a_week_hold_progression(config: Config) -> None:
    """Two non-recoveries 5 days apart hold progression; 9 days apart they do not."""
    close = (Recovery(False, _at(1), 1), Recovery(True, _at(3), 2), Recovery(False, _at(6), 3))
    decision = review_episode(_facts(config, [], recoveries=close), config.measures, now=_at(7))
    [escalation] = decision.escalations
    assert escalation.kind == "two_hour" and escalation.key == "e1:two_hour:r1:L1"
    assert any(isinstance(e, HoldProgression) for e in decision.effects)
    apart = (Recovery(False, _at(1), 1), Recovery(False, _at(10), 2))
    assert review_episode(_facts(config, [], recoveries=apart), config.measures,
                          now=_at(11)).effects == ()


def _visit(ident: int, status: str, day: int) -> Visit:
    return Visit(ident, status, _at(day), _at(day - 5), "treatment")


def test_two_no_shows_raise_an_adherence_concern(config: Config) -> None:
    """The second missed visit of an episode tells the therapist."""
    visits = tuple(_visit(i, s, i * 2) for i, s in
                   enumerate(["completed", "no_show", "completed", "no_show"], start=1))
    decision = review_episode(_facts(config, [], visits=visits), config.measures, now=_at(9))
    assert [e.kind for e in decision.escalations] == ["no_show"]


def test_cancelled_visits_not_rebooked_flag_an_under_scheduled_episode(config: Config) -> None:
    """Fewer held visits than the plan asks for, after a cancellation, is flagged."""
    late = Visit(2, "cancelled", _at(3), _at(3) - timedelta(hours=20), "treatment")
    visits = (_visit(1, "completed", 1), late, _visit(3, "booked", 5))
    planned = tuple(_at(day).date() for day in (1, 3, 5))
    decision = review_episode(_facts(config, [], visits=visits, planned_days=planned),
                              config.measures, now=_at(4))
    [escalation] = decision.escalations
    assert escalation.kind == "under_scheduled" and "1 of the 3" in escalation.summary
    assert attendance(visits).late_cancellations == 1
    rebooked = (*visits, _visit(4, "booked", 6))
    assert review_episode(_facts(config, [], visits=rebooked, planned_days=planned),
                          config.measures, now=_at(4)).effects == ()


def test_visits_not_yet_booked_on_a_rolling_horizon_are_not_a_shortfall(config: Config) -> None:
    """Boosters booked a few weeks ahead: a rebooked cancellation leaves nothing to flag,
    though later boosters are planned and not booked yet."""
    planned = tuple(_at(7 * week).date() for week in range(26))
    visits = (_visit(1, "completed", 0), _visit(2, "cancelled", 7), _visit(3, "completed", 9),
              _visit(4, "booked", 14), _visit(5, "booked", 21))
    decision = review_episode(_facts(config, [], visits=visits, planned_days=planned),
                              config.measures, now=_at(10))
    assert decision.effects == ()
    not_rebooked = (*visits[:3], visits[4])  # the week-2 booster was never booked again
    short = review_episode(_facts(config, [], visits=not_rebooked, planned_days=planned),
                           config.measures, now=_at(10))
    assert [e.kind for e in short.escalations] == ["under_scheduled"]


def test_escalation_status_follows_its_table() -> None:
    """open → scheduled → resolved; a dismissal needs a reason; resolved is final."""
    assert next_status(1, "open", "schedule") == "scheduled"
    assert next_status(1, "scheduled", "dismiss", "seen in clinic") == "dismissed"
    with pytest.raises(InputError):
        next_status(1, "open", "dismiss", " ")
    with pytest.raises(InvalidTransition):
        next_status(1, "resolved", "dismiss", "late")
