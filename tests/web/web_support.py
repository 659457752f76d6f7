"""Helpers of the web tests: the clinic they run against, a client, sign-in, form tokens.

(Kept out of conftest.py so that test modules import them by a name no other folder uses.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.testclient import TestClient

from carepath.services import App
from carepath.web import create_app

WEB_URL = "https://care.example.org"


@dataclass
class Clinic:
    app: App
    passwords: dict[str, str]
    episode: int
    visits: list[int]


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
