"""What enrolling would book, shown before anything is stored: the admin board's preview.

The same plan and the same engine as ``carepath enroll`` (``services.scheduling``), read in a
transaction that writes nothing; confirming calls ``enroll`` itself, which plans again
against the diaries as they are then (a slot taken in between is simply planned around).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from carepath.adapters.db import transaction
from carepath.domain.timeline import Enrol, decide
from carepath.services import App
from carepath.services.booking_store import clinic_zone
from carepath.services.patients import get_patient
from carepath.services.scheduling import schedule_for
from carepath.services.timeline_store import load_timeline


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
    with transaction(app.engine) as session:  # what enrol would refuse, refused now
        decide(load_timeline(session, app, patient_id), Enrol(pathway_id, start))
    schedule = schedule_for(app, patient_id, pathway_id, start, therapist_id, partial=True)
    zone = clinic_zone(app)
    rooms = {r.id: r.name for r in app.config.clinic.resources}
    visits = [PreviewVisit(p.start.astimezone(zone).strftime("%a %-d %b %Y %H:%M"),
                           p.requirement.name, app.config.therapist(p.therapist_id).name,
                           ", ".join(dict.fromkeys(rooms.get(resource, resource)
                                                   for resource, _unit in p.resources)) or "—")
              for p in schedule.placements]
    waitlist = [Waiting(u.requirement.name, u.requirement.week, u.constraint, u.alternatives)
                for u in schedule.unplaced]
    return Preview(get_patient(app, patient_id).name, app.config.pathway(pathway_id).name,
                   start, visits, waitlist)
