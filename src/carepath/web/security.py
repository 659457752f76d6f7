"""Response headers every page carries, cookies, CSRF tokens and form reading.

The content security policy allows no inline script at all (the pages need none), styles
and images only from the app itself (charts are inline SVG, drawn with attributes), and no
framing. Forms carry a CSRF token: the session's own when signed in, otherwise the value of
a strict same-site cookie repeated in the form (sign-in and patient links).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "carepath_session"
CSRF_COOKIE = "carepath_csrf"
MAX_FORM_BYTES = 64 * 1024

HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # a patient link's token never leaves in a Referer
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",  # pages hold patient data: no copy in shared caches
}


class SecurityHeaders:
    """Pure ASGI middleware adding ``HEADERS`` to every HTTP response (the FHIR API too),
    without overriding a header a response set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items()
                         if k.encode() not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, add_headers)


class FormTooLarge(Exception):
    pass


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form as single values (the last of repeated names); large bodies are
    refused before parsing."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge()
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in parsed.items()}


def same(given: str, expected: str) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(given, expected)


def anonymous_csrf(request: Request) -> str:
    """The double-submit token of a visitor without a session (made when missing)."""
    existing = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if existing:
        return str(existing)
    request.state.new_csrf = secrets.token_urlsafe(24)
    return str(request.state.new_csrf)


def set_cookies(request: Request, response: Response, *, secure: bool) -> None:
    """Hand out the anonymous CSRF cookie made while rendering this response."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, secure=secure, samesite="strict")


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, secure=secure, samesite="lax",
                        max_age=12 * 3600)


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=secure, samesite="lax")
