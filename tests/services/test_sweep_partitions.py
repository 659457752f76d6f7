"""Sweeps split into partitions do the whole sweep's work, each part once."""

from __future__ import annotations

from email.message import EmailMessage

from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import OutboxRow
from carepath.services import App
from carepath.services.outbox import enqueue
from carepath.services.runs import list_runs
from carepath.services.sweeps import episode_range, run_sweep
from goal_helpers import active_episode


def _queue(app: App, count: int) -> None:
    with transaction(app.engine) as session:
        for number in range(count):
            message = EmailMessage()
            message["Subject"], message["Message-ID"] = "Visit", f"<m{number}@carepath.test>"
            message["To"] = f"p{number}@example.org"
            message.set_content("hello")
            enqueue(session, app, message, kind="invite", recipient=f"p{number}@example.org",
                    idempotency_key=f"k{number}")


def test_two_dispatch_partitions_send_every_message_exactly_once(app: App) -> None:
    _queue(app, 7)
    first = run_sweep(app, "dispatch_outbox", partition=(0, 2))
    second = run_sweep(app, "dispatch_outbox", partition=(1, 2))
    assert (first, second) == ("3 sent, 0 retrying, 0 dead", "4 sent, 0 retrying, 0 dead")
    with transaction(app.engine) as session:
        assert {row.status for row in session.exec(select(OutboxRow))} == {"sent"}
    assert [r.name.rsplit(" ", 1)[1] for r in list_runs(app)] == ["2/2", "1/2"]


def test_review_partitions_cover_every_active_episode_once(app: App) -> None:
    ids = [active_episode(app, patient=f"MRN{n}") for n in range(5)]
    ranges = [episode_range(app, index, 3) for index in range(3)]
    covered = [i for low, high in ranges for i in ids if low <= i <= high]
    assert sorted(covered) == ids
    summaries = [run_sweep(app, "review_goals", partition=(index, 3)) for index in range(3)]
    reviewed = sum(int(summary.split(" episode")[0].split()[-1]) for summary in summaries)
    assert reviewed == len(ids)
