"""The episode lifecycle, as one table of allowed transitions (h11-style).

planned ──activate──▶ active ──hold──▶ on_hold ──resume──▶ active
   │                    │                  │
   └──cancel──▶ cancelled ◀──cancel────────┘     active ──finish──▶ finished
"""

from __future__ import annotations

from typing import Literal

from carepath.domain.transitions import advance

EpisodeState = Literal["planned", "active", "on_hold", "finished", "cancelled"]

TRANSITIONS: dict[tuple[str, str], str] = {
    ("planned", "activate"): "active",
    ("planned", "cancel"): "cancelled",
    ("active", "hold"): "on_hold",
    ("active", "finish"): "finished",
    ("active", "cancel"): "cancelled",
    ("on_hold", "resume"): "active",
    ("on_hold", "cancel"): "cancelled",
    ("on_hold", "finish"): "finished",
}

OPEN_STATES = frozenset({"planned", "active", "on_hold"})


def next_state(episode_id: object, current: str, event: str) -> str:
    """The state after ``event``, or ``InvalidTransition`` naming both states."""
    return advance(TRANSITIONS, "episode", episode_id, current, event)
