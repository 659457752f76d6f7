"""Runs are recorded for admins, and a lease admits one holder at a time."""

from datetime import timedelta

import pytest

from carepath.adapters.clock import FixedClock
from carepath.services import App
from carepath.services.runs import (
    acquire_lease,
    lease_holder,
    list_runs,
    recorded_run,
    release_lease,
)


def test_a_failed_run_leaves_a_record_with_its_error(app: App) -> None:
    """A workflow that raises is listed as failed, with the error text."""
    with pytest.raises(RuntimeError), recorded_run(app, "review_goals", "review 2027-03-01"):
        raise RuntimeError("database went away")
    [run] = list_runs(app)
    assert (run.flow, run.status) == ("review_goals", "failed")
    assert "database went away" in run.error and run.finished_at is not None


def test_a_successful_run_keeps_its_summary(app: App) -> None:
    """The summary a run sets is what `runs list` shows."""
    with recorded_run(app, "dispatch_outbox", "dispatch") as run:
        run.summary = "3 sent"
    assert [(r.status, r.summary) for r in list_runs(app)] == [("succeeded", "3 sent")]


def test_only_one_owner_holds_a_lease_until_it_expires(any_app: App) -> None:
    """A second owner is refused while the lease is live, and admitted once it expires."""
    ttl = timedelta(minutes=3)
    assert acquire_lease(any_app, "scheduler", "host:1", ttl)
    assert not acquire_lease(any_app, "scheduler", "host:2", ttl)
    assert acquire_lease(any_app, "scheduler", "host:1", ttl)  # renewal by the holder
    assert isinstance(any_app.clock, FixedClock)
    any_app.clock.advance(ttl + timedelta(seconds=1))
    assert acquire_lease(any_app, "scheduler", "host:2", ttl)
    holder = lease_holder(any_app, "scheduler")
    assert holder is not None and holder.owner == "host:2"


def test_a_released_lease_is_free_at_once(app: App) -> None:
    """Stopping cleanly lets the next serve start without waiting for expiry."""
    ttl = timedelta(minutes=3)
    assert acquire_lease(app, "scheduler", "a", ttl)
    release_lease(app, "scheduler", "a")
    assert acquire_lease(app, "scheduler", "b", ttl)
