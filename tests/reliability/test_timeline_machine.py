"""Random orders of care events over a few patients, through the services, on SQLite and
PostgreSQL; after every step the timelines are read back and checked by
``timeline_invariants`` (which shares no code with the engine).

``make test`` runs a fixed, small budget; ``make reliability`` (CAREPATH_RELIABILITY=full)
runs many more and longer sequences.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import text
from sqlmodel import col, select

from availability import postgres_url
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import EpisodeRow
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services import lifecycle as care
from carepath.services.patients import import_patients
from carepath.services.scheduling import enroll
from carepath.testing import postgres_schema
from timeline_invariants import timeline_problems

FULL = os.environ.get("CAREPATH_RELIABILITY") == "full"
EXAMPLES, STEPS = (150, 30) if FULL else (6, 10)
PATIENTS = ("MRN1011", "MRN1012", "MRN1013")
PATHWAYS = ("stable-boosters", "post-relapse", "progression-review")
# Child tables first: each example starts from the same empty timelines.
TABLES = ("resource_booking", "measurement", "recovery_report", "escalation", "goal",
          "episode_claim", "appointment", "episode", "outbox", "audit", "run")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def machine_app(request: pytest.FixtureRequest, tmp_path: Path, config_dir: Path,
                config: Config, clock: FixedClock) -> Iterator[App]:
    with (postgres_schema(postgres_url()) if request.param == "postgresql"
          else _sqlite(tmp_path)) as database_url:
        app = open_app(Settings(home=tmp_path / "home", config_dir=config_dir,
                                database_url=database_url, actor="machine"), clock,
                       config=config)
        import_patients(app, config_dir / "demo-patients.csv")
        yield app
        app.engine.dispose()


class _sqlite:
    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'machine.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        return None


def machine_for(app: App, start: FixedClock) -> type[RuleBasedStateMachine]:
    origin = start.now()

    class CareTimeline(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with app.engine.begin() as db:
                for table in TABLES:
                    db.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)
            app.clock = FixedClock(origin)

        def episode(self, patient: str, pick: int) -> int | None:
            with transaction(app.engine) as session:
                ids = list(session.exec(select(EpisodeRow.id).where(
                    EpisodeRow.patient_id == patient).order_by(col(EpisodeRow.id))))
            return ids[pick % len(ids)] if ids else None

        def attempt(self, action: object, *args: object, **kwargs: object) -> None:
            """Run one event; a refusal (a clear CarepathError) is a valid outcome."""
            with suppress(CarepathError):
                action(app, *args, **kwargs)  # type: ignore[operator]

        @rule(patient=st.sampled_from(PATIENTS), pathway=st.sampled_from(PATHWAYS),
              days=st.integers(1, 10))
        def enrol(self, patient: str, pathway: str, days: int) -> None:
            day = app.clock.now().astimezone(start.now().tzinfo).date() + timedelta(days=days)
            self.attempt(enroll, patient, pathway, day, partial=True)

        @rule(patient=st.sampled_from(PATIENTS))
        def relapse(self, patient: str) -> None:
            self.attempt(care.report_relapse, patient)

        @rule(patient=st.sampled_from(PATIENTS), pick=st.integers(0, 5),
              event=st.sampled_from(("complete", "hold", "resume", "cancel")))
        def episode_event(self, patient: str, pick: int, event: str) -> None:
            episode_id = self.episode(patient, pick)
            if episode_id is not None:
                action = {"complete": care.complete_episode, "hold": care.hold_episode,
                          "resume": care.resume_episode, "cancel": care.cancel_episode}[event]
                self.attempt(action, episode_id)

        @rule(patient=st.sampled_from(PATIENTS))
        def discharge(self, patient: str) -> None:
            self.attempt(care.discharge_patient, patient)

        @rule()
        def sweeps(self) -> None:
            care.schedule_progression_reviews(app)
            care.extend_boosters(app)

        @rule(days=st.integers(1, 40))
        def time_passes(self, days: int) -> None:
            assert isinstance(app.clock, FixedClock)
            app.clock = FixedClock(app.clock.now() + timedelta(days=days))

        @invariant()
        def timelines_are_sound(self) -> None:
            assert timeline_problems(app.engine, app.config, app.clock.now()) == []

    return CareTimeline


def test_random_event_orders_keep_every_timeline_sound(machine_app: App,
                                                       clock: FixedClock) -> None:
    """At most one running episode per lane, no future visit on an episode that is not
    active, every cancelled visit's CANCEL queued, every transition audited."""
    run_state_machine_as_test(machine_for(machine_app, clock), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
