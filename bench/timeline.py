"""The care-timeline benchmark: what one lifecycle event costs, end to end and in the domain.

``python -m bench timeline [--patients 120] [--url postgresql://…]``

N patients of the example clinic each get a booster series; then every patient's series is
held and resumed, a quarter of them report a relapse (post-relapse care booked) and the
review sweep runs. Each row is one kind of event: per event, the wall time (what a user
waits; the machine is shared) and this process's CPU time, beside ``decide`` alone (the pure
timeline, no database) — the difference is the transaction: the patient's lock, the
timeline read, the claims, the audit and the cancelled visits' messages.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import PatientRow
from carepath.bootstrap import open_app
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir
from carepath.config.settings import Settings
from carepath.domain.timeline import EpisodeView, Relapse, Timeline, decide
from carepath.services import App
from carepath.services import lifecycle as care
from carepath.services.scheduling import enroll
from carepath.services.timeline_store import pathway_rules

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench timeline")
    parser.add_argument("--patients", type=int, default=120)
    parser.add_argument("--url", default="", help="a PostgreSQL URL (default: a temp SQLite); "
                                                  "the bench works in a fresh schema of it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carepath-bench-timeline-") as folder, \
            _database(Path(folder), args.url) as url:
        app = open_app(Settings(home=Path(folder) / "home", config_dir=bundled_config_dir(),
                                database_url=url, actor="bench"), FixedClock(NOW),
                       config=load_config(bundled_config_dir()))
        rows = measure(app, args.patients)
        backend = app.engine.dialect.name
        app.engine.dispose()
    print(f"care timeline, {args.patients} patients, {backend}")
    print(f"{'event':<28}{'events':>8}{'wall ms/event':>16}{'CPU ms/event':>15}")
    for name, count, wall, cpu in rows:
        print(f"{name:<28}{count:>8}{1000 * wall / count:>16.2f}{1000 * cpu / count:>15.2f}")


@contextmanager
def _database(folder: Path, url: str) -> Iterator[str]:
    if not url:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from carepath.testing import postgres_schema

    with postgres_schema(url) as schema_url:
        yield schema_url


def _timed(steps: list[Callable[[], Any]]) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for step in steps:
        step()
    return len(steps), time.perf_counter() - wall, time.process_time() - cpu


def measure(app: App, patients: int) -> list[tuple[str, int, float, float]]:
    ids = [f"B{n:05d}" for n in range(patients)]
    with transaction(app.engine) as session:
        session.add_all([PatientRow(id=p, name=f"Bench {p}", created_at=NOW, updated_at=NOW)
                         for p in ids])
    start = NOW.date() + timedelta(days=1)
    rows = [("enrol (boosters booked)", *_timed([
        _call(enroll, app, p, "stable-boosters", start + timedelta(days=n % 10), partial=True)
        for n, p in enumerate(ids)]))]
    episodes = _episode_ids(app)
    rows.append(("hold (visits cancelled)",
                 *_timed([_call(care.hold_episode, app, e) for e in episodes])))
    rows.append(("resume", *_timed([_call(care.resume_episode, app, e) for e in episodes])))
    app.clock = FixedClock(NOW + timedelta(days=2))
    rows.append(("relapse (post-relapse booked)", *_timed(
        [_call(care.report_relapse, app, p) for p in ids[: max(1, patients // 4)]])))
    rows.append(("review sweep (per patient)", *_per(patients, lambda: (
        care.schedule_progression_reviews(app)))))
    rows.append(("decide alone (relapse)", *_decide(app, 2000)))
    return rows


def _per(count: int, step: Callable[[], Any]) -> tuple[int, float, float]:
    _, wall, cpu = _timed([step])
    return count, wall, cpu


def _decide(app: App, count: int) -> tuple[int, float, float]:
    timeline = Timeline("B0", (EpisodeView(1, "stable-boosters", "active", date(2027, 3, 2)),
                               EpisodeView(2, "progression-review", "active",
                                           date(2027, 3, 3))), pathway_rules(app.config))
    return _timed([lambda: decide(timeline, Relapse())] * count)


def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: function(*args, **kwargs)


def _episode_ids(app: App) -> list[int]:
    from sqlmodel import col, select

    from carepath.adapters.tables import EpisodeRow

    with transaction(app.engine) as session:
        return [e for e in session.exec(select(EpisodeRow.id).order_by(col(EpisodeRow.id)))
                if e is not None]
