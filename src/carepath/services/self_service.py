"""Patients act on one visit through a signed link (no account); people subscribe to a
secret calendar feed of their visits. Both need ``CAREPATH_WEB_SECRET``; emails carry the
addresses only when ``CAREPATH_WEB_URL`` is set too.

A visit link shows the minimum — date, time, visit type, the clinic's address — and can
confirm, cancel (outside the clinic's cancellation notice; inside it the page gives the
phone number) or ask for another time (the clinic is told through the audit log and calls
back). A link made before the visit last changed changes nothing and says so.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session, col, func, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, CalendarFeedRow, EpisodeRow, PatientRow
from carepath.domain.messages.invites import Audience, feed
from carepath.domain.messages.links import LinkRefused, read_visit_token, token_hash, visit_token
from carepath.errors import CarepathError, InputError, NoSlotAvailable, SlotTaken
from carepath.services import App
from carepath.services.calendar_views import calendar_style, upcoming_visits
from carepath.services.clinic_views import zone_of
from carepath.services.scheduling_changes import reschedule, set_status
from carepath.services.web_links import FeedKind, feed_address, web_secret

State = Literal["open", "invalid", "expired", "changed", "cancelled", "past"]


@dataclass(frozen=True)
class VisitLink:
    """What a patient's link page shows: its state and, when it names a visit, the minimum."""

    state: State
    date: str = ""
    time: str = ""
    visit: str = ""
    address: str = ""
    phone: str = ""
    can_cancel: bool = False
    notice_hours: int = 0
    done: str = ""  # what the last action did, in words
    options: tuple[tuple[str, str], ...] = ()  # (start as ISO, as a patient reads it)


def _load(session: Session, app: App, token: str) -> tuple[VisitLink, AppointmentRow | None]:
    try:
        claim = read_visit_token(web_secret(app), token, app.clock.now())
    except LinkRefused as refused:
        return VisitLink(refused.problem), None
    row = session.get(AppointmentRow, claim.appointment_id)
    if row is None:
        return VisitLink("invalid"), None
    clinic = app.config.clinic
    start = row.start_utc.astimezone(zone_of(app))
    notice = timedelta(hours=clinic.cancellation_notice_hours)
    state: State = ("cancelled" if row.status == "cancelled" else
                    "changed" if row.sequence != claim.sequence else
                    "past" if row.status != "booked" else "open")
    return VisitLink(
        state, start.strftime("%A %-d %B %Y"), start.strftime("%-I:%M %p"), row.visit_name,
        clinic.address, clinic.phone or "", state == "open"
        and row.start_utc - app.clock.now() >= notice, clinic.cancellation_notice_hours), row


MAX_OPTIONS = 6


def _options(app: App, row: AppointmentRow) -> tuple[tuple[str, str], ...]:
    """Other times the engine offers for this visit: same therapist, outside the notice
    period, inside the visit's cadence window (its week); ``reschedule`` re-checks every
    rule (rest days, the week's cadence, rooms) when one is chosen."""
    from carepath.services.scheduling import find_slots

    zone = zone_of(app)
    earliest = app.clock.now() + timedelta(hours=app.config.clinic.cancellation_notice_hours)
    first_day = max(earliest.astimezone(zone).date(), row.window_first or earliest.date())
    with transaction(app.engine) as session:
        episode = session.get(EpisodeRow, row.episode_id) if row.episode_id else None
    if episode is None or episode.pathway_id not in app.config.pathways:
        return ()
    try:
        slots = find_slots(app, row.visit_type, pathway_id=episode.pathway_id,
                           therapist_id=row.therapist_id, limit=MAX_OPTIONS * 4,
                           from_day=first_day, horizon_days=14)
    except CarepathError:
        return ()
    chosen = []
    for slot in slots:
        local = slot.start.astimezone(zone)
        if slot.start < earliest or slot.start == row.start_utc:
            continue
        if row.window_last and local.date() > row.window_last:
            break
        chosen.append((slot.start.isoformat(), local.strftime("%A %-d %B, %-I:%M %p")))
        if len(chosen) == MAX_OPTIONS:
            break
    return tuple(chosen)


def visit_link(app: App, token: str) -> VisitLink:
    with transaction(app.engine) as session:
        link, row = _load(session, app, token)
    if row is not None and link.can_cancel:
        link = replace(link, options=_options(app, row))
    return link


