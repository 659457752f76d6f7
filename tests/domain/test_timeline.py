"""The care timeline decides, without a database, what each event does to a patient's episodes."""

from __future__ import annotations

from datetime import date

import pytest

from carepath.domain.timeline import (
    EPISODE_EVENTS,
    Accept,
    Cancel,
    Complete,
    Continue,
    Discharge,
    Enrol,
    EpisodeView,
    Hold,
    PathwayRules,
    Relapse,
    Resume,
    ReviewDue,
    Timeline,
    TimelineConflict,
    decide,
    lifecycle_markdown,
)
from carepath.errors import InvalidTransition

RULES = {
    "stable-boosters": PathwayRules("stable-boosters", frozenset({"series"}),
                                    on_relapse="post-relapse"),
    "post-relapse": PathwayRules("post-relapse", frozenset({"series", "review"}),
                                 on_complete="stable-boosters", on_relapse="post-relapse"),
    "progression-review": PathwayRules("progression-review", frozenset({"review"}),
                                       on_relapse="post-relapse"),
    "home-program": PathwayRules("home-program", relapse_action="keep"),
}
DAY = date(2027, 3, 1)


def timeline(*episodes: tuple[int, str, str]) -> Timeline:
    return Timeline("MRN1", tuple(EpisodeView(i, p, s, DAY) for i, p, s in episodes), RULES)


def moves(decision: object) -> list[tuple[int, str, str]]:
    return [(c.episode_id, c.event, c.after) for c in decision.changes]  # type: ignore[attr-defined]


def test_a_relapse_holds_every_running_episode_and_starts_post_relapse_care() -> None:
    """Boosters and a progression review both go on hold with their visits cancelled."""
    decision = decide(timeline((1, "stable-boosters", "active"),
                               (2, "progression-review", "active")), Relapse())
    assert moves(decision) == [(1, "relapse", "on_hold"), (2, "relapse", "on_hold")]
    assert all(c.cancel_visits for c in decision.changes)
    assert decision.enrol is not None and decision.enrol.pathway_id == "post-relapse"
    assert decision.enrol.previous_episode_id == 1


def test_an_episode_that_keeps_running_through_a_relapse_is_left_alone() -> None:
    decision = decide(timeline((1, "stable-boosters", "active"), (2, "home-program", "active")),
                      Relapse())
    assert moves(decision) == [(1, "relapse", "on_hold")]


def test_completing_cancels_the_rest_and_replaces_the_held_series() -> None:
    """Post-relapse care ends: its visits are cancelled, the held boosters are superseded by
    the new booster series, and the held review stays on hold (it may be resumed)."""
    decision = decide(timeline((1, "stable-boosters", "on_hold"),
                               (2, "progression-review", "on_hold"),
                               (3, "post-relapse", "active")), Complete(3))
    assert moves(decision) == [(3, "complete", "finished"), (1, "supersede", "finished")]
    assert decision.changes[0].cancel_visits and not decision.changes[1].cancel_visits
    assert decision.enrol is not None
    assert (decision.enrol.pathway_id, decision.enrol.previous_episode_id) == (
        "stable-boosters", 3)


def test_completing_a_held_episode_moves_it_once() -> None:
    """Found by the random event orders: post-relapse care put on hold, then completed. It is
    in the lanes of the series that follows it, but it is finished, not also superseded."""
    decision = decide(timeline((1, "stable-boosters", "on_hold"),
                               (2, "post-relapse", "on_hold")), Complete(2))
    assert moves(decision) == [(2, "complete", "finished"), (1, "supersede", "finished")]
    assert [c.before for c in decision.changes] == ["on_hold", "on_hold"]


def test_a_continued_series_carries_its_visits_instead_of_cancelling_them() -> None:
    decision = decide(timeline((1, "stable-boosters", "active")), Continue(1))
    (change,) = decision.changes
    assert change.carry_visits and not change.cancel_visits
    assert decision.enrol is not None and decision.enrol.pathway_id == "stable-boosters"


def test_the_same_enrolment_again_is_the_existing_episode() -> None:
    decision = decide(timeline((4, "stable-boosters", "active")), Enrol("stable-boosters", DAY))
    assert decision.existing_episode_id == 4 and decision.empty


@pytest.mark.parametrize(("running", "pathway"), [
    ("stable-boosters", "post-relapse"), ("post-relapse", "stable-boosters"),
    ("post-relapse", "progression-review"), ("stable-boosters", "stable-boosters")])
def test_an_exclusive_pathway_is_refused_beside_a_running_one(running: str, pathway: str) -> None:
    with pytest.raises(TimelineConflict, match=f"cannot start {pathway} beside {running} "
                                               "episode 1"):
        decide(timeline((1, running, "active")), Enrol(pathway, date(2027, 4, 1)))


def test_a_progression_review_may_run_beside_boosters() -> None:
    decision = decide(timeline((1, "stable-boosters", "active")), ReviewDue("progression-review"))
    assert decision.enrol is not None and not decision.skipped


def test_a_review_falls_due_only_when_the_timeline_allows_it() -> None:
    decision = decide(timeline((1, "post-relapse", "active")), ReviewDue("progression-review"))
    assert decision.empty and decision.skipped == "not beside post-relapse episode 1"


def test_resuming_waits_for_the_lane_to_be_free() -> None:
    with pytest.raises(TimelineConflict, match="cannot resume stable-boosters"):
        decide(timeline((1, "stable-boosters", "on_hold"), (2, "post-relapse", "active")),
               Resume(1))
    assert moves(decide(timeline((1, "stable-boosters", "on_hold")), Resume(1))) == [
        (1, "resume", "active")]


def test_accepting_a_proposal_ends_the_episode_it_cannot_run_beside() -> None:
    """A stalled post-relapse episode's proposal of a review ends it; a booster series'
    proposal of a review runs beside it."""
    switch = decide(timeline((1, "post-relapse", "active")), Accept(1, "progression-review"))
    assert moves(switch) == [(1, "complete", "finished")]
    beside = decide(timeline((1, "stable-boosters", "active")), Accept(1, "progression-review"))
    assert beside.changes == () and beside.enrol is not None


def test_discharge_closes_every_open_episode() -> None:
    decision = decide(timeline((1, "stable-boosters", "on_hold"), (2, "post-relapse", "active"),
                               (3, "progression-review", "finished")), Discharge())
    assert moves(decision) == [(1, "discharge", "finished"), (2, "discharge", "finished")]
    assert [c.cancel_visits for c in decision.changes] == [False, True]


@pytest.mark.parametrize(("state", "event"), [
    ("finished", Complete(1)), ("cancelled", Resume(1)), ("planned", Hold(1)),
    ("finished", Cancel(1)), ("active", Resume(1))])
def test_an_event_a_state_does_not_accept_names_both(state: str, event: object) -> None:
    with pytest.raises(InvalidTransition, match=f"episode 1 is {state}"):
        decide(timeline((1, "stable-boosters", state)), event)  # type: ignore[arg-type]


def test_a_relapse_without_a_running_episode_says_how_to_enrol() -> None:
    with pytest.raises(TimelineConflict, match="no running episode"):
        decide(timeline((1, "stable-boosters", "finished")), Relapse())


def test_the_manual_table_lists_every_event_and_state_from_the_domain_table() -> None:
    table = lifecycle_markdown()
    for event, row in EPISODE_EVENTS.items():
        assert f"| `{event}` |" in table
        for after in row.values():
            assert after in table
