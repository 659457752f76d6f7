"""What enrolling would book, shown before anything is stored: the admin board's preview.

The same plan and the same engine as ``carepath enroll`` (``services.scheduling``), read in a
transaction that writes nothing; confirming calls ``enroll`` itself, which plans again
against the diaries as they are then (a slot taken in between is simply planned around).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from carepath.adapters.db import transaction
from carepath.domain.planning import plan_episode
from carepath.domain.scheduling import schedule_episode
from carepath.services import App
from carepath.services.booking_store import clinic_with_leave, clinic_zone, load_busy
from carepath.services.patients import get_patient
from carepath.services.scheduling import check_start, not_before


@dataclass(frozen=True)
class PreviewVisit:
    when: str
    visit: str
    therapist: str
    room: str


@dataclass(frozen=True)
class Waiting:
    visit: str
    week: int
    constraint: str  # the binding constraint, in words
    alternatives: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    patient: str
    pathway: str
    start: date
    visits: list[PreviewVisit]
    waitlist: list[Waiting]


def preview_enrolment(app: App, patient_id: str, pathway_id: str, start: date,
                      therapist_id: str | None = None) -> Preview:
    """The visits the engine would book (and what it would wait-list, with why)."""
    pathway = app.config.pathway(pathway_id)
    if therapist_id:
        app.config.therapist(therapist_id)
    patient = get_patient(app, patient_id)
    check_start(app, start)
    plan = plan_episode(pathway, start, patient.preferences)
    zone = clinic_zone(app)
    with transaction(app.engine) as session:
        clinic = clinic_with_leave(session, app)
        first = not_before(app, plan.start)
        busy = load_busy(session, first - timedelta(days=1),
                         first + timedelta(weeks=max(plan.max_weeks, plan.weeks) + 1),
                         patients=[patient_id])
        session.rollback()  # a preview stores nothing
    schedule = schedule_episode(plan, clinic, busy, zone=zone, not_before=first,
                                patient_id=patient_id, therapist_id=therapist_id, partial=True)
    rooms = {r.id: r.name for r in app.config.clinic.resources}
    visits = [PreviewVisit(p.start.astimezone(zone).strftime("%a %-d %b %Y %H:%M"),
                           p.requirement.name, app.config.therapist(p.therapist_id).name,
                           ", ".join(dict.fromkeys(rooms.get(resource, resource)
                                                   for resource, _unit in p.resources)) or "—")
              for p in schedule.placements]
    waitlist = [Waiting(u.requirement.name, u.requirement.week, u.constraint, u.alternatives)
                for u in schedule.unplaced]
    return Preview(patient.name, pathway.name, start, visits, waitlist)
