"""The episode lifecycle as ``(state, event) → state`` pairs, derived from the one table in
``domain.timeline`` (``EPISODE_EVENTS``), for code that moves one episode at a time.

planned ──activate──▶ active ──hold / relapse──▶ on_hold ──resume──▶ active
   │                    │ complete, continue        │ complete, discharge
   └──cancel──▶ cancelled ◀──cancel, supersede──────┘      ──▶ finished
"""

from __future__ import annotations

from typing import Literal

from carepath.domain.timeline import EPISODE_EVENTS, OPEN
from carepath.domain.transitions import advance

EpisodeState = Literal["planned", "active", "on_hold", "finished", "cancelled"]

TRANSITIONS: dict[tuple[str, str], str] = {
    (state, event): after for event, row in EPISODE_EVENTS.items() for state, after in row.items()}

OPEN_STATES = OPEN


def next_state(episode_id: object, current: str, event: str) -> str:
    """The state after ``event``, or ``InvalidTransition`` naming both states."""
    return advance(TRANSITIONS, "episode", episode_id, current, event)
