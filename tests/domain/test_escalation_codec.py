"""An escalation's decision is stored as the typed values it is and read back the same; an
escalation written before that is still read, its sentences as written."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carepath.domain.goals.escalation_codec import (
    EFFECT_TYPES,
    UnreadableDecision,
    decode_decision,
    decode_effect,
    encode_decision,
    encode_effect,
)
from carepath.domain.goals.escalations import (
    BookReassessment,
    Effect,
    EscalationDecision,
    HoldProgression,
    MeasureEvidence,
    NotifyPhysician,
    NotifyTherapist,
    OpenCaseReview,
    OpenEscalation,
    PromptRelapseScreen,
    ProposePathway,
    Reassessment,
    decided_for,
)

KEY = "e7:stall:bbs@base:L2"
BERG = MeasureEvidence("bbs", "Berg Balance Scale", "points", "40", "43", 37.0, 43.0,
                       (("2027-03-01T14:00:00+00:00", "40"),
                        ("2027-03-15T14:00:00+00:00", "41")), "no_change")
OPENED = OpenEscalation(KEY, 2, "stall", "Berg: no real change — screen for a relapse",
                        (BERG,), ("visit 3 missed",))
EVERY_EFFECT: list[Effect] = [
    OPENED,
    OpenEscalation("e1:two_hour:3:L1", 1, "two_hour", "slow recovery"),
    BookReassessment(f"{KEY}:book", (KEY, "e7:worsening:msws12@m4:L1"), "reassessment", "chen",
                     14, existing_appointment_id=None, fallback_appointment_id=31),
    BookReassessment(f"{KEY}:book", (KEY,), "reassessment", None, 7, 12),
    NotifyTherapist(f"{KEY}:tell-therapist", KEY, "chen", "Berg: no real change"),
    NotifyTherapist(f"{KEY}:tell-therapist", KEY, None, "Berg: no real change"),
    OpenCaseReview(f"{KEY}:case-review", KEY, "okafor"),
    OpenCaseReview(f"{KEY}:case-review", KEY, None),
    NotifyPhysician(f"{KEY}:tell-physician", KEY),
    ProposePathway(f"{KEY}:propose", KEY, "progression-review"),
    PromptRelapseScreen(f"{KEY}:relapse-screen", KEY),
    HoldProgression(f"{KEY}:hold", KEY),
]


def test_the_table_names_every_effect_type() -> None:
    assert {type(e).__name__ for e in EVERY_EFFECT} == set(EFFECT_TYPES)


@pytest.mark.parametrize("effect", EVERY_EFFECT, ids=lambda e: type(e).__name__)
def test_every_effect_reads_back_as_written(effect: Effect) -> None:
    stored = json.loads(json.dumps(encode_effect(effect)))
    assert decode_effect(stored) == effect


text = st.text(max_size=12)
maybe_id = st.none() | st.integers(min_value=1, max_value=10**9)
measures = st.builds(MeasureEvidence, text, text, text, text, text,
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.lists(st.tuples(text, text), max_size=3).map(tuple), text)
openings = st.builds(OpenEscalation, text, st.integers(1, 2),
                     st.sampled_from(["stall", "worsening", "two_hour", "no_show",
                                      "under_scheduled", "multi_worsening"]),
                     text, st.lists(measures, max_size=3).map(tuple),
                     st.lists(text, max_size=3).map(tuple))
effects = st.one_of(
    st.builds(BookReassessment, text, st.lists(text, max_size=3).map(tuple), text,
              st.none() | text, st.integers(0, 60), maybe_id, maybe_id),
    st.builds(NotifyTherapist, text, text, st.none() | text, text),
    st.builds(OpenCaseReview, text, text, st.none() | text),
    st.builds(NotifyPhysician, text, text),
    st.builds(ProposePathway, text, text, text),
    st.builds(PromptRelapseScreen, text, text),
    st.builds(HoldProgression, text, text),
)
decisions = st.builds(EscalationDecision, openings, st.lists(effects, max_size=6).map(tuple),
                      st.none() | st.builds(Reassessment, maybe_id, text, st.booleans()), text)


@given(decisions)
def test_any_decision_reads_back_as_written(decision: EscalationDecision) -> None:
    row = {"key": "other", "level": 9, "kind": "other", "summary": "other"}
    assert decode_decision(encode_decision(decision), **row) == decision  # type: ignore[arg-type]


def test_what_people_read_is_said_from_the_typed_decision() -> None:
    book = BookReassessment(f"{KEY}:book", (KEY,), "reassessment", "chen", 14)
    decision = EscalationDecision(OPENED, (
        OpenCaseReview(f"{KEY}:case-review", KEY, "okafor"),
        NotifyTherapist(f"{KEY}:tell-therapist", KEY, "chen", "why"),
        NotifyPhysician(f"{KEY}:tell-physician", KEY),
        ProposePathway(f"{KEY}:propose", KEY, "progression-review"),
        PromptRelapseScreen(f"{KEY}:relapse-screen", KEY), book),
        Reassessment(12, "Chen is on leave"), "Progression review")
    assert decision.therapists_to_tell == ("chen", "okafor")
    assert decision.tells_physician and not decision.holds_progression
    assert decision.actions == (
        "opened a case review for senior therapist okafor",
        "emailed the episode's therapist (chen)", "wrote to the referring physician",
        "booked a reassessment (appointment 12) within 14 days with another therapist, "
        "because: Chen is on leave")
    assert decision.to_do == (
        "decide on the proposed Progression review: nothing is booked until it is accepted",
        "screen for a relapse at the reassessment (new or worse symptoms lasting 24 hours or "
        "more); carepath has not done this")


@pytest.mark.parametrize(("outcome", "action", "to_do"), [
    (Reassessment(12), "booked a reassessment (appointment 12) within 14 days", ()),
    (Reassessment(31, "no therapist hours", at_visit=True),
     "booked a reassessment (appointment 31) within 14 days; no room for a separate visit "
     "(no therapist hours), so reassess at this visit", ()),
    (Reassessment(None, "no therapist hours"),
     "could NOT book a reassessment: no therapist hours",
     ("book a reassessment within 14 days by hand",)),
])
def test_a_reassessment_is_said_as_it_came_out(outcome: Reassessment, action: str,
                                                to_do: tuple[str, ...]) -> None:
    book = BookReassessment(f"{KEY}:book", (KEY,), "reassessment", "chen", 14)
    decision = EscalationDecision(OPENED, (book,), outcome)
    assert decision.actions == (action,) and decision.to_do == to_do


def test_a_decision_keeps_only_its_own_effects_in_order() -> None:
    other = "e7:worsening:msws12@m4:L1"
    book = BookReassessment("b", (other, KEY), "reassessment", None, 7)
    mine = NotifyTherapist("t", KEY, None, "")
    assert decided_for(KEY, (OPENED, NotifyPhysician("p", other), mine, book)) == (mine, book)


OLD_ROW = {"key": KEY, "level": 2, "kind": "stall", "summary": "Berg: no real change",
           "assigned_to": "okafor", "proposed_pathway": "progression-review"}


def test_an_escalation_written_before_version_2_is_read_with_its_words() -> None:
    old: dict[str, object] = {
           "summary": "Berg: no real change, in full", "facts": ["visit 3 missed"],
           "measures": [{"measure_id": "bbs", "name": "Berg Balance Scale", "unit": "points",
                         "baseline": "40", "target": "43", "band_low": 37.0,
                         "band_high": 43.0, "values": [["2027-03-01T14:00:00+00:00", "40"],
                                                       ["2027-03-15T14:00:00+00:00", "41"]],
                         "verdict": "no_change"}],
           "actions": ["opened a case review for senior therapist okafor",
                       "emailed the episode's therapist (chen)",
                       "could NOT book a reassessment: no therapist hours"],
           "to_do": ["book a reassessment within 14 days by hand"],
           "notify_therapist": "chen", "notify_physician": True, "hold_progression": True,
           "proposed_pathway_name": "Progression review", "booking_failed": "no therapist hours"}
    decision = decode_decision(json.dumps(old), **OLD_ROW)  # type: ignore[arg-type]
    assert decision.opened == OpenEscalation(KEY, 2, "stall", "Berg: no real change, in full",
                                             (BERG,), ("visit 3 missed",))
    assert decision.therapists_to_tell == ("chen", "okafor")
    assert decision.tells_physician and decision.holds_progression
    assert decision.actions == (
        "opened a case review for senior therapist okafor",
        "emailed the episode's therapist (chen)",
        "could NOT book a reassessment: no therapist hours")
    assert decision.to_do == ("book a reassessment within 14 days by hand",)
    assert decision.reassessment == Reassessment(None, "no therapist hours")
    assert decision.pathway_name == "Progression review"


def test_an_old_escalation_with_almost_nothing_recorded_is_read_too() -> None:
    decision = decode_decision(json.dumps({"facts": ["T25FW unchanged"]}), key="k", level=1,
                               kind="stall", summary="no progress")
    assert decision.opened.summary == "no progress" and decision.opened.facts == (
        "T25FW unchanged",)
    assert decision.therapists_to_tell == () and not decision.tells_physician
    assert decision.actions == () and decision.to_do == ()
    assert decode_decision("", key="k", level=1, kind="stall", summary="s").effects == ()


@pytest.mark.parametrize("stored", [
    "[1]", "not json", '{"version": 3}',
    '{"version": 2, "opened": {"type": "Teleport", "key": "k"}}',
    '{"version": 2, "opened": {"type": "NotifyPhysician", "key": "k", "escalation_key": "k"}}',
    '{"version": 2, "opened": {"type": "OpenEscalation", "key": "k", "level": 1, '
    '"kind": "stall", "summary": "s", "colour": "red"}}',
])
def test_what_this_version_cannot_read_is_refused_not_guessed(stored: str) -> None:
    with pytest.raises(UnreadableDecision):
        decode_decision(stored, key="k", level=1, kind="stall", summary="s")
