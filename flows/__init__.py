"""carepath's Prefect flows: thin compositions of carepath services.

The same code runs under ``carepath serve`` (embedded), as Prefect deployments
(``prefect.yaml``), and in tests. Flows hold no business rule: each step is a service call;
I/O steps are tasks with retries only where the step is idempotent.
"""

from flows.care import (
    complete_episode,
    enroll_episode,
    extend_boosters,
    report_relapse,
    schedule_progression_reviews,
)
from flows.problems import report_problem
from flows.sweeps import dispatch_outbox, review_goals, send_reminders

__all__ = [
    "complete_episode", "dispatch_outbox", "enroll_episode", "extend_boosters", "report_problem",
    "report_relapse", "review_goals", "schedule_progression_reviews", "send_reminders",
]
