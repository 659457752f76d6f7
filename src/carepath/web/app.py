"""Routes and handlers. A handler: check who asks (role, CSRF), read the form, call one
service, render its result or redirect (303, so a reload never repeats a change)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.errors import CarepathError, InputError, InvalidTransition, NotFound
from carepath.services import App, accounts, clinic_views, self_service
from carepath.services.accounts import Session, TooManyAttempts, acting
from carepath.web import actions, admin_views
from carepath.web.security import (
    SESSION_COOKIE,
    FormTooLarge,
    SecurityHeaders,
    anonymous_csrf,
    clear_session_cookie,
    read_form,
    same,
    set_cookies,
    set_session_cookie,
)

HERE = Path(__file__).parent
Handler = Callable[[Request], Awaitable[Response]]


class Web:
    """The app's shared parts: the carepath ``App``, the templates, the cookie policy."""

    def __init__(self, app: App, *, secure_cookies: bool = True) -> None:
        self.app, self.secure = app, secure_cookies
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(default=True),
                                     undefined=StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True)
        self.templates.globals["clinic"] = app.config.clinic.name

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        session: Session | None = getattr(request.state, "session", None)
        csrf = session.csrf if session else anonymous_csrf(request)
        html = self.templates.get_template(name).render(
            user=session.user if session else None, csrf=csrf, path=request.url.path,
            **context)
        response = HTMLResponse(html, status_code=status)
        set_cookies(request, response, secure=self.secure)
        return response

    def problem(self, request: Request, status: int, message: str) -> Response:
        return self.render(request, "problem.html.j2", status, message=message)


def create_app(app: App, extra_mounts: Sequence[BaseRoute] = (), *,
               secure_cookies: bool = True, fhir: bool = True) -> Starlette:
    """The web app over ``app``. ``extra_mounts`` are added beside the pages (the FHIR API
    is mounted at ``/fhir`` unless ``fhir`` is False)."""
    web = Web(app, secure_cookies=secure_cookies)
    routes: list[BaseRoute] = [
        Route("/", _home(web)),
        Route("/login", _login_page(web), methods=["GET"]),
        Route("/login", _login(web), methods=["POST"]),
        Route("/logout", _signed_in(web)(_logout(web)), methods=["POST"]),
        Route("/static/app.css", _stylesheet),
        *actions.routes(web, _signed_in, _checked_form),
        *admin_views.routes(web, _signed_in, _checked_form),
        Route("/v/{token}", _visit_link(web), methods=["GET", "POST"]),
        Route("/feeds/{token}.ics", _feed(web)),
        *extra_mounts,
    ]
    if fhir:
        from carepath.fhir.api import create_api

        routes.append(Mount("/fhir", app=create_api(app)))
    starlette = Starlette(routes=routes)
    starlette.add_middleware(SecurityHeaders)
    return starlette


def from_environment() -> Starlette:
    """For ``uvicorn --factory carepath.web.app:from_environment``."""
    settings = Settings.from_env(os.environ)
    return create_app(open_app(settings))


# -- sign-in, guards ---------------------------------------------------------------------------

def _signed_in(web: Web, *, admin: bool = False) -> Callable[[Handler], Handler]:
    """Only for a live session (else to the sign-in page); ``admin`` pages refuse others."""

    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request) -> Response:
            session = accounts.session_of(web.app, request.cookies.get(SESSION_COOKIE, ""))
            if session is None:
                if request.method != "GET":
                    return web.problem(request, 403, "Your session has ended: sign in again.")
                return RedirectResponse("/login", 303)
            request.state.session = session
            request.state.app = acting(web.app, session.user.username)
            if admin and not session.user.is_admin:
                return web.problem(request, 403, "This page is for the clinic's admins.")
            try:
                return await handler(request)
            except FormTooLarge:
                return web.problem(request, 413, "That form was too large.")
            except NotFound as error:
                return web.problem(request, 404, str(error))
            except (InputError, InvalidTransition) as error:
                return web.problem(request, 400, str(error))
            except CarepathError as error:
                return web.problem(request, 409, str(error))
        return guarded

    return wrap


async def _checked_form(request: Request) -> dict[str, str] | None:
    """The form when its CSRF token matches the session's, else None (the caller refuses)."""
    form = await read_form(request)
    session: Session = request.state.session
    return form if same(form.get("csrf", ""), session.csrf) else None


def _home(web: Web) -> Handler:
    async def home(request: Request) -> Response:
        session = accounts.session_of(web.app, request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            return RedirectResponse("/login", 303)
        return RedirectResponse("/admin" if session.user.is_admin and not
                                session.user.therapist_id else "/day", 303)
    return home


def _login_page(web: Web) -> Handler:
    async def page(request: Request) -> Response:
        return web.render(request, "login.html.j2", error="")
    return page


def _login(web: Web) -> Handler:
    async def login(request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormTooLarge:
            return web.problem(request, 413, "That form was too large.")
        if not same(form.get("csrf", ""), request.cookies.get("carepath_csrf", "")):
            return web.problem(request, 403, "The sign-in form had expired: please try again.")
        try:
            session = accounts.sign_in(web.app, form.get("username", ""),
                                       form.get("password", ""))
        except TooManyAttempts:
            return web.render(request, "login.html.j2", 429,
                              error="Too many attempts. Wait 15 minutes, then try again.")
        if session is None:
            return web.render(request, "login.html.j2", 401,
                              error="That user name and password do not match.")
        response = RedirectResponse("/", 303)
        set_session_cookie(response, session.token, secure=web.secure)
        return response
    return login


def _logout(web: Web) -> Handler:
    async def logout(request: Request) -> Response:
        form = await _checked_form(request)
        if form is None:
            return web.problem(request, 403, "That form had expired: nothing was changed.")
        accounts.sign_out(web.app, request.state.session.token)
        response = RedirectResponse("/login", 303)
        clear_session_cookie(response, secure=web.secure)
        return response
    return logout


async def _stylesheet(request: Request) -> Response:
    return Response((HERE / "static" / "app.css").read_bytes(), media_type="text/css",
                    headers={"cache-control": "public, max-age=3600"})


# -- patients: links and feeds (no account) ---------------------------------------------------

def _visit_link(web: Web) -> Handler:
    async def visit(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            if request.method == "POST":
                form = await read_form(request)
                if not same(form.get("csrf", ""), request.cookies.get("carepath_csrf", "")):
                    return web.problem(request, 403,
                                       "That page had expired: open the link again.")
                patient = acting(web.app, "patient-link")  # audited as the patient's link
                if form.get("action") == "move":
                    link = self_service.move_by_link(patient, token, form.get("start", ""))
                else:
                    link = self_service.act_on_link(patient, token, form.get("action", ""))
            else:
                link = self_service.visit_link(web.app, token)
        except (FormTooLarge, InputError):
            return web.problem(request, 400, "That request was not understood.")
        status = 200 if link.state in ("open", "cancelled", "changed", "past") else 410 \
            if link.state == "expired" else 404
        return web.render(request, "visit_link.html.j2", status, link=link)
    return visit


def _feed(web: Web) -> Handler:
    async def feed(request: Request) -> Response:
        body = self_service.feed_calendar(web.app, request.path_params["token"])
        if body is None:
            return Response("This calendar address is not valid any more.\n", 404,
                            media_type="text/plain")
        return Response(body, media_type="text/calendar; charset=utf-8")
    return feed


def today(web: Web) -> date:
    return clinic_views.clinic_today(web.app)
