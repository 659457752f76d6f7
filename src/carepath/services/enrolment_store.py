"""Saving what the scheduler decided for new episodes, and the checks every enrolment path
shares: single enrolment, a batch, a successor episode and a FHIR referral.

One place for "episode planned → active, its claim, its appointment and resource rows, the
audit and the event" (``save_enrolments``, one statement per table for a whole batch), the
start and horizon checks, and the one error that names every visit that did not fit. Both
``scheduling`` (one patient) and ``scheduling_io`` (a batch) build on it, so neither needs
the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from carepath.adapters.tables import EpisodeRow
from carepath.domain.episodes import next_state
from carepath.domain.scheduling.availability import ClinicCalendar
from carepath.domain.scheduling.planning import EpisodePlan
from carepath.domain.scheduling.types import EpisodeSchedule, Unplaced
from carepath.domain.timeutil import horizon_problem, local_datetime
from carepath.errors import InputError, NoSlotAvailable
from carepath.services import App
from carepath.services.booking_store import (
    NewBooking,
    clinic_zone,
    flush_or_taken,
    guard_placements,
    insert_placements,
)
from carepath.services.events import AppointmentsBooked, publish
from carepath.services.first_visits import Evaluation, attach
from carepath.services.timeline_store import claim_all


@dataclass
class Enrolment:
    """What ``enroll`` booked: the episode, its appointments, and what was wait-listed."""

    episode_id: int
    patient_id: str
    pathway_id: str
    schedule: EpisodeSchedule
    appointment_ids: list[int] = field(default_factory=list)
    existing: bool = False  # the same request was made before: this is that episode
    first_appointment_id: int | None = None  # an imported evaluation that starts it

    @property
    def waitlisted(self) -> tuple[Unplaced, ...]:
        return self.schedule.unplaced


def check_start(app: App, start: date) -> None:
    zone = clinic_zone(app)
    today = app.clock.now().astimezone(zone).date()
    if start < today:
        raise InputError(f"start {start}", f"is in the past (today is {today})",
                         "pick today or a later date")
    reason = ClinicCalendar(app.config.clinic, zone).closed_reason(start)
    if reason and not reason.startswith("closed on "):  # a holiday or closure, not a weekend
        raise InputError(f"start {start}", f"the clinic is {reason}", "start on an open day")


def episode_reach(plan: EpisodePlan) -> timedelta:
    """How far after its start an episode may run: stretched to its longest, and started
    as late as its first_visit_window allows."""
    late = (plan.first_due - plan.start).days if plan.first_due else 0
    return timedelta(weeks=max(plan.max_weeks, plan.weeks) + 1, days=max(late, 0))


def check_horizon(plan: EpisodePlan) -> None:
    """The whole episode, stretched to its longest, must end within the holiday data."""
    last = plan.start + episode_reach(plan) - timedelta(weeks=1)
    problem = horizon_problem(plan.start) or horizon_problem(last)
    if problem:
        raise InputError(f"start {plan.start}", f"the episode would run to {last}, which "
                         f"{problem}", "start earlier")


def not_before(app: App, start: date) -> datetime:
    """The earliest instant to book: the start day's midnight, or now if later."""
    zone = clinic_zone(app)
    midnight = local_datetime(start, time(0, 0), zone, shift_gap=True)
    return max(midnight, app.clock.now())


def save_enrolment(session: Session, app: App, schedule: EpisodeSchedule, patient_id: str, *,
                   reason: str, previous_episode_id: int | None = None,
                   deferred: bool = False, evaluation: Evaluation | None = None) -> Enrolment:
    """Episode (planned → active), appointment and resource rows, audit and event; an
    imported ``evaluation`` becomes the episode's first visit."""
    return save_enrolments(session, app, [(schedule, patient_id, evaluation)], reason=reason,
                           previous_episode_id=previous_episode_id, deferred=deferred,
                           what=f"{patient_id}'s {schedule.plan.pathway_id} episode")[0]


NewEnrolment = tuple[EpisodeSchedule, str, "Evaluation | None"]  # schedule, patient, evaluation


