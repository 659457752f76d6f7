"""The admin's board: patients (search, add), the outbox (retry the dead), runs, and whether
the configuration on disk checks out. Admins only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from carepath.services import App, clinic_views
from carepath.services.outbox import retry_dead
from carepath.services.patients import add_patient

if TYPE_CHECKING:
    from carepath.web.app import Handler, Web

Guard = Callable[..., Callable[["Handler"], "Handler"]]
FormReader = Callable[[Request], Awaitable[dict[str, str] | None]]
EXPIRED = "That form had expired (or came from another site): nothing was changed."
PATIENT_FIELDS = ("id", "name", "email", "phone", "preferred_weekdays", "time_windows",
                  "heat_sensitive")


def routes(web: Web, signed_in: Guard, checked_form: FormReader) -> list[BaseRoute]:
    guard = signed_in(web, admin=True)

    async def board(request: Request) -> Response:
        return web.render(request, "admin.html.j2", board=clinic_views.admin_board(
            web.app, request.query_params.get("q", "")),
            done=request.query_params.get("done", ""))

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

    async def retry(request: Request) -> Response:
        form = await checked_form(request)
        if form is None:
            return web.problem(request, 403, EXPIRED)
        retry_dead(request.state.app)
        return RedirectResponse("/admin?done=retried", 303)

    return [
        Route("/admin", guard(board)),
        Route("/admin/patients", guard(new_patient), methods=["POST"]),
        Route("/admin/outbox/retry", guard(retry), methods=["POST"]),
    ]
