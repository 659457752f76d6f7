"""Processes racing for one therapist or the last unit of a room: never both win.

Each worker opens its own App (its own engine and connections) in a spawned process, waits
at a barrier, then moves its own visit to the same contested time. SQLite serializes the
write transactions (BEGIN IMMEDIATE) and the loser re-reads a taken slot; PostgreSQL lets
both read, and the exclusion constraint rejects the later insert. Either way the losers get
a clean ``SlotTaken`` and the database holds no overlap.
"""

from __future__ import annotations

import multiprocessing
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from carepath.bootstrap import open_app
from carepath.services import App
from carepath.services import scheduling as booking
from carepath.services.patients import import_patients
from carepath.testing import overlapping_bookings

NEW_YORK = ZoneInfo("America/New_York")
CONTESTED = datetime(2027, 3, 4, 14, 30, tzinfo=NEW_YORK)  # a Thursday afternoon


def _worker(settings: dict[str, Any], appointment_id: int, therapist_id: str,
            barrier: Any, results: Any) -> None:
    from carepath.adapters.clock import FixedClock
    from carepath.config.loader import load_config
    from carepath.config.settings import Settings
    from carepath.errors import SlotTaken

    app = open_app(Settings(**settings), FixedClock(datetime(2027, 3, 1, 7, tzinfo=NEW_YORK)),
                   config=load_config(settings["config_dir"]))
    barrier.wait(timeout=60)
    try:
        booking.reschedule(app, appointment_id, CONTESTED, therapist_id)
        results.put((appointment_id, "won", ""))
    except SlotTaken as error:
        results.put((appointment_id, "taken", str(error)))
    except Exception as error:  # reported to the test, which fails on it
        results.put((appointment_id, "error", repr(error)))
    finally:
        app.engine.dispose()


def _race(app: App, moves: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(moves)), ctx.Queue()
    settings = {"home": app.settings.home, "config_dir": app.settings.config_dir,
                "database_url": app.settings.database_url, "actor": "racer"}
    workers = [ctx.Process(target=_worker, args=(settings, ident, who, barrier, results))
               for ident, who in moves]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def _first_visits(app: App, config_dir: Path, count: int) -> list[int]:
    """One booster episode per patient; the id of each episode's first visit (week 1)."""
    import_patients(app, config_dir / "demo-patients.csv")
    ids = []
    for number in range(count):
        enrolment = booking.enroll(app, f"MRN10{number + 10:02d}", "stable-boosters",
                                   date(2027, 3, 1))
        ids.append(enrolment.appointment_ids[0])
    return ids


@pytest.mark.slow
def test_seven_processes_racing_for_a_therapist_and_the_gym_never_overlap(
        any_app: App, config_dir: Path) -> None:
    """Seven processes move seven visits to the same time: three want Alvarez (one can win)
    and four want other therapists, while the gym holds four. Exactly four win, the other
    three get SlotTaken naming what is still free, and nothing overlaps."""
    ids = _first_visits(any_app, config_dir, 7)
    who = ["alvarez", "alvarez", "alvarez", "chen", "okafor", "patel", "nguyen"]
    outcomes = _race(any_app, list(zip(ids, who, strict=True)))
    kinds = sorted(kind for _, kind, _ in outcomes)
    assert kinds == ["taken"] * 3 + ["won"] * 4, outcomes
    assert all("still free" in text for _, kind, text in outcomes if kind == "taken")
    winners = {ident for ident, kind, _ in outcomes if kind == "won"}
    assert len(winners & set(ids[:3])) <= 1  # at most one Alvarez visit got through
    assert overlapping_bookings(any_app) == []
