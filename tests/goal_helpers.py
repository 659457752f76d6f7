"""Shared set-up for goal tests, all through the engine: a patient enrolled, a visit done,
a week away, an escalation raised from a review's typed decision, and a booker that records
what it was asked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, time
from zoneinfo import ZoneInfo

from sqlmodel import Session

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow
from carepath.domain.goals.escalations import (
    BookReassessment,
    Effect,
    EscalationKind,
    HoldProgression,
    MeasureEvidence,
    NotifyPhysician,
    NotifyTherapist,
    OpenCaseReview,
    OpenEscalation,
    PromptRelapseScreen,
    ProposePathway,
)
from carepath.domain.goals.review import EpisodeFacts, ReviewDecision
from carepath.domain.timeutil import local_datetime
from carepath.services import App
from carepath.services.booking_store import episode_appointments
from carepath.services.escalation_apply import apply_decision
from carepath.services.patients import add_patient
from carepath.services.reassessment import book_with_scheduling
from carepath.services.scheduling import enroll
from carepath.services.scheduling_changes import cancel, complete, no_show, reschedule

NEW_YORK = ZoneInfo("America/New_York")


def active_episode(app: App, patient: str = "MRN1", pathway: str = "post-relapse",
                   start: date = date(2027, 3, 1), therapist: str = "chen") -> int:
    """A patient with a referring physician, enrolled by the engine in ``pathway`` from
    ``start`` with ``therapist`` (what they cannot do is wait-listed, as ``carepath enroll
    --partial`` does). A start before the clock's day is enrolled as on that morning: the
    test's clock is set back for the enrolment and forward again after."""
    add_patient(app, {"id": patient, "name": "Jane Doe", "email": f"{patient}@example.org",
                      "physician_email": "dr.smith@example.org"})
    with _morning_of(app, start):
        return enroll(app, patient, pathway, start, therapist_id=therapist,
                      partial=True).episode_id


@contextmanager
def _morning_of(app: App, day: date) -> Iterator[None]:
    clock, now = app.clock, app.clock.now()
    if not isinstance(clock, FixedClock) or now.astimezone(NEW_YORK).date() <= day:
        yield
        return
    clock.set(local_datetime(day, time(7, 0), NEW_YORK))
    try:
        yield
    finally:
        clock.set(now)


def visit(app: App, episode_id: int, day: date | None = None, visit_type: str = "evaluation",
          status: str = "completed", at: time | None = None) -> int:
    """The episode's first booked ``visit_type`` visit, on ``day`` (default: where the plan
    has it): moved there by the engine (to ``at``, New York wall time, or to its own time of
    day) when the plan has it elsewhere, then marked ``status`` ("completed", "no_show", or
    left "booked")."""
    with transaction(app.engine) as session:
        row = next((a for a in episode_appointments(session, episode_id)
                    if a.visit_type == visit_type and a.status == "booked"), None)
    assert row is not None and row.id is not None, f"no booked {visit_type} in {episode_id}"
    booked = row.start_utc.astimezone(NEW_YORK)
    wanted = local_datetime(day or booked.date(), at or booked.time(), NEW_YORK)
    if wanted != booked:
        reschedule(app, row.id, wanted)
    if status == "completed":
        complete(app, row.id)
    elif status == "no_show":
        no_show(app, row.id)
    return row.id


def away(app: App, episode_id: int, first: date, last: date) -> list[int]:
    """The patient is away from ``first`` to ``last``: the engine cancels the episode's
    visits on those days (and, not rebooked, they leave the episode short of its cadence)."""
    with transaction(app.engine) as session:
        ids = [a.id for a in episode_appointments(session, episode_id)
               if a.status == "booked" and a.id is not None
               and first <= a.start_utc.astimezone(NEW_YORK).date() <= last]
    for appointment_id in ids:
        cancel(app, appointment_id, "patient away")
    return ids


BERG = MeasureEvidence("bbs", "Berg Balance Scale", "points", "40", "43", 37.0, 43.0,
                       (("2027-03-01T14:00:00+00:00", "40"), ("2027-03-15T14:00:00+00:00", "41")),
                       "no_change")


def review_decision(episode_id: int, kind: EscalationKind = "stall", level: int = 1, *,
                    summary: str = "", facts: tuple[str, ...] = (), hold: bool = False,
                    proposed: str | None = "progression-review",
                    reassess_at: int | None = None) -> ReviewDecision:
    """A review's decision in the shape the domain gives one (the effects of
    ``domain.goals.escalations``): the escalation on the Berg readings, the episode's
    therapist told; a relapse screen for a worsening, a hold for a two-hour failure (or
    ``hold``), a reassessment at level 1 (booked within 5 days, or taken at the booked visit
    ``reassess_at``, as the review decides in a full week), the case review, the physician
    and the proposed pathway at level 2."""
    key = f"e{episode_id}:{kind}:test:L{level}"
    effects: list[Effect] = [
        OpenEscalation(key, level, kind, summary or f"{kind} summary", (BERG,), facts),
        NotifyTherapist(f"{key}:t", key, "chen", "why")]
    if kind == "worsening":
        effects.append(PromptRelapseScreen(f"{key}:r", key))
    if kind == "two_hour" or hold:
        effects.append(HoldProgression(f"{key}:h", key))
    if level == 1 and kind in ("stall", "worsening"):
        effects.append(BookReassessment(f"{key}:b", (key,), "reevaluation", "chen", 5,
                                        existing_appointment_id=reassess_at))
    if level == 2:
        effects += [OpenCaseReview(f"{key}:c", key, "alvarez"), NotifyPhysician(f"{key}:p", key)]
        if proposed:
            effects.append(ProposePathway(f"{key}:x", key, proposed))
    return ReviewDecision(episode_id, (), tuple(effects))


def escalate(app: App, decision: ReviewDecision) -> int:
    """The decision carried out as the review sweep carries it out (``apply_decision``): the
    escalation stored with its typed decision, the reassessment booked, the hold placed, the
    messages queued. Returns the escalation's id."""
    with transaction(app.engine) as session:
        episode = session.get(EpisodeRow, decision.episode_id)
        assert episode is not None
        facts = EpisodeFacts(decision.episode_id, app.config.pathway(episode.pathway_id),
                             episode.therapist_id, ())
        [opened] = apply_decision(session, app, decision, facts, book_with_scheduling,
                                  now=app.clock.now())
    return opened.id


class RecordingBooker:
    """The engine's booker (``book_with_scheduling``), recording each call it is given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, session: Session, app: App, *, episode_id: int, visit_type: str,
                 not_before: date, not_after: date,
                 therapist_id: str | None) -> AppointmentRow:
        asked: dict[str, object] = {
            "episode_id": episode_id, "visit_type": visit_type, "not_before": not_before,
            "not_after": not_after, "therapist_id": therapist_id}
        self.calls.append(asked)
        return book_with_scheduling(session, app, episode_id=episode_id, visit_type=visit_type,
                                    not_before=not_before, not_after=not_after,
                                    therapist_id=therapist_id)
