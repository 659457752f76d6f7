"""The periodic sweeps: each asks the database "what is due now?" and does it.

Due work is derived from state — no timer per appointment — so a rescheduled visit needs no
timer bookkeeping and a restart loses nothing. Each sweep is safe to run twice: effects carry
idempotency keys. ``run_sweep`` records every run (``carepath runs list``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.mail import make_transport
from carepath.adapters.tables import EpisodeRow
from carepath.services import App, lifecycle
from carepath.services.notify import queue_due_reminders
from carepath.services.outbox import dispatch
from carepath.services.review import review_all
from carepath.services.runs import recorded_run


def dispatch_outbox(app: App, partition: tuple[int, int] | None = None) -> str:
    report = dispatch(app, make_transport(app.settings), partition=partition)
    return f"{report.sent} sent, {report.retrying} retrying, {report.dead} dead"


def send_reminders(app: App) -> str:
    queued = queue_due_reminders(app, now=app.clock.now())
    return f"{queued} reminder(s) queued"


def review_goals(app: App, partition: tuple[int, int] | None = None) -> str:
    id_range = episode_range(app, *partition) if partition else None
    if id_range is not None and id_range[0] > id_range[1]:
        return "0 episodes reviewed (empty partition)"
    return str(review_all(app, now=app.clock.now(), id_range=id_range))


def episode_range(app: App, index: int, count: int) -> tuple[int, int]:
    """Partition ``index`` of ``count``: a range of episode ids (both ends included) over the
    active episodes, so that partitions are about equal and each reads by the primary key."""
    with transaction(app.engine) as session:
        low, high = session.exec(select(func.min(EpisodeRow.id), func.max(EpisodeRow.id))
                                 .where(EpisodeRow.state == "active")).one()
    if low is None or high is None:
        return (1, 0)
    size = (high - low + count) // count
    first = low + index * size
    return (first, min(high, first + size - 1))


PARTITIONED = frozenset({"dispatch_outbox", "review_goals"})


def schedule_progression_reviews(app: App) -> str:
    return lifecycle.schedule_progression_reviews(app)


SWEEPS: dict[str, Callable[[App], str]] = {
    "dispatch_outbox": dispatch_outbox,
    "send_reminders": send_reminders,
    "review_goals": review_goals,
    "extend_boosters": lifecycle.extend_boosters,
    "schedule_progression_reviews": schedule_progression_reviews,
}


def run_sweep(app: App, name: str, partition: tuple[int, int] | None = None) -> str:
    """Run one sweep by name (or one ``(index, count)`` partition of a partitioned sweep),
    recorded as a run with its summary or its error."""
    if partition is None:
        sweep = SWEEPS[name]
        label = f"{name} {app.clock.now():%Y-%m-%dT%H:%M}Z"
    else:
        if name not in PARTITIONED:
            raise ValueError(f"{name} does not run in partitions")
        index, count = partition
        label = f"{name} {app.clock.now():%Y-%m-%dT%H:%M}Z part {index + 1}/{count}"

        def sweep(app: App) -> str:
            return dispatch_outbox(app, partition) if name == "dispatch_outbox" \
                else review_goals(app, partition)

    with recorded_run(app, name, label) as run:
        run.summary = sweep(app)
    return run.summary
