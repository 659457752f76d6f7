"""What the race tests run in child processes: a batch enrolment and a leave, started at the
same moment from a barrier. Imported once by the forkserver, so each child starts warm."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from carepath.adapters.clock import FixedClock
from carepath.bootstrap import open_app
from carepath.config.loader import load_config
from carepath.config.settings import Settings
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.scheduling import enroll, enroll_batch, therapist_leave


def _timed(action: Any) -> Any:
    def run() -> str:
        began = time.perf_counter()
        outcome = action()
        return f"{outcome} in {time.perf_counter() - began:.3f}s"
    return run


def _open(options: dict[str, Any], actor: str) -> App:
    config_dir = Path(options["config_dir"])
    return open_app(Settings(home=Path(options["home"]), config_dir=config_dir,
                             database_url=options["url"], actor=actor),
                    FixedClock(datetime.fromisoformat(options["now"])),
                    config=load_config(config_dir))


def _outcome(action: Any) -> str:
    """"ok …" or the one line the CLI would print."""
    try:
        return f"ok {action()}"
    except CarepathError as error:
        return f"{type(error).__name__}: {error}"


def batch(options: dict[str, Any], barrier: Any, results: Any) -> None:
    app = _open(options, "batch")
    barrier.wait(timeout=60)
    results.put(("batch", _outcome(_timed(
        lambda: enroll_batch(app, Path(options["batch"]), partial=True).visits))))


def single(options: dict[str, Any], barrier: Any, results: Any) -> None:
    app = _open(options, "single")
    barrier.wait(timeout=60)
    results.put(("single", _outcome(lambda: len(enroll(
        app, options["patient"], "stable-boosters", date.fromisoformat(options["start"]),
        therapist_id=options["therapist"], partial=True).appointment_ids))))


def importer(options: dict[str, Any], barrier: Any, results: Any) -> None:
    from carepath.services.scheduling import import_appointments

    app = _open(options, "import")
    barrier.wait(timeout=60)
    results.put(("import", _outcome(
        lambda: len(import_appointments(app, Path(options["import"])).imported))))


def leave(options: dict[str, Any], barrier: Any, results: Any) -> None:
    app = _open(options, "leave")
    barrier.wait(timeout=60)
    first, last = (date.fromisoformat(d) for d in options["leave"])
    time.sleep(options.get("stagger", 0.0))  # where in the other's transaction leave lands
    results.put(("leave", _outcome(
        lambda: len(therapist_leave(app, options["therapist"], first, last, "race")))))
