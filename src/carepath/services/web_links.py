"""The web app's addresses that emails carry: a visit's self-service link and a patient's
calendar feed. Both exist only when ``CAREPATH_WEB_URL`` and ``CAREPATH_WEB_SECRET`` are set;
otherwise emails leave them out. Kept apart from the pages' services so that messaging can
import it without the scheduling use cases."""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session

from carepath.adapters.tables import CalendarFeedRow
from carepath.domain.messages.links import feed_token, token_hash, visit_token
from carepath.domain.messages.notices import ManageLink
from carepath.domain.messages.visits import CalendarVisit
from carepath.errors import InputError
from carepath.services import App

FeedKind = Literal["patient", "therapist"]


def web_secret(app: App) -> str:
    if not app.settings.web_secret:
        raise InputError("CAREPATH_WEB_SECRET", "is not set",
                         "set it to a random value of 32+ characters (see the manual's "
                         "configuration page)")
    return app.settings.web_secret


def manage_url(app: App, visit: CalendarVisit) -> str | None:
    """The visit's self-service address, valid until it starts; None without the web app."""
    if not (app.settings.web_url and app.settings.web_secret):
        return None
    a = visit.appointment
    if a.status != "booked":
        return None
    token = visit_token(app.settings.web_secret, a.id, a.sequence, a.start)
    return f"{app.settings.web_url}/v/{token}"


def links_of(app: App) -> ManageLink | None:
    """The per-visit link maker emails use, or None when the web app is not reachable."""
    if not (app.settings.web_url and app.settings.web_secret):
        return None
    return lambda visit: manage_url(app, visit)


def feed_address(session: Session, app: App, kind: FeedKind, owner_id: str, *,
                 rotate: bool = False) -> str:
    """The owner's secret feed address (``webcal://…``), made on first use; ``rotate`` retires
    the previous one."""
    secret = web_secret(app)
    row = session.get(CalendarFeedRow, (kind, owner_id))
    if row is None:
        row = CalendarFeedRow(owner_kind=kind, owner_id=owner_id, generation=0, token_hash="",
                              created_at=app.clock.now())
    elif rotate:
        row.generation += 1
        app.audit(session, "feed.rotate", kind, owner_id)
    token = feed_token(secret, kind, owner_id, row.generation)
    if row.token_hash != token_hash(token):
        row.token_hash = token_hash(token)
        session.add(row)
    base = app.settings.web_url or "http://127.0.0.1:8000"
    return f"webcal://{base.split('://', 1)[1]}/feeds/{token}.ics"


def patient_feed_url(session: Session, app: App, patient_id: str) -> str | None:
    """For emails: the patient's feed address when the web app is reachable, else None."""
    if not (app.settings.web_url and app.settings.web_secret):
        return None
    return feed_address(session, app, "patient", patient_id)


