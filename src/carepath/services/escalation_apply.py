"""Apply one review decision in the caller's transaction: escalation rows, the reassessment,
case review, physician and pathway proposal, then ``EscalationRaised`` for messaging.

Every escalation row carries its evidence as JSON — the values against their MCID band and
target, the facts, and what was done and for whom — so a message, a report or a person
reading ``carepath escalations show`` sees the same reasons.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from carepath.adapters.tables import EscalationRow
from carepath.domain.escalations import (
    BookReassessment,
    Effect,
    HoldProgression,
    NotifyPhysician,
    NotifyTherapist,
    OpenCaseReview,
    OpenEscalation,
    PromptRelapseScreen,
    ProposePathway,
    next_status,
)
from carepath.domain.review import EpisodeFacts, ReviewDecision
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.events import EscalationRaised, publish
from carepath.services.holds import place_hold
from carepath.services.reassessment import Booker


@dataclass(frozen=True)
class Applied:
    """One escalation a review opened, as the sweep reports it."""

    escalation_id: int
    episode_id: int
    level: int
    kind: str
    status: str
    summary: str
    appointment_id: int | None


def apply_decision(session: Session, app: App, decision: ReviewDecision, facts: EpisodeFacts,
                   book: Booker, *, now: datetime) -> list[Applied]:
    """Write the decision's escalations and carry out its effects; publish one event each.

    Effects are gathered first and each row is inserted once, complete: a backlog sweep
    writes thousands of escalations, and one statement per row keeps that in seconds.
    """
    names = {pid: p.name for pid, p in app.config.pathways.items()}
    opened: dict[str, tuple[EscalationRow, dict[str, Any]]] = {}
    measures: dict[int, list[dict[str, Any]]] = {}  # one evidence tuple is shared by many
    for effect in decision.effects:
        if isinstance(effect, OpenEscalation):
            shown = measures.setdefault(id(effect.evidence),
                                        [asdict(m) for m in effect.evidence])
            opened[effect.key] = _open(facts.episode_id, effect, shown, now)
    for effect in decision.effects:
        if isinstance(effect, BookReassessment):
            _book(session, app, effect, facts.episode_id, opened, book, now)
        elif not isinstance(effect, OpenEscalation):
            _note(effect, *opened[effect.escalation_key], names)
    for row, evidence in opened.values():
        row.evidence = json.dumps(evidence, sort_keys=True, default=str)
    session.add_all([row for row, _ in opened.values()])
    session.flush()
    applied = []
    for row, evidence in opened.values():
        assert row.id is not None
        if evidence.get("hold_progression"):
            place_hold(session, app, facts.episode_id, row.id, row.summary, now)
        publish(session, app, EscalationRaised(row.id, row.level, row.kind))
        app.audit(session, "escalation.open", "escalation", row.id, key=row.dedupe_key,
                  level=row.level, kind=row.kind)
        applied.append(Applied(row.id, facts.episode_id, row.level, row.kind, row.status,
                               row.summary, row.appointment_id))
    return applied


def _open(episode_id: int, effect: OpenEscalation, measures: list[dict[str, Any]],
          now: datetime) -> tuple[EscalationRow, dict[str, Any]]:
    row = EscalationRow(episode_id=episode_id, level=effect.level, kind=effect.kind,
                        dedupe_key=effect.key[:200], status="open", summary=effect.summary[:500],
                        created_at=now, updated_at=now)
    evidence: dict[str, Any] = {"summary": effect.summary, "facts": list(effect.facts),
                                "measures": measures, "actions": []}
    return row, evidence


def _note(effect: Effect, row: EscalationRow, evidence: dict[str, Any],
          pathway_names: dict[str, str]) -> None:
    """Record an effect on its escalation; messaging reads the row when the event arrives.

    ``actions`` says what carepath *did*; ``to_do`` what the therapist should do (carepath
    cannot screen for a relapse); a proposal is only proposed until someone accepts it."""
    actions: list[str] = evidence["actions"]
    to_do: list[str] = evidence.setdefault("to_do", [])
    if isinstance(effect, NotifyTherapist):
        evidence["notify_therapist"] = effect.therapist_id
        actions.append(f"emailed the episode's therapist ({effect.therapist_id})"
                       if effect.therapist_id else "no therapist is assigned to the episode")
    elif isinstance(effect, PromptRelapseScreen):
        evidence["relapse_screen"] = True
        to_do.append("screen for a relapse at the reassessment (new or worse symptoms "
                     "lasting 24 hours or more); carepath has not done this")
    elif isinstance(effect, HoldProgression):
        evidence["hold_progression"] = True
        actions.append("put a hold on progression: the episode's visits and invites show "
                       "it until a therapist clears it")
        to_do.append("do not make the next session harder; clear the hold when the patient "
                     "recovers within two hours again")
    elif isinstance(effect, OpenCaseReview):
        row.assigned_to = effect.senior_therapist_id
        actions.append(f"opened a case review for senior therapist "
                       f"{effect.senior_therapist_id or '(none configured)'}")
    elif isinstance(effect, NotifyPhysician):
        evidence["notify_physician"] = True
        actions.append("wrote to the referring physician")
    elif isinstance(effect, ProposePathway):
        row.proposed_pathway = effect.pathway_id
        name = pathway_names.get(effect.pathway_id, effect.pathway_id)
        evidence["proposed_pathway_name"] = name
        to_do.append(f"decide on the proposed {name}: nothing is booked until it is accepted")


def _book(session: Session, app: App, effect: BookReassessment, episode_id: int,
          opened: dict[str, tuple[EscalationRow, dict[str, Any]]], book: Booker,
          now: datetime) -> None:
    appointment_id, failure, note = effect.existing_appointment_id, "", ""
    if appointment_id is None:
        # The episode's own therapist first; when they have no time (leave, a full week),
        # a colleague within the same days beats a reassessment that comes too late.
        for therapist in dict.fromkeys([effect.therapist_id, None]):
            try:
                appointment_id = _try_book(session, app, effect, episode_id, book, now,
                                           therapist)
                break
            except (CarepathError, IntegrityError) as error:
                failure = failure or _why_not_booked(error)
        if appointment_id is not None and failure:
            note = f" with another therapist, because: {failure}"
        elif appointment_id is None and effect.fallback_appointment_id is not None:
            appointment_id = effect.fallback_appointment_id
            note = f"; no room for a separate visit ({failure}), so reassess at this visit"
    for key in effect.escalation_keys:
        row, evidence = opened[key]
        if appointment_id is None:
            evidence["booking_failed"] = failure
            evidence["actions"].append(f"could NOT book a reassessment: {failure}")
            evidence.setdefault("to_do", []).append(
                f"book a reassessment within {effect.within_days} days by hand")
            continue
        row.appointment_id = appointment_id
        row.status = next_status(row.id, row.status, "schedule")
        evidence["actions"].append(f"booked a reassessment (appointment {appointment_id}) "
                                   f"within {effect.within_days} days{note}")
        if note.startswith("; no room"):
            evidence["reassess_at_visit"] = appointment_id


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
