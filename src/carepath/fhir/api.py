"""The FHIR read API: a standalone Starlette app, mounted by the web app at ``/fhir``.

``GET /metadata`` (a CapabilityStatement, open as FHIR servers publish it),
``GET /{type}/{id}`` and ``GET /{type}?patient=…`` with ``_count`` paging and ``next``
links; every resource read needs ``Authorization: Bearer <token>`` with a scope for that
type (``carepath fhir token create``). Resources are built by the same mappers as the
export, from the same reads, so the API and a bundle never disagree. Errors are
OperationOutcomes; a patient's name or MRN never appears in one.

``create_api(app)`` builds it for a running carepath; ``from_environment`` is a factory
for ``uvicorn --factory carepath.fhir.api:from_environment``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from carepath.adapters.db import transaction
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    EscalationRow,
    GoalRow,
    MeasurementRow,
    OutboxRow,
    PatientRow,
)
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.fhir import mappers, store, tokens
from carepath.services import App
from carepath.services.booking_store import clinic_zone
from carepath.services.patients import from_row

Json = dict[str, Any]
FHIR_JSON = "application/fhir+json"
CLINIC_TYPES = ("Organization", "Location", "Device", "Practitioner", "PractitionerRole",
                "HealthcareService", "PlanDefinition")
PATIENT_TYPES = ("Patient", "EpisodeOfCare", "CarePlan", "Goal", "Appointment", "Observation",
                 "Flag", "Communication")
TYPES = CLINIC_TYPES + PATIENT_TYPES
DEFAULT_COUNT, MAX_COUNT = 50, 500


class _Refusal(Exception):
    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


def outcome(status: int, code: str, text: str) -> JSONResponse:
    body = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
    headers = {"WWW-Authenticate": 'Bearer realm="carepath-fhir"'} if status == 401 else {}
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def create_api(app: App) -> Starlette:
    """The API over ``app`` (its engine, config and clock)."""

    def metadata(request: Request) -> JSONResponse:
        return JSONResponse(capability_statement(app), media_type=FHIR_JSON)

    def read(request: Request) -> JSONResponse:
        kind, ident = request.path_params["type"], request.path_params["id"]
        try:
            _authorise(app, request, kind)
            found = read_resource(app, kind, ident)
        except _Refusal as refusal:
            return outcome(refusal.status, refusal.code, refusal.text)
        if found is None:
            return outcome(404, "not-found", f"{kind}/{ident} is not here")
        return JSONResponse(found, media_type=FHIR_JSON)

    def search(request: Request) -> JSONResponse:
        kind = request.path_params["type"]
        try:
            _authorise(app, request, kind)
            count, offset = _paging(request)
            matches = search_resources(app, kind, request.query_params.get("patient"))
            page = _page(matches, offset, count + 1)
        except _Refusal as refusal:
            return outcome(refusal.status, refusal.code, refusal.text)
        return JSONResponse(searchset(request, page[:count], offset, count,
                                      more=len(page) > count), media_type=FHIR_JSON)

    return Starlette(routes=[Route("/metadata", metadata), Route("/{type}", search),
                             Route("/{type}/{id}", read)])


def from_environment() -> Starlette:
    return create_api(open_app(Settings.from_env(os.environ)))


def _authorise(app: App, request: Request, kind: str) -> None:
    if kind not in TYPES:
        raise _Refusal(404, "not-supported", f"{kind[:40]} is not served here "
                       f"(types: {', '.join(TYPES)})")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Refusal(401, "login", "an API token is required: Authorization: Bearer <token>")
    scopes = tokens.scopes_of(app, token.strip())
    if scopes is None:
        raise _Refusal(401, "login", "the token is unknown or revoked")
    if not tokens.allows(scopes, kind):
        raise _Refusal(403, "forbidden", f"the token has no scope for {kind} "
                       f"(system/{kind}.read or system/*.read)")


def _paging(request: Request) -> tuple[int, int]:
    try:
        count = int(request.query_params.get("_count", DEFAULT_COUNT))
        offset = int(request.query_params.get("_offset", 0))
    except ValueError:
        raise _Refusal(400, "invalid", "_count and _offset are whole numbers") from None
    if not 1 <= count <= MAX_COUNT or offset < 0:
        raise _Refusal(400, "invalid", f"_count is 1–{MAX_COUNT}, _offset at least 0")
    return count, offset


def _page(items: Iterator[Json], offset: int, limit: int) -> list[Json]:
    page = []
    for n, item in enumerate(items):
        if n >= offset + limit:
            break
        if n >= offset:
            page.append(item)
    return page


def searchset(request: Request, page: list[Json], offset: int, count: int, *,
              more: bool) -> Json:
    def link(at: int) -> str:
        query = {k: v for k, v in request.query_params.items() if k != "_offset"}
        return f"{request.url.replace(query=urlencode({**query, '_count': count, '_offset': at}))}"

    links = [{"relation": "self", "url": link(offset)}]
    if more:
        links.append({"relation": "next", "url": link(offset + count)})
    base = str(request.base_url).rstrip("/")
    return {"resourceType": "Bundle", "type": "searchset", "link": links,
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in page]}


# -- reads ------------------------------------------------------------------------------------

def read_resource(app: App, kind: str, ident: str) -> Json | None:
    with transaction(app.engine) as session:
        if kind in CLINIC_TYPES:
            return _find(_clinic(app, session), kind, ident)
        patient_id = _owner(session, kind, ident)
        if patient_id is None:
            return None
        return _find(store.patient_resources(session, app.config, clinic_zone(app),
                                             [patient_id]), kind, ident)


def search_resources(app: App, kind: str, patient: str | None) -> Iterator[Json]:
    with transaction(app.engine) as session:
        if kind in CLINIC_TYPES:
            yield from (r for r in _clinic(app, session) if r["resourceType"] == kind)
            return
        if patient is None and kind == "Patient":
            for row in session.exec(select(PatientRow).order_by(col(PatientRow.id))):
                yield mappers.patient(from_row(row))
            return
        if patient is None:
            raise _Refusal(400, "required", f"search {kind} by patient: ?patient=<id>")
        patient_id = patient.removeprefix("Patient/")
        if session.get(PatientRow, patient_id) is None:
            return
        yield from (r for r in store.patient_resources(session, app.config, clinic_zone(app),
                                                       [patient_id])
                    if r["resourceType"] == kind)


def _clinic(app: App, session: Session) -> list[Json]:
    return store.clinic_resources(app.config, store.pathway_versions(session))


def _find(items: Any, kind: str, ident: str) -> Json | None:
    return next((r for r in items if r["resourceType"] == kind and r["id"] == ident), None)


def _number(ident: str, prefix: str) -> int | None:
    rest = ident.removeprefix(prefix)
    return int(rest) if ident.startswith(prefix) and rest.isdigit() and len(rest) < 19 else None


def _owner(session: Session, kind: str, ident: str) -> str | None:
    """The patient whose record holds ``kind/ident``, from the row its id names."""
    if kind == "Patient":
        return ident if session.get(PatientRow, ident) is not None else None
    prefixes = {"EpisodeOfCare": "ep-", "CarePlan": "cp-", "Goal": "goal-",
                "Appointment": "ap-", "Observation": "obs-", "Flag": "esc-",
                "Communication": "msg-"}
    number = _number(ident, prefixes[kind])
    if number is None:
        return None
    if kind in ("EpisodeOfCare", "CarePlan"):
        episode = session.get(EpisodeRow, number)
        return episode.patient_id if episode else None
    if kind == "Appointment":
        visit = session.get(AppointmentRow, number)
        return visit.patient_id if visit else None
    if kind == "Communication":
        return _message_owner(session, number)
    row: GoalRow | MeasurementRow | EscalationRow | None = (
        session.get(GoalRow, number) if kind == "Goal" else
        session.get(MeasurementRow, number) if kind == "Observation" else
        session.get(EscalationRow, number))
    episode = session.get(EpisodeRow, row.episode_id) if row is not None else None
    return episode.patient_id if episode else None


def _message_owner(session: Session, number: int) -> str | None:
    message = session.get(OutboxRow, number)
    if message is None:
        return None
    owner = session.exec(select(PatientRow.id).where(
        (col(PatientRow.email) == message.recipient)
        | (col(PatientRow.caregiver_email) == message.recipient))).first()
    return owner


def capability_statement(app: App) -> Json:
    resources = [{"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}],
                  "searchParam": ([{"name": "patient", "type": "reference"}]
                                  if kind in PATIENT_TYPES and kind != "Patient" else [])}
                 for kind in TYPES]
    return {"resourceType": "CapabilityStatement", "id": "carepath", "status": "active",
            "date": mappers.instant(app.clock.now(), clinic_zone(app)), "kind": "instance",
            "software": {"name": "carepath"},
            "implementation": {"description": f"{app.config.clinic.name}: carepath FHIR API"},
            "fhirVersion": "4.0.1", "format": ["application/fhir+json"],
            "rest": [{"mode": "server", "security": {
                "description": "Bearer token from `carepath fhir token create`; SMART system "
                               "scopes system/<Type>.read or system/*.read"},
                "resource": resources}]}
