"""The web app over a fresh SQLite database with the example config and a fixed clock
(Monday 2027-03-01, 07:00 in New York): two logins, a patient with visits today."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient
from web_support import WEB_URL, Clinic, client_for, sign_in

from carepath.adapters.clock import FixedClock
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.services.accounts import add_user
from database_templates import copy_sqlite
from goal_helpers import active_episode, visit

MONDAY_MORNING = datetime(2027, 3, 1, 7, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(scope="session")
def clinic_template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
                    config_dir: Path, config: Config) -> Clinic:
    """The web clinic built once per pytest process: its database is copied for each test
    (two argon2 hashes and an enrolment per test would be most of the web tests' time)."""
    home = tmp_path_factory.mktemp("web-template")
    url = copy_sqlite(sqlite_template, home / "carepath.db")
    app = open_app(Settings(home=home, config_dir=config_dir, database_url=url, actor="test"),
                   FixedClock(MONDAY_MORNING), config=config)
    passwords = {name: secrets.token_urlsafe(16) for name in ("chen", "boss")}
    add_user(app, "chen", passwords["chen"], role="therapist", therapist_id="chen")
    add_user(app, "boss", passwords["boss"], role="admin")
    episode = active_episode(app)
    visits = [visit(app, episode, date(2027, 3, 1), "evaluation", status="booked",
                    at=time(10, 0)),
              visit(app, episode, date(2027, 3, 3), "treatment", status="booked",
                    at=time(10, 0))]
    app.engine.dispose()  # closed: the write-ahead log is folded into the file
    return Clinic(app, passwords, episode, visits)


@pytest.fixture
def clinic(settings: Settings, config: Config, clock: FixedClock,
           clinic_template: Clinic) -> Iterator[Clinic]:
    assert clock.now() == MONDAY_MORNING
    template_db = clinic_template.app.settings.home / "carepath.db"
    url = copy_sqlite(template_db, settings.home / "carepath.db")
    web_settings = replace(settings, database_url=url, web_secret=secrets.token_urlsafe(32),
                           web_url=WEB_URL)
    app = open_app(web_settings, clock, config=config)
    yield Clinic(app, dict(clinic_template.passwords), clinic_template.episode,
                 list(clinic_template.visits))
    app.engine.dispose()


@pytest.fixture
def therapist(clinic: Clinic) -> TestClient:
    return sign_in(client_for(clinic.app), "chen", clinic.passwords["chen"])


@pytest.fixture
def admin(clinic: Clinic) -> TestClient:
    return sign_in(client_for(clinic.app), "boss", clinic.passwords["boss"])
