"""The web app over a fresh SQLite database with the example config and a fixed clock
(Monday 2027-03-01, 07:00 in New York): two logins, a patient with visits today."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, time

import pytest
from starlette.testclient import TestClient
from web_support import WEB_URL, Clinic, client_for, sign_in

from carepath.adapters.clock import FixedClock
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.services.accounts import add_user
from goal_helpers import active_episode, visit


@pytest.fixture
def clinic(settings: Settings, config: Config, clock: FixedClock) -> Iterator[Clinic]:
    web_settings = replace(settings, web_secret=secrets.token_urlsafe(32), web_url=WEB_URL)
    app = open_app(web_settings, clock, config=config)
    passwords = {name: secrets.token_urlsafe(16) for name in ("chen", "boss")}
    add_user(app, "chen", passwords["chen"], role="therapist", therapist_id="chen")
    add_user(app, "boss", passwords["boss"], role="admin")
    episode = active_episode(app)
    visits = [visit(app, episode, date(2027, 3, 1), "evaluation", status="booked",
                    at=time(10, 0)),
              visit(app, episode, date(2027, 3, 3), "strength-balance", status="booked",
                    at=time(10, 0))]
    yield Clinic(app, passwords, episode, visits)
    app.engine.dispose()


@pytest.fixture
def therapist(clinic: Clinic) -> TestClient:
    return sign_in(client_for(clinic.app), "chen", clinic.passwords["chen"])


@pytest.fixture
def admin(clinic: Clinic) -> TestClient:
    return sign_in(client_for(clinic.app), "boss", clinic.passwords["boss"])
