"""Scheduling use cases: enrol (one or a batch), book one visit, and — re-exported from
``scheduling_changes``, ``scheduling_io`` and ``appointment_export`` — reschedule, cancel,
complete, no-show, cancel the future, therapist leave, import and export.

Each use case is one transaction: read busy times, decide in the domain, write the rows,
audit, and publish the domain event (messaging writes its outbox rows in the same
transaction). A failed command books nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow, PatientRow
from carepath.domain.config.models import Clinic, Pathway, VisitType
from carepath.domain.scheduling import VisitRequest, free_slots, place_visit, schedule_episode
from carepath.domain.scheduling.one_visit import requirement_for
from carepath.domain.scheduling.planning import EpisodePlan, PatientPreferences, plan_episode
from carepath.domain.scheduling.types import Busy, EpisodeSchedule, Placement, Slot, Unplaced
from carepath.domain.timeline import Enrol, decide
from carepath.domain.timeutil import local_datetime
from carepath.errors import InputError, NoSlotAvailable, NotFound, SlotTaken
from carepath.services import App
from carepath.services.booking_store import (
    clinic_with_leave,
    clinic_zone,
    episode_appointments,
    flush_or_taken,
    guard_placements,
    load_busy,
    save_placement,
)
from carepath.services.enrolment_store import (
    Enrolment,
    check_horizon,
    check_start,
    episode_reach,
    no_slot_error,
    not_before,
    save_enrolment,
)
from carepath.services.events import AppointmentsBooked, publish
from carepath.services.first_visits import Evaluation, find_evaluation
from carepath.services.patients import from_row, get_patient
from carepath.services.timeline_store import ClaimTaken, load_timeline

RACE_RETRIES = 3  # an enrolment that lost a race re-reads busy times and tries again


def enroll(app: App, patient_id: str, pathway_id: str, start: date | None, *,
           therapist_id: str | None = None, partial: bool = False,
           previous_episode_id: int | None = None, referred: date | None = None,
           evaluation: str | None = None) -> Enrolment:
    """Book every visit of ``pathway_id`` for the patient from ``start``, in one transaction.

    ``referred`` is the day the pathway's ``first_visit_window`` counts from (default
    ``start``); ``evaluation`` names an imported appointment that is the episode's first
    visit (see ``first_visits``): the episode starts on its day, ``start`` may be None.

    Idempotent: the same request again (same patient, pathway and start, episode still
    running) returns that episode with ``existing`` set and books nothing. Raises
    ``NotFound`` (patient, pathway, therapist), ``InputError`` (start in the past or on a
    closure), ``TimelineConflict`` (an episode in the same lane is running) and
    ``NoSlotAvailable`` when not everything fits and ``partial`` is off.
    """
    first = _evaluation(app, patient_id, pathway_id, start, evaluation)
    day = first.day if first else start
    assert day is not None  # checked by _evaluation
    plan = _checked_plan(app, patient_id, pathway_id, day, therapist_id, referred=referred,
                         first_booked=first is not None)
    for attempt in range(RACE_RETRIES):
        try:
            with transaction(app.engine) as session:
                decision = decide(load_timeline(session, app, patient_id),
                                  Enrol(pathway_id, plan.start))
                if decision.existing_episode_id is not None:
                    return existing_enrolment(session, plan, patient_id,
                                              decision.existing_episode_id)
                return enroll_in(session, app, plan, patient_id, therapist_id, partial,
                                 previous_episode_id, evaluation=first)
        except (SlotTaken, ClaimTaken):
            if attempt == RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def existing_enrolment(session: Session, plan: EpisodePlan, patient_id: str,
                       episode_id: int) -> Enrolment:
    """The answer to a repeated request: the running episode, nothing booked."""
    ids = [a.id for a in episode_appointments(session, episode_id) if a.id is not None]
    return Enrolment(episode_id, patient_id, plan.pathway_id,
                     EpisodeSchedule(plan, placements=()), ids, existing=True)


def _evaluation(app: App, patient_id: str, pathway_id: str, start: date | None,
                evaluation: str | None) -> Evaluation | None:
    """The imported evaluation ``evaluation`` names, its day checked against ``start``."""
    if not evaluation:
        if start is None:
            raise InputError("enroll", "needs --start DATE (or --evaluation)",
                             "give the episode's first day")
        return None
    pathway = app.config.pathway(pathway_id)
    get_patient(app, patient_id)
    with transaction(app.engine) as session:
        found = find_evaluation(session, app, patient_id, pathway, evaluation)
    if start is not None and start != found.day:
        raise InputError(f"start {start}", f"the evaluation (appointment "
                         f"{found.appointment_id}) is on {found.day}, where the episode starts",
                         "leave the start out, or give the evaluation's day")
    return found


def _checked_plan(app: App, patient_id: str, pathway_id: str, start: date,
                  therapist_id: str | None, *, referred: date | None = None,
                  first_booked: bool = False) -> EpisodePlan:
    """The episode's plan once the pathway, therapist, patient and start are known good."""
    pathway = app.config.pathway(pathway_id)
    if therapist_id:
        app.config.therapist(therapist_id)
    patient = get_patient(app, patient_id)
    check_start(app, start)
    plan = plan_episode(pathway, start, patient.preferences, referred=referred,
                        open_weekdays=app.config.clinic.opening_hours.open_weekdays(),
                        first_booked=first_booked)
    check_horizon(plan)
    return plan


