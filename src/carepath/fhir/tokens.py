"""API tokens for the FHIR read API: created by a command, shown once, stored as a hash.

A token is 32 random bytes (URL-safe base64), so a plain SHA-256 of it is enough to store
(no password stretching is needed for a secret nobody chose). Scopes follow SMART on
FHIR's system scopes: ``system/Patient.read``, ``system/*.read``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlmodel import col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import FhirTokenRow
from carepath.errors import InputError, NotFound
from carepath.services import App

PREFIX = "cpf_"  # recognisable in a leaked log or a secret scanner
_SCOPE = re.compile(r"^system/([A-Z][A-Za-z]+|\*)\.read$")


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    scopes: tuple[str, ...]
    revoked: bool


def digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_scopes(scopes: list[str], known_types: set[str]) -> tuple[str, ...]:
    if not scopes:
        raise InputError("--scope", "at least one is required",
                         "e.g. --scope 'system/*.read' or --scope system/Observation.read")
    for scope in scopes:
        found = _SCOPE.match(scope)
        if not found or (found.group(1) != "*" and found.group(1) not in known_types):
            raise InputError(f"--scope {scope[:60]!r}", "is not a read scope of this API",
                             f"use system/*.read or system/<Type>.read with Type one of "
                             f"{', '.join(sorted(known_types))}")
    return tuple(sorted(set(scopes)))


def create_token(app: App, name: str, scopes: list[str], known_types: set[str]) -> str:
    """A new token; the only time its text exists outside the caller is this return value."""
    checked = check_scopes(scopes, known_types)
    if not name.strip() or len(name) > 100:
        raise InputError("--name", "required, at most 100 characters", "name who uses it")
    token = PREFIX + secrets.token_urlsafe(32)
    with transaction(app.engine) as session:
        row = FhirTokenRow(name=name.strip(), scopes=" ".join(checked), token_hash=digest(token),
                           created_at=app.clock.now())
        session.add(row)
        session.flush()
        app.audit(session, "fhir.token.create", "fhir_token", row.id, scopes=list(checked))
    return token


def scopes_of(app: App, token: str) -> tuple[str, ...] | None:
    """The scopes of a live token, or None (unknown or revoked)."""
    with transaction(app.engine) as session:
        row = session.exec(select(FhirTokenRow).where(
            FhirTokenRow.token_hash == digest(token))).first()
        if row is None or row.revoked_at is not None:
            return None
        return tuple(row.scopes.split())


def allows(scopes: tuple[str, ...], resource_type: str) -> bool:
    return "system/*.read" in scopes or f"system/{resource_type}.read" in scopes


def list_tokens(app: App) -> list[TokenInfo]:
    with transaction(app.engine) as session:
        return [TokenInfo(r.id or 0, r.name, tuple(r.scopes.split()), r.revoked_at is not None)
                for r in session.exec(select(FhirTokenRow).order_by(col(FhirTokenRow.id)))]


def revoke_token(app: App, token_id: int) -> None:
    with transaction(app.engine) as session:
        row = session.get(FhirTokenRow, token_id)
        if row is None:
            raise NotFound("FHIR token", token_id, "list them with: carepath fhir token list")
        if row.revoked_at is None:
            row.revoked_at = app.clock.now()
            session.add(row)
            app.audit(session, "fhir.token.revoke", "fhir_token", token_id)
