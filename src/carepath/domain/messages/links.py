"""Signed links a patient follows without an account, and secret calendar feed tokens.

A visit link carries the appointment's id, its iCalendar SEQUENCE and an expiry, signed with
HMAC-SHA256 under the clinic's web secret. It names no patient data. The SEQUENCE rises on
every change of the visit, so a link used to cancel (or sent before a move) no longer
matches: a replayed link changes nothing and says so. Pure: the caller passes the time.

A feed token is derived from the secret, the owner and a generation the database keeps;
rotating the generation retires the old address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Problem = Literal["invalid", "expired"]


@dataclass(frozen=True)
class VisitClaim:
    """What a valid visit link says: which visit, as it stood when the link was made."""

    appointment_id: int
    sequence: int
    expires: datetime


class LinkRefused(Exception):
    """The link was altered, made with another secret, or has expired."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.problem = problem


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{payload}".encode(), hashlib.sha256)
    return _b64(digest.digest()[:20])


def visit_token(secret: str, appointment_id: int, sequence: int, expires: datetime) -> str:
    """A link token for one visit, valid until ``expires`` (aware)."""
    payload = _b64(f"{appointment_id}.{sequence}.{int(expires.timestamp())}".encode())
    return f"{payload}.{_mac(secret, 'visit', payload)}"


def read_visit_token(secret: str, token: str, now: datetime) -> VisitClaim:
    """The claim of a token made by ``visit_token``; ``LinkRefused`` when altered or expired."""
    payload, _, mac = token.partition(".")
    if len(token) > 200 or not mac or not hmac.compare_digest(
            mac, _mac(secret, "visit", payload)):
        raise LinkRefused("invalid")
    try:
        ident, sequence, expires = (int(p) for p in _unb64(payload).decode().split("."))
    except (ValueError, UnicodeDecodeError):
        raise LinkRefused("invalid") from None
    claim = VisitClaim(ident, sequence, datetime.fromtimestamp(expires, UTC))
    if now >= claim.expires:
        raise LinkRefused("expired")
    return claim


def feed_token(secret: str, owner_kind: str, owner_id: str, generation: int) -> str:
    """The secret part of a calendar feed address; a new generation gives a new address."""
    return _mac(secret, "feed", f"{owner_kind}\x00{owner_id}\x00{generation}")


def token_hash(token: str) -> str:
    """What the database keeps of a bearer secret (a session, a feed): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()
