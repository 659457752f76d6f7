"""The periodic sweeps: each asks the database "what is due now?" and does it.

Due work is derived from state — no timer per appointment — so a rescheduled visit needs no
timer bookkeeping and a restart loses nothing. Each sweep is safe to run twice: effects carry
idempotency keys. ``run_sweep`` records every run (``carepath runs list``).
"""

from __future__ import annotations

from collections.abc import Callable

from carepath.adapters.mail import make_transport
from carepath.services import App, lifecycle
from carepath.services.notify import queue_due_reminders
from carepath.services.outbox import dispatch
from carepath.services.review import review_all
from carepath.services.runs import recorded_run


def dispatch_outbox(app: App) -> str:
    report = dispatch(app, make_transport(app.settings))
    return f"{report.sent} sent, {report.retrying} retrying, {report.dead} dead"


def send_reminders(app: App) -> str:
    queued = queue_due_reminders(app, now=app.clock.now())
    return f"{queued} reminder(s) queued"


def review_goals(app: App) -> str:
    return str(review_all(app, now=app.clock.now()))


def schedule_progression_reviews(app: App) -> str:
    return lifecycle.schedule_progression_reviews(app)


SWEEPS: dict[str, Callable[[App], str]] = {
    "dispatch_outbox": dispatch_outbox,
    "send_reminders": send_reminders,
    "review_goals": review_goals,
    "extend_boosters": lifecycle.extend_boosters,
    "schedule_progression_reviews": schedule_progression_reviews,
}


def run_sweep(app: App, name: str) -> str:
    """Run one sweep by name, recorded as a run with its summary or its error."""
    sweep = SWEEPS[name]
    with recorded_run(app, name, f"{name} {app.clock.now():%Y-%m-%dT%H:%M}Z") as run:
        run.summary = sweep(app)
    return run.summary
