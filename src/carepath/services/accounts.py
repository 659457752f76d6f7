"""Web app accounts: logins (argon2id hashes), server-side sessions, failed sign-in counting.

A session cookie holds a random token; the database keeps only its SHA-256, so a copy of
the database signs nobody in. Signing in always creates a new session (no fixation), and
five failed attempts for one user name within fifteen minutes refuse the next ones until
the window has passed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, delete, func, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import WebLoginAttemptRow, WebSessionRow, WebUserRow
from carepath.domain.messages.links import token_hash
from carepath.errors import InputError
from carepath.services import App

ROLES = ("admin", "therapist")
SESSION_LIFETIME = timedelta(hours=12)
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5
MIN_PASSWORD = 12
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the user name is unknown, so both cases take the same time;
    made at the first sign-in, not at import (an argon2 hash is a seventh of a second)."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    therapist_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Session:
    token: str  # goes into the cookie only
    csrf: str
    user: User


class TooManyAttempts(Exception):
    """Sign-in refused without checking the password: too many recent failures."""


def acting(app: App, username: str) -> App:
    """``app`` whose audit entries name ``username`` (prefixed ``web:``) as the actor."""
    return replace(app, settings=replace(app.settings, actor=f"web:{username}"))


def _user(row: WebUserRow) -> User:
    assert row.id is not None
    return User(row.id, row.username, row.role, row.therapist_id)


def add_user(app: App, username: str, password: str, *, role: str,
             therapist_id: str | None = None) -> User:
    """Create a login. Therapists are tied to a therapist of the config (their day)."""
    name = username.strip().lower()
    if not name or len(name) > 64 or not name.replace(".", "").replace("-", "").replace(
            "_", "").isalnum():
        raise InputError("user name", f"{username!r} is not usable",
                         "use letters, digits, dots, dashes (up to 64)")
    if role not in ROLES:
        raise InputError("--role", f"{role!r} is not one of {', '.join(ROLES)}")
    if role == "therapist" and not therapist_id:
        raise InputError("--therapist", "a therapist login names its therapist",
                         "add --therapist <id> (see clinic.yaml)")
    if therapist_id:
        app.config.therapist(therapist_id)  # NotFound names the fix
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"shorter than {MIN_PASSWORD} characters",
                         "choose a longer passphrase")
    with transaction(app.engine) as session:
        if session.exec(select(WebUserRow).where(WebUserRow.username == name)).first():
            raise InputError("user name", f"{name!r} exists already", "pick another name")
        row = WebUserRow(username=name, password_hash=_hasher.hash(password), role=role,
                         therapist_id=therapist_id,
                         created_at=app.clock.now())
        session.add(row)
        session.flush()
        app.audit(session, "user.add", "web_user", name, role=role, therapist=therapist_id)
        return _user(row)


def sign_in(app: App, username: str, password: str) -> Session | None:
    """A new session for the right password; None for a wrong one (counted)."""
    name = username.strip().lower()[:64]
    now = app.clock.now()
    with transaction(app.engine) as session:
        failures = session.exec(select(func.count()).select_from(WebLoginAttemptRow).where(
            WebLoginAttemptRow.username == name,
            col(WebLoginAttemptRow.at) > now - ATTEMPT_WINDOW)).one()
        if failures >= MAX_FAILURES:
            raise TooManyAttempts(name)
        row = session.exec(select(WebUserRow).where(WebUserRow.username == name,
                                                    col(WebUserRow.disabled_at).is_(None))
                           ).first()
        if not _verify(row.password_hash if row else _dummy_hash(), password) or row is None:
            session.add(WebLoginAttemptRow(username=name, at=now))
            app.audit(session, "user.sign_in_failed", "web_user", name)
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        session.add(WebSessionRow(token_hash=token_hash(token), user_id=row.id or 0, csrf=csrf,
                                  created_at=now, expires_at=now + SESSION_LIFETIME))
        session.exec(delete(WebSessionRow).where(col(WebSessionRow.expires_at) <= now))
        acting(app, name).audit(session, "user.sign_in", "web_user", name)
        return Session(token, csrf, _user(row))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def session_of(app: App, token: str) -> Session | None:
    """The live session a cookie names, or None (unknown, expired, or its user disabled)."""
    if not token or len(token) > 100:
        return None
    with transaction(app.engine) as session:
        found = session.get(WebSessionRow, token_hash(token))
        if found is None or found.expires_at <= app.clock.now():
            return None
        user = session.get(WebUserRow, found.user_id)
        if user is None or user.disabled_at is not None:
            return None
        return Session(token, found.csrf, _user(user))


def sign_out(app: App, token: str) -> None:
    """End the session: the cookie's token is worthless from now on."""
    with transaction(app.engine) as session:
        session.exec(delete(WebSessionRow).where(
            col(WebSessionRow.token_hash) == token_hash(token)))


def list_users(app: App) -> list[User]:
    with transaction(app.engine) as session:
        return [_user(r) for r in session.exec(select(WebUserRow).order_by(
            col(WebUserRow.username)))]
