"""The episode lifecycle is one table; anything else is a clear refusal."""

import pytest

from carepath.domain.episodes import TRANSITIONS, next_state
from carepath.errors import InvalidTransition


@pytest.mark.parametrize(("state", "event", "after"), [
    (state, event, after) for (state, event), after in TRANSITIONS.items()])
def test_every_listed_transition_is_allowed(state: str, event: str, after: str) -> None:
    """Each row of the table moves the episode to its target state."""
    assert next_state(1, state, event) == after


@pytest.mark.parametrize(("state", "event"), [
    ("finished", "activate"), ("cancelled", "resume"), ("planned", "finish"),
    ("finished", "finish"), ("active", "activate")])
def test_a_transition_outside_the_table_names_both_states(state: str, event: str) -> None:
    """A finished episode cannot be reactivated; the error says what it is and what was asked."""
    with pytest.raises(InvalidTransition) as caught:
        next_state(7, state, event)
    assert f"episode 7 is {state}" in str(caught.value)
