"""Apply one review decision in the caller's transaction: escalation rows, the reassessment,
case review, physician and pathway proposal, then ``EscalationRaised`` for messaging.

Every escalation row stores its part of the decision as it is — the typed effects, with the
measures against their MCID band and target and the facts, and what came of booking the
reassessment (``carepath.domain.goals.escalation_codec``) — so a message, a report or a person
reading ``carepath escalations show`` sees the same reasons, said from the same values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from carepath.adapters.tables import EscalationRow
from carepath.domain.goals.escalation_codec import encode_decision
from carepath.domain.goals.escalations import (
    BookReassessment,
    EscalationDecision,
    OpenCaseReview,
    OpenEscalation,
    ProposePathway,
    Reassessment,
    decided_for,
    next_status,
)
from carepath.domain.goals.review import EpisodeFacts, ReviewDecision
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.escalations import EscalationView, escalation_view
from carepath.services.events import EscalationRaised, publish
from carepath.services.holds import place_hold
from carepath.services.reassessment import Booker


def apply_decision(session: Session, app: App, decision: ReviewDecision, facts: EpisodeFacts,
                   book: Booker, *, now: datetime) -> list[EscalationView]:
    """Write the decision's escalations and carry out its effects; publish one event each.

    Effects are carried out first and each row is inserted once, complete: a backlog sweep
    writes thousands of escalations, and one statement per row keeps that in seconds.
    """
    names = {pid: p.name for pid, p in app.config.pathways.items()}
    opened = {e.key: (e, _open(facts.episode_id, e, now)) for e in decision.effects
              if isinstance(e, OpenEscalation)}
    outcomes: dict[str, Reassessment] = {}
    for effect in decision.effects:
        if isinstance(effect, BookReassessment):
            outcome = _book(session, app, effect, facts.episode_id, book, now)
            for key in effect.escalation_keys:
                outcomes[key] = outcome
                _, row = opened[key]
                if outcome.appointment_id is not None:
                    row.appointment_id = outcome.appointment_id
                    row.status = next_status(row.id, row.status, "schedule")
        elif isinstance(effect, OpenCaseReview):
            opened[effect.escalation_key][1].assigned_to = effect.senior_therapist_id
        elif isinstance(effect, ProposePathway):
            opened[effect.escalation_key][1].proposed_pathway = effect.pathway_id
    decided = []
    for key, (opening, row) in opened.items():
        proposed = row.proposed_pathway or ""
        record = EscalationDecision(opening, decided_for(key, decision.effects),
                                    outcomes.get(key),
                                    names.get(proposed, proposed) if proposed else "")
        row.evidence = encode_decision(record)
        decided.append((row, record))
    session.add_all([row for row, _ in decided])
    session.flush()
    applied = []
    for row, record in decided:
        assert row.id is not None
        if record.holds_progression:
            place_hold(session, app, facts.episode_id, row.id, row.summary, now)
        publish(session, app, EscalationRaised(row.id, row.level, row.kind))
        app.audit(session, "escalation.open", "escalation", row.id, key=row.dedupe_key,
                  level=row.level, kind=row.kind)
        applied.append(escalation_view(row, record))
    return applied


def _open(episode_id: int, effect: OpenEscalation, now: datetime) -> EscalationRow:
    return EscalationRow(episode_id=episode_id, level=effect.level, kind=effect.kind,
                         dedupe_key=effect.key[:200], status="open",
                         summary=effect.summary[:500], created_at=now, updated_at=now)


def _book(session: Session, app: App, effect: BookReassessment, episode_id: int,
          book: Booker, now: datetime) -> Reassessment:
    """The reassessment booked (or the one already booked), or why none could be."""
    if effect.existing_appointment_id is not None:
        return Reassessment(effect.existing_appointment_id)
    failure = ""
    # The episode's own therapist first; when they have no time (leave, a full week),
    # a colleague within the same days beats a reassessment that comes too late.
    for therapist in dict.fromkeys([effect.therapist_id, None]):
        try:
            appointment_id = _try_book(session, app, effect, episode_id, book, now, therapist)
        except (CarepathError, IntegrityError) as error:
            failure = failure or _why_not_booked(error)
            continue
        if appointment_id is not None:
            return Reassessment(appointment_id, failure)
        break
    if effect.fallback_appointment_id is not None:
        return Reassessment(effect.fallback_appointment_id, failure, at_visit=True)
    return Reassessment(None, failure)


def _why_not_booked(error: Exception) -> str:
    if isinstance(error, CarepathError):
        return str(error)
    # an IntegrityError: a concurrent booking won the slot first
    return "the slot was taken by another booking at the same moment"


def _try_book(session: Session, app: App, effect: BookReassessment, episode_id: int,
              book: Booker, now: datetime, therapist_id: str | None) -> int | None:
    today = now.astimezone(ZoneInfo(app.config.clinic.timezone)).date()
    with session.begin_nested():  # a failed attempt leaves nothing behind
        visit = book(session, app, episode_id=episode_id, visit_type=effect.visit_type,
                     not_before=today + timedelta(days=1),
                     not_after=today + timedelta(days=effect.within_days),
                     therapist_id=therapist_id)
    return visit.id
