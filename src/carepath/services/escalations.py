"""Escalation use cases: list, show, resolve, dismiss (with a reason) and accept a proposal.

Status changes follow the table in ``carepath.domain.escalations``; each one is audited.
Accepting a level-2 escalation enrols the patient in the proposed pathway (through the
scheduling engine) and resolves the escalation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import EpisodeRow, EscalationRow
from carepath.domain.escalations import next_status
from carepath.domain.timeline import Accept
from carepath.errors import InputError, NotFound
from carepath.services import App
from carepath.services.lifecycle import apply_event


@dataclass(frozen=True)
class EscalationView:
    id: int
    episode_id: int
    level: int
    kind: str
    status: str
    summary: str
    appointment_id: int | None
    assigned_to: str | None
    proposed_pathway: str | None
    resolution: str
    created_at: datetime
    updated_at: datetime
    evidence: dict[str, Any]


def _view(row: EscalationRow) -> EscalationView:
    assert row.id is not None
    return EscalationView(row.id, row.episode_id, row.level, row.kind, row.status, row.summary,
                          row.appointment_id, row.assigned_to, row.proposed_pathway,
                          row.resolution, row.created_at, row.updated_at,
                          json.loads(row.evidence or "{}"))


def list_escalations(app: App, *, status: str | None = None,
                     episode_id: int | None = None) -> list[EscalationView]:
    """Escalations, newest first; filter by status ("open", …) or episode."""
    query = select(EscalationRow).order_by(col(EscalationRow.id).desc())
    if status:
        query = query.where(EscalationRow.status == status)
    if episode_id is not None:
        query = query.where(EscalationRow.episode_id == episode_id)
    with transaction(app.engine) as session:
        return [_view(r) for r in session.exec(query)]


def _row(session: Session, escalation_id: int) -> EscalationRow:
    row = session.get(EscalationRow, escalation_id)
    if row is None:
        raise NotFound("escalation", escalation_id, "list them with: carepath escalations list")
    return row


def get_escalation(app: App, escalation_id: int) -> EscalationView:
    with transaction(app.engine) as session:
        return _view(_row(session, escalation_id))


def _change(app: App, escalation_id: int, event: str, reason: str) -> EscalationView:
    with transaction(app.engine) as session:
        row = _row(session, escalation_id)
        before = row.status
        row.status = next_status(escalation_id, row.status, event, reason)
        row.resolution, row.updated_at = reason.strip()[:500], app.clock.now()
        session.add(row)
        app.audit(session, f"escalation.{event}", "escalation", escalation_id, before=before,
                  after=row.status, reason=reason)
        return _view(row)


def resolve_escalation(app: App, escalation_id: int, reason: str = "") -> EscalationView:
    """Close an escalation as dealt with."""
    return _change(app, escalation_id, "resolve", reason)


def dismiss_escalation(app: App, escalation_id: int, reason: str) -> EscalationView:
    """Close an escalation as not needing action; the reason is required and kept."""
    return _change(app, escalation_id, "dismiss", reason)


def accept_escalation(app: App, escalation_id: int, start: date | None = None) -> int:
    """Enrol the patient in the escalation's proposed pathway; the new episode's id.

    One timeline event (``Accept``): when the proposed pathway may not run beside the episode
    that proposed it, that episode is completed (its future visits cancelled) in the same
    transaction as the enrolment."""
    with transaction(app.engine) as session:
        row = _row(session, escalation_id)
        if not row.proposed_pathway:
            raise InputError(f"escalation {escalation_id}", "proposes no pathway",
                             "only a level-2 escalation with a proposal can be accepted")
        next_status(escalation_id, row.status, "resolve")  # refuse a closed one early
        episode = session.get(EpisodeRow, row.episode_id)
        assert episode is not None
        patient, pathway = episode.patient_id, row.proposed_pathway
        proposing = row.episode_id
    result = apply_event(app, patient, Accept(proposing, pathway), start=start)
    assert result.next_episode_id is not None
    new_episode = result.next_episode_id
    resolve_escalation(app, escalation_id, f"accepted: enrolled in {pathway} "
                                           f"(episode {new_episode})")
    return new_episode
