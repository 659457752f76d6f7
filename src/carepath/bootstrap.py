"""The composition root: the one place that builds an ``App`` and wires its parts together.

Every entry point — the CLI, ``carepath serve``, the web app, the Prefect deployments, the
demo and the tests — opens its app here. The table of event handlers is written out below,
so who hears which domain event is read in one place, not gathered from whatever modules
happened to be imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from carepath.adapters.clock import Clock, SystemClock
from carepath.adapters.db import ensure_schema, make_engine
from carepath.config.cache import load_config_cached
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.errors import InputError
from carepath.services import App
from carepath.services.config_sync import sync_config
from carepath.services.events import (
    AppointmentCancelled,
    AppointmentChanged,
    AppointmentsBooked,
    AppointmentsCancelled,
    EscalationRaised,
    Handler,
    Handlers,
    ProgressionHoldChanged,
)


def event_handlers() -> dict[type, tuple[Handler, ...]]:
    """Each domain event and, in order, what it causes in the same transaction.

    An event with no handler here silently causes nothing: add the handler of a new event.
    """
    return {
        # goals first: the invites and emails of an enrolment may speak of them
        AppointmentsBooked: (_On("goal_events", "goals_at_enrolment"),
                             _On("notify", "on_booked")),
        AppointmentChanged: (_On("notify", "on_changed"),),
        AppointmentCancelled: (_On("notify", "on_cancelled"),),
        AppointmentsCancelled: (_On("notify", "on_cancelled_many"),),
        ProgressionHoldChanged: (_On("notify", "on_hold_changed"),),
        EscalationRaised: (_On("notify_escalations", "on_escalation"),),
    }


@dataclass(frozen=True)
class _On:
    """The handler ``carepath.services.<module>.<name>``, imported when its event is first
    published: a command that changes no booking (a list, a report) does not load the
    messaging stack (iCalendar, Jinja, MIME), a seventh of its start-up."""

    module: str
    name: str

    def __call__(self, session: Any, app: App, event: Any) -> None:
        self.target()(session, app, event)

    def target(self) -> Handler:
        handler: Handler = getattr(import_module(f"carepath.services.{self.module}"),
                                   self.name)
        return handler


def open_app(settings: Settings, clock: Clock | None = None, *, config: Config | None = None,
             handlers: Handlers | None = None) -> App:
    """Load the config, build the engine, upgrade the schema and sync the config.

    ``handlers`` replaces the event table (a test that watches or silences an event)."""
    _make_home(settings.home)
    clock = clock or SystemClock()
    config = config or load_config_cached(settings.config_dir, settings.home / "cache",
                                          year=clock.now().year)
    engine = make_engine(settings.database_url,
                         connect_timeout=settings.db_connect_timeout,
                         statement_timeout=settings.db_statement_timeout)
    ensure_schema(engine)
    _restrict_sqlite_file(settings.database_url)
    app = App(settings=settings, config=config, engine=engine, clock=clock,
              handlers=event_handlers() if handlers is None else handlers)
    sync_config(app)
    return app


def _make_home(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(home, 0o700)  # patient data lives here: owner only
    except OSError as error:
        raise InputError("CAREPATH_HOME", f"cannot use {home} ({error.strerror})",
                         "point CAREPATH_HOME at a folder you can write") from None


def _restrict_sqlite_file(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists():
                os.chmod(candidate, 0o600)
