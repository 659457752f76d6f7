"""The orchestrator's sweeps at scale, split into partitions run by separate processes.

``python -m bench lifecycle [--episodes 4000,40000] [--partitions 1,2] [--url postgresql://…]``

For each database (a temporary SQLite file; with ``--url``, also a throwaway schema of that
PostgreSQL database) and each size, the goals bench's seeded clinic is written, the backlog
review run once, and then, for each partition count, the two sweeps the Prefect deployments
fan out:

- *review*: the daily goal review with nothing new (what each day costs), its episodes split
  into that many episode-id ranges;
- *dispatch*: one pending message per four episodes (at most 2,000: a busy day's outbox; the
  dispatch's work follows the messages, not the episodes), sent to the mail folder, split by
  outbox id.

Each partition runs in its own process, as a Prefect worker would run it, started before the
clock starts (imports and opening the app are not counted). Wall time runs from the first
partition's start to the last one's end; CPU time is the partitions' own, summed, so the
per-episode cost shows what partitioning adds. The speed-up is 1 partition's wall time over
this one's. The machine's cores bound it: on 2 shared cores expect well under 2x.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert

from bench.goals import NOW, _app, _insert, _minimal_booker, _subscribers_detached, populate
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import OutboxRow
from carepath.bootstrap import open_app
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir
from carepath.config.settings import Settings
from carepath.services import App
from carepath.services.events import EscalationRaised
from carepath.services.review import review_all
from carepath.services.sweeps import run_sweep

MESSAGES_PER_EPISODE = 0.25
MAX_MESSAGES = 2000


@dataclass(frozen=True)
class Figure:
    backend: str
    episodes: int
    sweep: str
    items: int
    partitions: int
    wall: float
    cpu: float
    error: str = ""  # why a partition failed, if one did


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench lifecycle")
    parser.add_argument("--episodes", default="4000,40000")
    parser.add_argument("--partitions", default="1,2")
    parser.add_argument("--url", default="", help="a PostgreSQL URL: a throwaway schema of it "
                                                  "is benched beside SQLite")
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help="which of sqlite,postgresql (postgresql only with --url)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.episodes.split(",")]
    counts = [int(n) for n in args.partitions.split(",")]
    backends = [b for b in args.databases.split(",") if b == "sqlite" or args.url]
    print(_header())
    figures: list[Figure] = []
    for size in sizes:
        for backend in backends:
            with _database(backend, args.url) as (folder, url):
                for figure in bench_one(backend, folder, url, size, counts, args.seed):
                    figures.append(figure)
                    print(_line(figure, figures), flush=True)


@contextmanager
def _database(backend: str, base_url: str) -> Iterator[tuple[Path, str]]:
    with tempfile.TemporaryDirectory(prefix="carepath-bench-lifecycle-") as name:
        folder = Path(name)
        if backend == "sqlite":
            yield folder, f"sqlite:///{folder / 'bench.db'}"
            return
        from carepath.testing import postgres_schema

        with postgres_schema(base_url) as url:
            yield folder, url


def bench_one(backend: str, folder: Path, url: str, episodes: int, counts: list[int],
              seed: int) -> Iterator[Figure]:
    app = _app(folder, url)
    _, today = populate(app, episodes, random.Random(seed))
    _insert(app, today)
    with _subscribers_detached(app, EscalationRaised):  # the backlog once, without its emails
        review_all(app, now=NOW, book=_minimal_booker)  # (what follows is the daily sweep)
    with transaction(app.engine) as session:
        session.execute(delete(OutboxRow))  # only the bench's own messages are dispatched
    messages = max(1, min(MAX_MESSAGES, int(episodes * MESSAGES_PER_EPISODE)))
    for count in counts:
        wall, cpu, error = _partitioned(folder, url, "review_goals", count)
        yield Figure(backend, episodes, "review", episodes, count, wall, cpu, error)
    for number, count in enumerate(counts):
        _queue(app, messages, first=number * messages)
        wall, cpu, error = _partitioned(folder, url, "dispatch_outbox", count)
        yield Figure(backend, episodes, "dispatch", messages, count, wall, cpu, error)
    app.engine.dispose()


def _queue(app: App, count: int, *, first: int) -> None:
    message = EmailMessage()
    message["Subject"], message["From"] = "Your visit", "clinic@example.org"
    message.set_content("See you on Monday.")
    rows = []
    for number in range(first, first + count):
        message.replace_header("Subject", f"Your visit {number}")
        rows.append({"idempotency_key": f"bench-{number}", "message_id": f"<b{number}@bench>",
                     "kind": "reminder", "recipient": f"p{number}@example.org",
                     "subject": f"Your visit {number}", "body": message.as_string(),
                     "status": "pending", "attempts": 0, "next_attempt_at": NOW,
                     "last_error": "", "created_at": NOW})
    with transaction(app.engine) as session:
        session.execute(insert(OutboxRow), rows)


def _partitioned(folder: Path, url: str, sweep: str, count: int) -> tuple[float, float, str]:
    """Run ``sweep`` as ``count`` partitions in as many processes: (wall s, summed CPU s, the
    first partition's error or "")."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    go = context.Event()
    workers = [context.Process(target=_partition, args=(
        str(folder), url, sweep, index, count, ready, go, results)) for index in range(count)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=600)
    go.set()
    spans: list[tuple[float, float, float, str]] = [results.get(timeout=3600)
                                                     for _ in workers]
    for worker in workers:
        worker.join()
    start = min(s for s, _, _, _ in spans)
    end = max(e for _, e, _, _ in spans)
    errors = [error for _, _, _, error in spans if error]
    return end - start, sum(c for _, _, c, _ in spans), errors[0] if errors else ""


def _partition(folder: str, url: str, sweep: str, index: int, count: int, ready: Any,
               go: Any, results: Any) -> None:
    config_dir = bundled_config_dir()
    settings = Settings(home=Path(folder) / "home", config_dir=config_dir, database_url=url,
                        actor="bench")
    app = open_app(settings, FixedClock(NOW + timedelta(hours=1)),
                   config=load_config(config_dir))
    ready.put(index)
    go.wait()
    wall, cpu = time.time(), time.process_time()
    error = ""
    try:
        run_sweep(app, sweep, partition=None if count == 1 else (index, count))
    except Exception as failure:  # noqa: BLE001 - reported as the figure, not a traceback
        error = f"{type(failure).__name__}: {str(failure).splitlines()[0]}"
    results.put((wall, time.time(), time.process_time() - cpu, error))
    app.engine.dispose()


def _header() -> str:
    return (f"{'database':<11}{'episodes':>9} {'sweep':<9}{'items':>7}{'parts':>6}"
            f"{'wall s':>9}{'cpu s':>8}{'cpu ms/item':>12}{'speed-up':>9}")


def _line(figure: Figure, figures: list[Figure]) -> str:
    single = next((f for f in figures if (f.backend, f.episodes, f.sweep, f.partitions)
                   == (figure.backend, figure.episodes, figure.sweep, 1)), None)
    speedup = f"{single.wall / figure.wall:.2f}x" if single and figure.wall else "-"
    if figure.error:
        return (f"{figure.backend:<11}{figure.episodes:>9} {figure.sweep:<9}{figure.items:>7}"
                f"{figure.partitions:>6}  failed: {figure.error}")
    return (f"{figure.backend:<11}{figure.episodes:>9} {figure.sweep:<9}{figure.items:>7}"
            f"{figure.partitions:>6}{figure.wall:>9.2f}{figure.cpu:>8.2f}"
            f"{figure.cpu * 1000 / figure.items:>12.3f}{speedup:>9}")
