"""The admin's board: patients (search, add), the outbox (retry the dead), runs, and whether
the configuration on disk checks out. Admins only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from carepath.errors import InputError
from carepath.services import App, clinic_views
from carepath.services.enrol_preview import preview_enrolment
from carepath.services.outbox import retry_dead
from carepath.services.patients import add_patient
from carepath.services.scheduling import enroll, therapist_leave

if TYPE_CHECKING:
    from carepath.web.app import Handler, Web

Guard = Callable[..., Callable[["Handler"], "Handler"]]
FormReader = Callable[[Request], Awaitable[dict[str, str] | None]]
EXPIRED = "That form had expired (or came from another site): nothing was changed."
PATIENT_FIELDS = ("id", "name", "email", "phone", "preferred_weekdays", "time_windows",
                  "heat_sensitive")


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(what, f"{text[:20]!r} is not a date", "write it as 2027-03-01") \
            from None


def routes(web: Web, signed_in: Guard, checked_form: FormReader) -> list[BaseRoute]:
    guard = signed_in(web, admin=True)

    async def board(request: Request) -> Response:
        query = ""
        if request.method == "POST":  # a search: names stay out of URLs (and their logs)
            form = await checked_form(request)
            if form is None:
                return web.problem(request, 403, EXPIRED)
            query = form.get("q", "")
        config = web.app.config
        return web.render(request, "admin.html.j2", board=clinic_views.admin_board(
            web.app, query),
            done=request.query_params.get("done", ""),
            pathways=sorted((p.id, p.name) for p in config.pathways.values()),
            therapists=sorted((t.id, t.name) for t in config.clinic.therapists))

    async def new_patient(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        acting: App = request.state.app
        fields: dict[str, str | None] = {k: (form.get(k, "").strip() or None)
                                         for k in PATIENT_FIELDS}
        fields["heat_sensitive"] = "yes" if form.get("heat_sensitive") else "no"
        _, new = add_patient(acting, fields)
        return RedirectResponse(f"/admin?done={'added' if new else 'updated'}", 303)

    async def import_csv(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        result = clinic_views.import_patients_text(request.state.app, form.get("csv", ""))
        return web.render(request, "imported.html.j2", 400 if result.problems else 200,
                          result=result)

    async def retry(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        retry_dead(request.state.app)
        return RedirectResponse("/admin?done=retried", 303)

    async def enrol_preview(request: Request) -> Response:
        q = await checked_form(request)  # posted: the patient's id stays out of the URL
        if q is None:
            return web.problem(request, 403, EXPIRED)
        preview = preview_enrolment(web.app, q.get("patient", "").strip(),
                                    q.get("pathway", ""), _day(q.get("start", ""), "start"),
                                    q.get("therapist") or None)
        return web.render(request, "enrol.html.j2", preview=preview, form=q)

    async def enrol(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        done = enroll(request.state.app, form.get("patient", ""), form.get("pathway", ""),
                      _day(form.get("start", ""), "start"),
                      therapist_id=form.get("therapist") or None, partial=True)
        return RedirectResponse(f"/episodes/{done.episode_id}", 303)

    async def leave_preview(request: Request) -> Response:
        q = request.query_params
        first, last = _day(q.get("first", ""), "first day"), _day(q.get("last", ""), "last day")
        affected = clinic_views.visits_in(web.app, q.get("therapist", ""), first, last)
        return web.render(request, "leave.html.j2", visits=affected, form=dict(q))

    async def leave(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        changes = therapist_leave(request.state.app, form.get("therapist", ""),
                                  _day(form.get("first", ""), "first day"),
                                  _day(form.get("last", ""), "last day"),
                                  form.get("reason", ""))
        return RedirectResponse(f"/admin?done=leave+entered,+{len(changes)}+visit(s)+moved",
                                303)

    return [
        Route("/admin", guard(board), methods=["GET", "POST"]),
        Route("/admin/enrol/preview", guard(enrol_preview), methods=["POST"]),
        Route("/admin/enrol", guard(enrol), methods=["POST"]),
        Route("/admin/leave", guard(leave_preview), methods=["GET"]),
        Route("/admin/leave", guard(leave), methods=["POST"]),
        Route("/admin/patients", guard(new_patient), methods=["POST"]),
        Route("/admin/patients/import", guard(import_csv), methods=["POST"]),
        Route("/admin/outbox/retry", guard(retry), methods=["POST"]),
    ]
