"""Two processes changing one patient's timeline at the same moment leave a valid timeline.

Each worker opens its own App in a spawned process, waits at a barrier, then fires its
event. The patient's row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) makes them take
turns; the later one decides on what the first wrote, so it either applies cleanly or is
refused with one clear line. ``make reliability`` repeats each race to catch one that shows
only now and then.
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import EpisodeRow
from carepath.bootstrap import open_app
from carepath.services import App
from carepath.services import lifecycle as care
from carepath.services.patients import import_patients
from carepath.services.scheduling import enroll
from timeline_invariants import timeline_problems

NEW_YORK = ZoneInfo("America/New_York")
LATER = datetime(2027, 3, 10, 7, tzinfo=NEW_YORK)
REPEATS = 8 if os.environ.get("CAREPATH_RELIABILITY") == "full" else 1


def _worker(settings: dict[str, Any], action: str, arg: Any, barrier: Any, results: Any) -> None:
    from carepath.config.loader import load_config
    from carepath.config.settings import Settings
    from carepath.errors import CarepathError

    app = open_app(Settings(**settings), FixedClock(LATER),
                   config=load_config(settings["config_dir"]))
    barrier.wait(timeout=60)
    try:
        if action == "relapse":
            outcome = str(care.report_relapse(app, arg))
        elif action == "complete":
            outcome = str(care.complete_episode(app, arg))
        else:
            enrolment = enroll(app, "MRN1002", arg, date(2027, 3, 15), partial=True)
            outcome = f"episode {enrolment.episode_id}" + (" again" if enrolment.existing else "")
        results.put((action, "done", outcome))
    except CarepathError as error:
        results.put((action, "refused", str(error)))
    except Exception as error:  # reported to the test, which fails on it
        results.put((action, "error", repr(error)))
    finally:
        app.engine.dispose()


def _race(app: App, jobs: list[tuple[str, Any]]) -> list[tuple[str, str, str]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(jobs)), ctx.Queue()
    settings = {"home": app.settings.home, "config_dir": app.settings.config_dir,
                "database_url": app.settings.database_url, "actor": "racer"}
    workers = [ctx.Process(target=_worker, args=(settings, action, arg, barrier, results))
               for action, arg in jobs]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return sorted(outcomes)


def _states(app: App) -> list[tuple[str, str]]:
    with transaction(app.engine) as session:
        rows = session.exec(select(EpisodeRow).where(EpisodeRow.patient_id == "MRN1002")
                            .order_by(col(EpisodeRow.id))).all()
    return [(e.pathway_id, e.state) for e in rows]


@pytest.mark.slow
@pytest.mark.quick_size  # processes racing, as in test_races: make slow and CI run it
@pytest.mark.parametrize("repeat", range(REPEATS))
def test_a_relapse_and_a_completion_racing_leave_a_valid_timeline(
        any_app: App, config_dir: Path, repeat: int) -> None:
    """Post-relapse care is completed while a new relapse is reported: whichever goes first,
    the other applies on top of it or is refused, and the timeline stays sound."""
    import_patients(any_app, config_dir / "demo-patients.csv")
    enroll(any_app, "MRN1002", "stable-boosters", date(2027, 3, 1), partial=True)
    any_app.clock = FixedClock(datetime(2027, 3, 3, 7, tzinfo=NEW_YORK))
    post = care.report_relapse(any_app, "MRN1002").next_episode_id
    outcomes = _race(any_app, [("relapse", "MRN1002"), ("complete", post)])
    assert not [o for o in outcomes if o[1] == "error"], outcomes
    states = _states(any_app)
    relapse_first = [("stable-boosters", "on_hold"), ("post-relapse", "on_hold"),
                     ("post-relapse", "active")]
    complete_first = [("stable-boosters", "finished"), ("post-relapse", "finished"),
                      ("stable-boosters", "on_hold"), ("post-relapse", "active")]
    assert states in (relapse_first, complete_first), (states, outcomes)
    assert timeline_problems(any_app.engine, any_app.config, LATER) == []


@pytest.mark.slow
@pytest.mark.parametrize("repeat", range(REPEATS))
def test_the_same_enrolment_from_two_processes_books_one_episode(
        any_app: App, config_dir: Path, repeat: int) -> None:
    """A request retried after a timeout while the first is still running: one episode."""
    import_patients(any_app, config_dir / "demo-patients.csv")
    outcomes = _race(any_app, [("enroll", "stable-boosters"), ("enroll", "stable-boosters")])
    assert [kind for _, kind, _ in outcomes] == ["done", "done"], outcomes
    assert sorted(text.endswith("again") for _, _, text in outcomes) == [False, True]
    assert _states(any_app) == [("stable-boosters", "active")]
    assert timeline_problems(any_app.engine, any_app.config, LATER - timedelta(days=9)) == []


@pytest.mark.slow
@pytest.mark.parametrize("repeat", range(REPEATS))
def test_two_exclusive_enrolments_racing_start_only_one(
        any_app: App, config_dir: Path, repeat: int) -> None:
    import_patients(any_app, config_dir / "demo-patients.csv")
    outcomes = _race(any_app, [("enroll", "stable-boosters"), ("enroll", "post-relapse")])
    assert sorted(kind for _, kind, _ in outcomes) == ["done", "refused"], outcomes
    assert all("cannot start" in text for _, kind, text in outcomes if kind == "refused")
    assert len(_states(any_app)) == 1
    assert timeline_problems(any_app.engine, any_app.config, LATER - timedelta(days=9)) == []
