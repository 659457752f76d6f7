"""Visits at exact times for the messaging tests and benchmark, booked by the engine.

The messaging tests need visits at times they name (Monday 9:00, three weeks running), not
wherever the scheduler would put them. ``book`` checks each visit at its time exactly as
the engine checks a booking (opening hours, the therapist's hours, skills and leave, a free
room or device unit, the patient's other visits, the pathway's rest days) and saves the
episode by the enrolment's own path: the timeline claim, the units, the audit and the
booking event in the same transaction, so the handlers queue their messages as in
production. A time the engine would refuse raises the engine's error. ``reschedule`` and
``cancel`` are the engine's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from carepath.adapters.db import transaction
from carepath.domain.config.models import Pathway
from carepath.domain.scheduling import VisitRequest, check_slot
from carepath.domain.scheduling.one_visit import requirement_for
from carepath.domain.scheduling.planning import plan_episode
from carepath.domain.scheduling.types import EpisodeSchedule, Placement, Unplaced
from carepath.domain.timeutil import week_start
from carepath.errors import InputError
from carepath.services import App
from carepath.services.booking_store import clinic_with_leave, clinic_zone, load_busy
from carepath.services.enrolment_store import save_enrolment
from carepath.services.patients import add_patient
from carepath.services.scheduling_changes import cancel, refusal, reschedule

__all__ = ["PlannedVisit", "add_patient_row", "book", "cancel", "reschedule", "weekly"]


@dataclass(frozen=True)
class PlannedVisit:
    start: datetime
    therapist_id: str = "alvarez"
    visit_type: str = "treatment"


def add_patient_row(app: App, patient_id: str, name: str, email: str | None = None, *,
                    caregiver_email: str | None = None, consent: bool = False) -> None:
    """A patient, added as ``carepath patients add`` adds one (values checked)."""
    add_patient(app, {"id": patient_id, "name": name, "email": email,
                      "caregiver_email": caregiver_email,
                      "caregiver_consent": "yes" if consent else "no"})


def book(app: App, patient_id: str, visits: Sequence[PlannedVisit], *,
         reason: str = "enrolment") -> list[int]:
    """One episode of the pathway that offers these visit types, holding exactly these
    visits (in time order); returns the appointment ids in that order."""
    if list(visits) != sorted(visits, key=lambda v: v.start):
        raise ValueError("visits must be in time order")
    pathway = _pathway_of(app, visits)
    zone = clinic_zone(app)
    days = [v.start.astimezone(zone).date() for v in visits]
    with transaction(app.engine) as session:
        busy = load_busy(session, visits[0].start - timedelta(days=2),
                         visits[-1].start + timedelta(days=2), patients=[patient_id])
        clinic = clinic_with_leave(session, app)
        placements: list[Placement] = []
        for seq, (planned, day) in enumerate(zip(visits, days, strict=True), start=1):
            visit = pathway.visit_types[planned.visit_type]
            monday = week_start(day)  # the visit's week is its window, as in a plan
            week = (monday - week_start(days[0])).days // 7 + 1
            request = VisitRequest(
                requirement_for(visit, planned.visit_type, monday, monday + timedelta(days=6),
                                seq=seq, week=week),
                patient_id=patient_id, episode_days=tuple(days[:seq - 1]),
                min_rest_days=pathway.min_rest_days, same_day_visits=pathway.same_day_visits,
                therapist_id=planned.therapist_id)
            placed = check_slot(request, clinic, busy, zone=zone, start=planned.start)
            if isinstance(placed, Unplaced):
                raise refusal(f"{planned.visit_type} at {planned.start:%Y-%m-%d %H:%M} with "
                              f"{planned.therapist_id}", placed)
            placements.append(placed)
        plan = plan_episode(pathway, days[0],
                            open_weekdays=app.config.clinic.opening_hours.open_weekdays())
        schedule = EpisodeSchedule(plan, tuple(placements))
        return list(save_enrolment(session, app, schedule, patient_id,
                                   reason=reason).appointment_ids)


def _pathway_of(app: App, visits: Sequence[PlannedVisit]) -> Pathway:
    """The first configured pathway whose visit types include every visit's."""
    wanted = {v.visit_type for v in visits}
    for pathway in app.config.pathways.values():
        if wanted <= set(pathway.visit_types):
            return pathway
    raise InputError(f"visit types {sorted(wanted)}", "not all in one pathway",
                     "book each pathway's visits as their own episode")


def weekly(first: datetime, count: int, **fields: object) -> list[PlannedVisit]:
    """``count`` visits a week apart at the same wall-clock time (across DST changes)."""
    return [PlannedVisit(start=_same_wall_clock(first, weeks), **fields)  # type: ignore[arg-type]
            for weeks in range(count)]


def _same_wall_clock(first: datetime, weeks: int) -> datetime:
    naive = first.replace(tzinfo=None) + timedelta(weeks=weeks)
    return naive.replace(tzinfo=first.tzinfo)
