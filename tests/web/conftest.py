"""The web app over a fresh SQLite database with the example config and a fixed clock
(Monday 2027-03-01, 07:00 in New York): two logins, a patient with visits today."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, time

import pytest
from starlette.testclient import TestClient

from carepath.adapters.clock import FixedClock
from carepath.domain.config import Config
from carepath.services import App
from carepath.services.accounts import add_user
from carepath.settings import Settings
from carepath.web import create_app
from goal_helpers import active_episode, visit

WEB_URL = "https://care.example.org"


@dataclass
class Clinic:
    app: App
    passwords: dict[str, str]
    episode: int
    visits: list[int]


@pytest.fixture
def clinic(settings: Settings, config: Config, clock: FixedClock) -> Iterator[Clinic]:
    web_settings = replace(settings, web_secret=secrets.token_urlsafe(32), web_url=WEB_URL)
    app = App.open(web_settings, clock, config=config)
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


def client_for(app: App) -> TestClient:
    return TestClient(create_app(app, fhir=False), base_url="https://testserver",
                      follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str) -> TestClient:
    page = client.get("/login")
    response = client.post("/login", data={"csrf": csrf_of(page.text), "username": username,
                                           "password": password})
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def therapist(clinic: Clinic) -> TestClient:
    return sign_in(client_for(clinic.app), "chen", clinic.passwords["chen"])


@pytest.fixture
def admin(clinic: Clinic) -> TestClient:
    return sign_in(client_for(clinic.app), "boss", clinic.passwords["boss"])
