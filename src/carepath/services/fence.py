"""The fence a process holds: what its transactions are checked against before they commit.

Kept apart from ``orchestrator`` (which takes, renews and checks the lease) so that the run
records (``runs``) can name the fence they ran under without importing the orchestrator.
"""

from __future__ import annotations

from dataclasses import dataclass

from carepath.adapters.clock import Clock
from carepath.services import App

LEASE = "scheduler"  # the orchestrator lease's name
FENCE_OPTION = "carepath_fence"  # the engine's execution option that carries the fence


@dataclass(frozen=True)
class Fence:
    """The lease this process holds: every transaction it commits is checked against it."""

    owner: str
    token: int
    engine: str  # serve or prefect
    clock: Clock
    name: str = LEASE


def fence_of(app: App) -> Fence | None:
    fence = app.engine.get_execution_options().get(FENCE_OPTION)
    return fence if isinstance(fence, Fence) else None