def schedule_for(app: App, patient_id: str, pathway_id: str, start: date,
                 therapist_id: str | None, *, partial: bool = False) -> EpisodeSchedule:
    """What ``enroll`` would book, booking nothing. All or nothing unless ``partial``:
    ``NoSlotAvailable`` names what does not fit; with ``partial`` the schedule comes back
    with what would be wait-listed, and why."""
    plan = _checked_plan(app, patient_id, pathway_id, start, therapist_id)
    with transaction(app.engine) as session:
        clinic = clinic_with_leave(session, app)
        first = not_before(app, plan.start)
        busy = load_busy(session, first - timedelta(days=1), first + episode_reach(plan),
                         patients=[patient_id])
        session.rollback()  # a preview stores nothing
    schedule = schedule_episode(plan, clinic, busy, zone=clinic_zone(app), not_before=first,
                                patient_id=patient_id, therapist_id=therapist_id,
                                partial=partial)
    if not partial and not schedule.booked:
        raise no_slot_error(schedule)
    return schedule


def enroll_in(session: Session, app: App, plan: EpisodePlan, patient_id: str,
              therapist_id: str | None, partial: bool, previous_episode_id: int | None, *,
              reason: str = "enrolment", evaluation: Evaluation | None = None) -> Enrolment:
    """Schedule and save one episode in the caller's transaction (timeline already checked)."""
    zone = clinic_zone(app)
    clinic = clinic_with_leave(session, app)
    first = not_before(app, plan.start)
    busy = load_busy(session, first - timedelta(days=1), first + episode_reach(plan),
                     patients=[patient_id])
    schedule = schedule_episode(plan, clinic, busy, zone=zone, not_before=first,
                                patient_id=patient_id, therapist_id=therapist_id,
                                partial=partial,
                                booked_first=evaluation.booked if evaluation else None)
    if not schedule.booked:
        raise no_slot_error(schedule)
    return save_enrolment(session, app, schedule, patient_id, reason=reason,
                          previous_episode_id=previous_episode_id, evaluation=evaluation)


def book_visit(session: Session, app: App, *, episode_id: int, visit_type: str,
               not_before: date, not_after: date, therapist_id: str | None = None,
               prefer_time: time | None = None, reason: str = "reassessment") -> AppointmentRow:
    """Book one visit of the episode between two dates, in the caller's transaction.

    Keeps the episode's rest days and one visit per day; prefers the episode's therapist and,
    for a reassessment, the time of day of the baseline evaluation.
    """
    episode = session.get(EpisodeRow, episode_id)
    if episode is None:
        raise NotFound("episode", episode_id)
    pathway = app.config.pathway(episode.pathway_id)
    visit = _visit_type(pathway, visit_type)
    if therapist_id:
        app.config.therapist(therapist_id)
    if not_after < not_before:
        raise InputError("dates", f"{not_after} is before {not_before}", "swap them")
    zone, siblings = clinic_zone(app), episode_appointments(session, episode_id)
    seq = max((a.seq for a in siblings), default=0) + 1
    req = requirement_for(visit, visit_type, not_before, not_after, seq=seq)
    first = _not_before_day(app, not_before)
    busy = load_busy(session, first - timedelta(days=1), _end_of(not_after, zone),
                     patients=[episode.patient_id])
    patient_row = session.get(PatientRow, episode.patient_id)
    prefs = from_row(patient_row).preferences if patient_row else None
    request = VisitRequest(
        req, patient_id=episode.patient_id, preferences=prefs or PatientPreferences(),
        episode_days=tuple(a.start_utc.astimezone(zone).date() for a in siblings),
        min_rest_days=pathway.min_rest_days, same_day_visits=pathway.same_day_visits,
        therapist_id=therapist_id, primary_therapist=episode.therapist_id,
        prefer_time=prefer_time or _baseline_time(siblings, zone, reason))
    placed = place_visit(request, clinic_with_leave(session, app), busy, zone=zone,
                         not_before=first)
    if isinstance(placed, Unplaced):
        raise NoSlotAvailable(req.label, placed.constraint, placed.alternatives)
    return _save_one(session, app, placed, episode, reason)


