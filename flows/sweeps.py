"""The periodic sweeps as flows: dispatch, reminders, goal review."""

from __future__ import annotations

from prefect import flow, task

from carepath.services.sweeps import run_sweep
from flows.context import current_app


@task(retries=3, retry_delay_seconds=[5, 30, 120])
def sweep_task(name: str) -> str:
    # Safe to retry: every sweep derives its work from the database and its effects carry
    # idempotency keys (an outbox row is sent once; a reminder is queued once per visit).
    return run_sweep(current_app(), name)


@task(retries=3, retry_delay_seconds=[5, 30, 120])
def sweep_partition(name: str, index: int, count: int) -> str:
    # One task per partition (few, coarse tasks: a task costs milliseconds of Prefect's
    # bookkeeping, so never one per episode or per message).
    return run_sweep(current_app(), name, partition=(index, count))


def _fan_out(name: str, partitions: int) -> str:
    if partitions <= 1:
        return sweep_task(name)
    if current_app().engine.dialect.name == "sqlite":
        # SQLite has one write lock, taken by every transaction (reads included: BEGIN
        # IMMEDIATE); partitions side by side would only queue for it, and a long one would
        # time the others out. They run one after the other there.
        return "; ".join(sweep_partition(name, index, partitions)
                         for index in range(partitions))
    futures = [sweep_partition.submit(name, index, partitions) for index in range(partitions)]
    return "; ".join(str(future.result()) for future in futures)


@flow(name="dispatch_outbox", flow_run_name="dispatch-outbox")
def dispatch_outbox(partitions: int = 1) -> str:
    """Send pending messages from the outbox (in ``partitions`` tasks side by side)."""
    return _fan_out("dispatch_outbox", partitions)


@flow(name="send_reminders", flow_run_name="send-reminders")
def send_reminders() -> str:
    """Queue reminders for visits inside the reminder window, then send them."""
    queued = sweep_task("send_reminders")
    return f"{queued}; {sweep_task('dispatch_outbox')}"


@flow(name="review_goals", flow_run_name="review-goals")
def review_goals(partitions: int = 1) -> str:
    """Classify every active goal and escalate stalls (over ``partitions`` episode-id ranges)."""
    return _fan_out("review_goals", partitions)
