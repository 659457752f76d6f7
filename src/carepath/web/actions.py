"""The therapist's pages: My day, visits (complete, no-show), episodes (measurements, two-hour
reports), the escalations inbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from carepath.errors import InputError
from carepath.services import App, clinic_views
from carepath.services.scheduling_changes import complete, no_show
from carepath.web import clinical

if TYPE_CHECKING:
    from carepath.web.app import Handler, Web

Guard = Callable[..., Callable[["Handler"], "Handler"]]
FormReader = Callable[[Request], Awaitable[dict[str, str] | None]]
EXPIRED = "That form had expired (or came from another site): nothing was changed."


def _number(text: str, what: str) -> int:
    if not text.isdigit() or len(text) > 12:
        raise InputError(what, f"{text[:20]!r} is not a number")
    return int(text)


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("day", f"{text[:20]!r} is not a date", "write it as 2027-03-01") \
            from None


def routes(web: Web, signed_in: Guard, checked_form: FormReader) -> list[BaseRoute]:
    guard = signed_in(web)

    def app_of(request: Request) -> App:
        acting: App = request.state.app
        return acting

    async def day(request: Request) -> Response:
        user = request.state.session.user
        therapist = request.query_params.get("therapist") if user.is_admin else None
        therapist = therapist or user.therapist_id
        if not therapist:
            return web.problem(request, 404, "This login has no therapist's day: "
                               "open the admin board instead.")
        day = _day(request.query_params.get("day", ""))
        page = clinic_views.therapist_day(web.app, therapist, day)
        return web.render(request, "day.html.j2", day=page,
                          other=f"&therapist={therapist}" if user.is_admin else "",
                          earlier=page.today - timedelta(days=7),
                          later=page.today + timedelta(days=7),
                          is_today=page.today == clinic_views.clinic_today(web.app))

    async def visit_status(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        visit = _number(request.path_params["id"], "visit")
        changes = {"complete": complete, "no-show": no_show}
        if request.path_params["event"] not in changes:
            return web.problem(request, 404, "There is no such action.")
        user = request.state.session.user
        if not user.is_admin and clinic_views.therapist_of_visit(web.app, visit) \
                != user.therapist_id:
            return web.problem(request, 403, "This visit is in another therapist's diary.")
        changes[request.path_params["event"]](app_of(request), visit)
        return RedirectResponse("/day", 303)

    async def episode(request: Request) -> Response:
        page = clinic_views.episode_page(web.app, _number(request.path_params["id"], "episode"))
        return web.render(request, "episode.html.j2", episode=page, recorded=None)

    async def measurement(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        episode_id = _number(request.path_params["id"], "episode")
        visit = form.get("visit", "")
        recorded = clinical.record(app_of(request), episode_id, form.get("measure", ""),
                                   form.get("value", "").strip(),
                                   _number(visit, "visit") if visit else None)
        return web.render(request, "recorded.html.j2", episode_id=episode_id,
                          recorded=recorded, measure=form.get("measure", ""))

    async def recovery(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        episode_id = _number(request.path_params["id"], "episode")
        if form.get("recovered") not in ("yes", "no"):
            raise InputError("recovered", "answer yes or no")
        clinical.two_hour_report(app_of(request), episode_id, form["recovered"] == "yes")
        return RedirectResponse(f"/episodes/{episode_id}#two-hour", 303)

    async def inbox(request: Request) -> Response:
        user = request.state.session.user
        items = clinic_views.open_escalations(web.app, None if user.is_admin else
                                              user.therapist_id)
        return web.render(request, "escalations.html.j2", items=items,
                          done=request.query_params.get("done", ""))

    async def escalation(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        ident, action = _number(request.path_params["id"], "escalation"), \
            request.path_params["action"]
        acting, reason = app_of(request), form.get("reason", "").strip()
        if action == "accept":
            clinical.accept(acting, ident)
        elif action == "dismiss":
            if not reason:
                raise InputError("reason", "a dismissal needs its reason",
                                 "say why no action is needed")
            clinical.dismiss(acting, ident, reason)
        elif action == "resolve":
            clinical.resolve(acting, ident, reason)
        else:
            return web.problem(request, 404, "There is no such action.")
        return RedirectResponse(f"/escalations?done={action}", 303)

    async def accept_page(request: Request) -> Response:
        ident = _number(request.path_params["id"], "escalation")
        return web.render(request, "accept.html.j2", escalation=ident,
                          preview=clinical.accept_preview(web.app, ident))

    return [
        Route("/day", guard(day)),
        Route("/escalations/{id}/accept", guard(accept_page), methods=["GET"]),
        Route("/visits/{id}/{event:str}", guard(visit_status), methods=["POST"]),
        Route("/episodes/{id}", guard(episode)),
        Route("/episodes/{id}/measurements", guard(measurement), methods=["POST"]),
        Route("/episodes/{id}/two-hour", guard(recovery), methods=["POST"]),
        Route("/escalations", guard(inbox)),
        Route("/escalations/{id}/{action:str}", guard(escalation), methods=["POST"]),
    ]
