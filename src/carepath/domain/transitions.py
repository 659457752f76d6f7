"""State tables: one lookup for every lifecycle (episodes, appointments, escalations).

A table maps ``(current state, event)`` to the next state; anything not in it is refused
with an ``InvalidTransition`` naming where the thing is and where it was asked to go.
"""

from __future__ import annotations

from collections.abc import Mapping

from carepath.errors import InvalidTransition

StateTable = Mapping[tuple[str, str], str]


def advance(table: StateTable, what: str, ident: object, current: str, event: str) -> str:
    """The state after ``event``, or ``InvalidTransition``."""
    try:
        return table[(current, event)]
    except KeyError:
        wanted = {e: s for (_, e), s in table.items()}.get(event, event)
        raise InvalidTransition(what, ident, current, wanted) from None