def _save_one(session: Session, app: App, placed: Placement, episode: EpisodeRow,
              reason: str) -> AppointmentRow:
    guard_placements(session, app, [placed], placed.requirement.label)
    with flush_or_taken(session, placed.requirement.label):
        row = save_placement(session, app, placed, patient_id=episode.patient_id,
                             episode_id=episode.id)
    assert row.id is not None
    app.audit(session, "appointment.book", "appointment", row.id, reason=reason,
              episode=episode.id, start=row.start_utc.isoformat())
    publish(session, app, AppointmentsBooked((row.id,), episode.id, reason))
    return row


def find_slots(app: App, visit_type: str, *, pathway_id: str, therapist_id: str | None = None,
               limit: int = 10, from_day: date | None = None,
               horizon_days: int = 28) -> list[Slot]:
    """The next free slots for a visit type, with one therapist or any qualified one.

    Busy times are read a few days at a time, only for the qualified therapists and the
    resources the visit needs, and reading stops once ``limit`` slots are found.
    """
    visit = _visit_type(app.config.pathway(pathway_id), visit_type)
    if therapist_id:
        therapist = app.config.therapist(therapist_id)
        lacking = set(visit.needs.skills) - set(therapist.skills)
        if lacking:
            raise InputError(f"therapist {therapist_id}", f"lacks the {', '.join(lacking)} skill",
                             "choose a qualified therapist or leave --therapist out")
    zone = clinic_zone(app)
    first = not_before(app, from_day or app.clock.now().astimezone(zone).date())
    with transaction(app.engine) as session:
        clinic = clinic_with_leave(session, app)
        busy = Busy()
        diary = _SlotDiary(session, busy, visit, clinic, therapist_id)
        return free_slots(visit, clinic, busy, zone=zone, not_before=first,
                          therapist_id=therapist_id, limit=limit, horizon_days=horizon_days,
                          diary=diary)


class _SlotDiary:
    """Reads, for ``free_slots``, only the bookings of the rooms and devices the visit needs
    and of the therapists who could take it, and only where the search asks."""

    def __init__(self, session: Session, busy: Busy, visit: VisitType, clinic: Clinic,
                 therapist_id: str | None) -> None:
        self.session, self.busy = session, busy
        self.resources = [r.id for r in clinic.resources
                          if set(r.provides) & set(visit.needs.resources)]
        self.therapist_ids = [therapist_id] if therapist_id else [
            t.id for t in clinic.therapists if set(visit.needs.skills) <= set(t.skills)]

    def rooms(self, start: datetime, end: datetime) -> None:
        load_busy(self.session, start, end, therapists=[], resources=self.resources,
                  into=self.busy)

    def therapists(self, start: datetime, end: datetime) -> None:
        load_busy(self.session, start, end, therapists=self.therapist_ids, resources=[],
                  patients=[], into=self.busy)


def _visit_type(pathway: Pathway, visit_type: str) -> VisitType:
    try:
        return pathway.visit_types[visit_type]
    except KeyError:
        known = ", ".join(sorted(pathway.visit_types))
        raise NotFound("visit type", visit_type, f"{pathway.id} has: {known}") from None


def _not_before_day(app: App, day: date) -> datetime:
    return not_before(app, day)


def _end_of(day: date, zone: ZoneInfo) -> datetime:
    return local_datetime(day + timedelta(days=1), time(0, 0), zone, shift_gap=True)


def _baseline_time(siblings: list[AppointmentRow], zone: ZoneInfo, reason: str) -> time | None:
    """A reassessment is compared with the baseline: book it at the same time of day."""
    if reason != "reassessment" or not siblings:
        return None
    first = min(siblings, key=lambda a: (a.seq, a.start_utc))
    return first.start_utc.astimezone(zone).time()


from carepath.services.appointment_export import (  # noqa: E402
    export_appointments,
    write_appointments,
)
from carepath.services.scheduling_changes import (  # noqa: E402  (public names live here too)
    Change,
    cancel,
    cancel_future,
    complete,
    no_show,
    reschedule,
    therapist_leave,
)
from carepath.services.scheduling_io import (  # noqa: E402
    BatchResult,
    enroll_batch,
    import_appointments,
)

__all__ = [
    "BatchResult", "Change", "Enrolment", "book_visit", "cancel", "cancel_future", "complete",
    "enroll", "enroll_batch", "export_appointments", "find_slots", "import_appointments", "no_show",
    "write_appointments",
    "reschedule", "therapist_leave",
]
