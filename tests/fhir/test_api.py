"""The FHIR read API through Starlette's TestClient: tokens, scopes, reads, paging."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from carepath.adapters.db import transaction
from carepath.adapters.tables import FhirTokenRow
from carepath.cli import app as cli_app
from carepath.demo import DemoResult
from carepath.errors import InputError
from carepath.fhir.api import TYPES, create_api
from carepath.fhir.tokens import create_token, revoke_token
from fhir_helpers import resources


@pytest.fixture(scope="module")
def client(lived: DemoResult) -> TestClient:
    return TestClient(create_api(lived.app))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def everything(lived: DemoResult) -> str:
    return create_token(lived.app, "test sync", ["system/*.read"], set(TYPES))


def r4b(resource: dict[str, Any]) -> Any:
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    return getattr(module, kind).model_validate(resource)


def test_metadata_is_a_capability_statement(client: TestClient) -> None:
    """/metadata answers without a token with an R4 CapabilityStatement naming every type."""
    answer = client.get("/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    statement = answer.json()
    r4b(statement)
    assert {r["type"] for r in statement["rest"][0]["resource"]} == set(TYPES)


def test_a_read_without_or_with_a_wrong_token_is_refused(client: TestClient,
                                                         bundle: dict[str, Any]) -> None:
    """401 with an OperationOutcome and WWW-Authenticate; no patient data in the answer."""
    patient = next(resources(bundle, "Patient"))
    for headers in ({}, bearer("cpf_not-a-token"), {"Authorization": "Basic abc"}):
        answer = client.get(f"/Patient/{patient['id']}", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert "Bearer" in answer.headers["www-authenticate"]
        assert patient["name"][0]["text"] not in answer.text


def test_a_read_returns_what_the_export_holds(client: TestClient, everything: str,
                                              bundle: dict[str, Any]) -> None:
    """GET /{type}/{id} gives the exported resource, for one of each type."""
    seen = set()
    for resource in resources(bundle):
        kind = resource["resourceType"]
        if kind in seen:
            continue
        seen.add(kind)
        answer = client.get(f"/{kind}/{resource['id']}", headers=bearer(everything))
        assert answer.status_code == 200, (kind, answer.text)
        assert answer.json() == resource
    assert len(seen) == 15
    missing = client.get("/Observation/obs-99999999", headers=bearer(everything))
    assert missing.status_code == 404


def test_a_scope_limits_the_types_a_token_reads(lived: DemoResult, client: TestClient,
                                                bundle: dict[str, Any]) -> None:
    """system/Observation.read reads Observations, not Patients (403)."""
    token = create_token(lived.app, "outcomes", ["system/Observation.read"], set(TYPES))
    observation = next(resources(bundle, "Observation"))
    patient = observation["subject"]["reference"]
    assert client.get(f"/Observation/{observation['id']}", headers=bearer(token)).status_code \
        == 200
    refused = client.get(f"/{patient}", headers=bearer(token))
    assert refused.status_code == 403 and "system/Patient.read" in refused.text


def test_search_by_patient_pages_with_next_links_through_every_match(
        client: TestClient, everything: str, bundle: dict[str, Any],
        lived: DemoResult) -> None:
    """?patient=…&_count=3: following next links yields exactly the patient's Observations."""
    patient = f"Patient/{lived.story.stalling_patient}"
    expected = [r["id"] for r in resources(bundle, "Observation")
                if r["subject"]["reference"] == patient]
    assert len(expected) > 3
    url: str | None = f"/Observation?patient={lived.story.stalling_patient}&_count=3"
    got: list[str] = []
    pages = 0
    while url:
        page = client.get(url, headers=bearer(everything)).json()
        r4b(page)
        assert page["type"] == "searchset" and len(page["entry"]) <= 3
        got += [e["resource"]["id"] for e in page["entry"]]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        pages += 1
    assert got == expected
    assert pages == -(-len(expected) // 3)


def test_search_without_a_patient_or_with_bad_paging_is_a_clear_400(
        client: TestClient, everything: str) -> None:
    """A patient-bound type needs ?patient=; _count must be 1–500."""
    for url in ("/Observation", "/Patient?_count=0", "/Patient?_count=x"):
        answer = client.get(url, headers=bearer(everything))
        assert answer.status_code == 400, url
        assert answer.json()["issue"][0]["severity"] == "error"


def test_a_revoked_token_is_refused_and_only_hashes_are_stored(
        lived: DemoResult, client: TestClient) -> None:
    """The database holds no token text; revoking stops the next request."""
    token = create_token(lived.app, "short-lived", ["system/*.read"], set(TYPES))
    assert client.get("/Organization/clinic", headers=bearer(token)).status_code == 200
    with transaction(lived.app.engine) as session:
        rows = session.exec(select(FhirTokenRow)).all()
    assert all(token not in (r.token_hash + r.scopes + r.name) for r in rows)
    revoke_token(lived.app, max(r.id or 0 for r in rows))
    assert client.get("/Organization/clinic", headers=bearer(token)).status_code == 401


def test_an_unknown_scope_is_refused_with_the_fix(lived: DemoResult) -> None:
    """A typo in a scope stops the command and lists the types."""
    with pytest.raises(InputError, match="Observation"):
        create_token(lived.app, "typo", ["system/Obsrvation.read"], set(TYPES))


def test_the_token_command_prints_the_token_once(lived: DemoResult, tmp_path: Any) -> None:
    """carepath fhir token create prints a cpf_ token; token list never shows it."""
    env = {"CAREPATH_HOME": str(tmp_path / "home"), "COLUMNS": "240",
           "CAREPATH_CONFIG_DIR": str(lived.app.settings.config_dir)}
    runner = CliRunner()
    made = runner.invoke(cli_app, ["fhir", "token", "create", "--scope", "system/*.read",
                                   "--name", "ehr"], env=env)
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("cpf_") and len(token) > 40
    listed = runner.invoke(cli_app, ["fhir", "token", "list"], env=env)
    assert "ehr" in listed.output and token not in listed.output