def save_enrolments(session: Session, app: App, enrolments: Sequence[NewEnrolment],
                    *, reason: str, what: str, previous_episode_id: int | None = None,
                    deferred: bool = False) -> list[Enrolment]:
    """``save_enrolment`` for many episodes (a batch): their episode, claim, appointment and
    resource rows each go in at once, not one flush per episode; then each episode's audit
    and event, in order."""
    now = app.clock.now()
    episodes = [_episode_row(schedule, patient_id, evaluation, previous_episode_id, now)
                for schedule, patient_id, evaluation in enrolments]
    guard_placements(session, app, [p for s, _, _ in enrolments for p in s.placements], what)
    session.add_all(episodes)
    session.flush()
    for episode, (_, _, evaluation) in zip(episodes, enrolments, strict=True):
        assert episode.id is not None
        episode.state = next_state(episode.id, episode.state, "activate")
        if evaluation is not None:
            attach(session, evaluation.appointment_id, episode.id)
    claim_all(session, app, episodes)
    with flush_or_taken(session, f"a visit of {what}"):
        ids = insert_placements(session, app, [
            NewBooking(p, patient_id, episode.id)
            for (schedule, patient_id, _), episode in zip(enrolments, episodes, strict=True)
            for p in schedule.placements])
    saved, taken = [], 0
    for (schedule, patient_id, evaluation), episode in zip(enrolments, episodes, strict=True):
        assert episode.id is not None
        own, taken = ids[taken:taken + len(schedule.placements)], taken + len(schedule.placements)
        first = evaluation.appointment_id if evaluation else None
        app.audit(session, "episode.enrol", "episode", episode.id, patient=patient_id,
                  pathway=schedule.plan.pathway_id, booked=len(own),
                  stretched_from=schedule.stretched_from, first_appointment=first,
                  waitlisted=[f"{u.requirement.label}: {u.constraint}" for u in schedule.unplaced])
        publish(session, app, AppointmentsBooked(tuple(own), episode.id, reason, deferred))
        saved.append(Enrolment(episode.id, patient_id, schedule.plan.pathway_id, schedule, own,
                               first_appointment_id=first))
    return saved


def _episode_row(schedule: EpisodeSchedule, patient_id: str, evaluation: Evaluation | None,
                 previous_episode_id: int | None, now: datetime) -> EpisodeRow:
    plan = schedule.plan
    leads = Counter(p.therapist_id for p in schedule.placements)
    if evaluation is not None:  # the evaluating therapist leads unless outnumbered
        leads[evaluation.booked.therapist_id] += 1
    lead = leads.most_common(1)
    return EpisodeRow(patient_id=patient_id, pathway_id=plan.pathway_id,
                      pathway_version=plan.pathway_version, state="planned",
                      start_date=plan.start, therapist_id=lead[0][0] if lead else None,
                      note=waitlist_note(schedule), previous_episode_id=previous_episode_id,
                      created_at=now, updated_at=now)


def waitlist_note(schedule: EpisodeSchedule) -> str:
    parts = list(schedule.notes)
    if schedule.unplaced:
        parts.append("wait-listed: " + ", ".join(u.requirement.label for u in schedule.unplaced))
    return "; ".join(parts)[:500]


def no_slot_error(schedule: EpisodeSchedule) -> NoSlotAvailable:
    """One error naming every visit that failed, with the first one's constraint."""
    failed = schedule.unplaced
    first = failed[0]
    names = ", ".join(u.requirement.label for u in failed)
    constraint = first.constraint
    if len(failed) > 1:
        others = "; ".join(f"{u.requirement.label}: {u.constraint}" for u in failed[1:3])
        constraint += f"; also {others}" + ("; …" if len(failed) > 3 else "")
    alternatives = list(first.alternatives)
    if schedule.plan.weeks < schedule.plan.max_weeks:
        alternatives.append(f"stretch to {schedule.plan.max_weeks} weeks")
    alternatives.append("enrol with --partial to book what fits and wait-list the rest")
    return NoSlotAvailable(f"{len(failed)} visit(s) ({names})", constraint, alternatives)