def move_by_link(app: App, token: str, start: str) -> VisitLink:
    """Move the linked visit to one of the times its page offered (and only those)."""
    with transaction(app.engine) as session:
        link, row = _load(session, app, token)
    if link.state != "open" or row is None:
        return link
    if not link.can_cancel:
        return _with(link, done="too_late")
    offered = dict(_options(app, row))
    if start not in offered:
        return replace(link, options=tuple(offered.items()), done="taken")
    try:
        reschedule(app, row.id or 0, datetime.fromisoformat(start))
    except (SlotTaken, NoSlotAvailable):
        return replace(link, options=_options(app, row), done="taken")
    return replace(visit_link(app, visit_token_after_move(app, row.id or 0)), done="moved")


def visit_token_after_move(app: App, appointment_id: int) -> str:
    """A token for the visit as it now stands (the page after a move shows the new time)."""
    with transaction(app.engine) as session:
        row = session.get(AppointmentRow, appointment_id)
        assert row is not None
        return visit_token(web_secret(app), appointment_id, row.sequence, row.start_utc)


def act_on_link(app: App, token: str, action: str) -> VisitLink:
    """Confirm, cancel or ask to change the linked visit; a stale link changes nothing."""
    if action not in ("confirm", "cancel", "change"):
        raise InputError("action", f"{action!r} is not confirm, cancel or change")
    with transaction(app.engine) as session:
        link, row = _load(session, app, token)
        if link.state != "open" or row is None:
            return link
        if action == "cancel" and not link.can_cancel:
            return _with(link, done="too_late")
        if action == "cancel":
            set_status(session, app, row, "cancel", "cancelled by the patient through their link")
            return _with(link, state="cancelled", done="cancelled")
        app.audit(session, f"appointment.patient_{action}", "appointment", row.id)
        return _with(link, done="confirmed" if action == "confirm" else "change_requested")


def _with(link: VisitLink, **changes: str) -> VisitLink:
    return replace(link, **changes)  # type: ignore[arg-type]


# -- calendar feeds ---------------------------------------------------------------------------

def feed_url(app: App, kind: FeedKind, owner_id: str, *, rotate: bool = False) -> str:
    """``feed_address`` in its own transaction (``carepath feeds url``)."""
    with transaction(app.engine) as session:
        if kind == "patient" and session.get(PatientRow, owner_id) is None:
            raise InputError("--patient", f"no patient {owner_id!r}",
                             "see: carepath patients list")
        if kind == "therapist":
            app.config.therapist(owner_id)
        return feed_address(session, app, kind, owner_id, rotate=rotate)


_feeds: OrderedDict[tuple[str, str, str], tuple[tuple[object, ...], bytes]] = OrderedDict()
FEED_CACHE = 256  # feeds kept built; calendar apps ask for the same ones again and again


def feed_calendar(app: App, token: str) -> bytes | None:
    """The current visits behind a feed token as an iCalendar file; None for an unknown or
    retired token. Built again only when one of the owner's visits changed."""
    since = app.clock.now() - timedelta(days=30)
    with transaction(app.engine) as session:
        row = session.exec(select(CalendarFeedRow).where(
            CalendarFeedRow.token_hash == token_hash(token))).first()
        if row is None:
            return None
        owner = (AppointmentRow.therapist_id if row.owner_kind == "therapist"
                 else AppointmentRow.patient_id)
        stamp = tuple(session.exec(select(
            func.count(), func.max(AppointmentRow.updated_at), func.sum(AppointmentRow.sequence),
            func.max(AppointmentRow.id)).where(owner == row.owner_id,
                                               col(AppointmentRow.end_utc) > since)).one())
        key = (app.settings.database_url, row.owner_kind, row.owner_id)
        cached = _feeds.get(key)
        if cached is not None and cached[0] == stamp:
            _feeds.move_to_end(key)
            return cached[1]
        if row.owner_kind == "therapist":
            visits = upcoming_visits(session, app, since=since, therapist_id=row.owner_id)
            name = app.config.therapist(row.owner_id).name
        else:
            visits = upcoming_visits(session, app, since=since, patient_id=row.owner_id)
            name = f"{app.config.clinic.name} appointments"
    audience: Audience = "therapist" if row.owner_kind == "therapist" else "patient"
    body = feed(visits, calendar_style(app), stamp=app.clock.now(), audience=audience,
                name=name)
    _feeds[key] = (stamp, body)
    while len(_feeds) > FEED_CACHE:
        _feeds.popitem(last=False)
    return body
