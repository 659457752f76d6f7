"""Escalation use cases: list, show, resolve, dismiss (with a reason) and accept a proposal.

Status changes follow the table in ``carepath.domain.goals.escalations``; each one is audited.
Accepting a level-2 escalation enrols the patient in the proposed pathway (through the
scheduling engine, with a therapist who has the skills its visits need) and resolves the
escalation; ``preview_acceptance`` shows what it would book. Plain functions returning
dataclasses: the CLI and the web app call the same ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import EpisodeRow, EscalationRow
from carepath.domain.config.models import Pathway
from carepath.domain.goals.escalation_codec import decode_decision
from carepath.domain.goals.escalations import (
    OPEN_STATUSES,
    EscalationDecision,
    HoldProgression,
    NotifyPhysician,
    NotifyTherapist,
    PromptRelapseScreen,
    ProposePathway,
    next_status,
)
from carepath.domain.timeline import Accept
from carepath.errors import CarepathError, NotFound
from carepath.services import App
from carepath.services.lifecycle import apply_event


@dataclass(frozen=True)
class EscalationView:
    """One escalation as people see it — the CLI, the web app, the sweep's report: the row's
    state and the typed decision it stores, which every sentence shown is said from."""

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
    decision: EscalationDecision

    @property
    def evidence(self) -> dict[str, Any]:
        """The decision as JSON shows it: the measures, facts, what carepath did and what the
        therapist should do, and a flag for each effect."""
        decision = self.decision
        shown: dict[str, Any] = {
            "summary": decision.opened.summary, "facts": list(decision.opened.facts),
            "measures": [asdict(m) for m in decision.opened.evidence],
            "actions": list(decision.actions), "to_do": list(decision.to_do)}
        for effect in decision.effects:
            if isinstance(effect, NotifyTherapist):
                shown["notify_therapist"] = effect.therapist_id
            elif isinstance(effect, NotifyPhysician):
                shown["notify_physician"] = True
            elif isinstance(effect, PromptRelapseScreen):
                shown["relapse_screen"] = True
            elif isinstance(effect, HoldProgression):
                shown["hold_progression"] = True
            elif isinstance(effect, ProposePathway):
                shown["proposed_pathway_name"] = decision.pathway_name or effect.pathway_id
        outcome = decision.reassessment
        if outcome is not None and outcome.appointment_id is None:
            shown["booking_failed"] = outcome.failure
        elif outcome is not None and outcome.at_visit:
            shown["reassess_at_visit"] = outcome.appointment_id
        return shown


def decision_of(row: EscalationRow) -> EscalationDecision:
    """The decision an escalation row stores (an old row's too)."""
    return decode_decision(row.evidence, key=row.dedupe_key, level=row.level, kind=row.kind,
                           summary=row.summary, assigned_to=row.assigned_to,
                           proposed_pathway=row.proposed_pathway)


def escalation_view(row: EscalationRow,
                    decision: EscalationDecision | None = None) -> EscalationView:
    assert row.id is not None
    return EscalationView(row.id, row.episode_id, row.level, row.kind, row.status, row.summary,
                          row.appointment_id, row.assigned_to, row.proposed_pathway,
                          row.resolution, row.created_at, row.updated_at,
                          decision or decision_of(row))


def list_escalations(app: App, *, status: str | None = None,
                     episode_id: int | None = None) -> list[EscalationView]:
    """Escalations, newest first; filter by status ("open", …) or episode."""
    query = select(EscalationRow).order_by(col(EscalationRow.id).desc())
    if status:
        query = query.where(EscalationRow.status == status)
    if episode_id is not None:
        query = query.where(EscalationRow.episode_id == episode_id)
    with transaction(app.engine) as session:
        return [escalation_view(r) for r in session.exec(query)]


def _row(session: Session, escalation_id: int) -> EscalationRow:
    row = session.get(EscalationRow, escalation_id)
    if row is None:
        raise NotFound("escalation", escalation_id, "list them with: carepath escalations list")
    return row


def get_escalation(app: App, escalation_id: int) -> EscalationView:
    with transaction(app.engine) as session:
        return escalation_view(_row(session, escalation_id))


def _change(app: App, escalation_id: int, event: str, reason: str) -> EscalationView:
    with transaction(app.engine) as session:
        row = _row(session, escalation_id)
        before = row.status
        row.status = next_status(escalation_id, row.status, event, reason)
        row.resolution, row.updated_at = reason.strip()[:500], app.clock.now()
        session.add(row)
        app.audit(session, f"escalation.{event}", "escalation", escalation_id, before=before,
                  after=row.status, reason=reason)
        return escalation_view(row)


def resolve_escalation(app: App, escalation_id: int, reason: str = "") -> EscalationView:
    """Close an escalation as dealt with."""
    return _change(app, escalation_id, "resolve", reason)


def dismiss_escalation(app: App, escalation_id: int, reason: str) -> EscalationView:
    """Close an escalation as not needing action; the reason is required and kept."""
    return _change(app, escalation_id, "dismiss", reason)


class CannotAccept(CarepathError):
    """An escalation's proposal cannot be accepted: ``reason`` says what is missing."""

    exit_code = 6

    def __init__(self, escalation_id: int, reason: str, fix: str = "") -> None:
        self.escalation_id, self.reason, self.fix = escalation_id, reason, fix
        text = f"escalation {escalation_id} cannot be accepted: {reason}"
        super().__init__(text + (f" — {fix}" if fix else ""))


@dataclass(frozen=True)
class ProposedVisit:
    visit: str
    start: datetime
    therapist_id: str


@dataclass(frozen=True)
class AcceptPreview:
    """What ``accept`` would do: who, which pathway (by name), which visits, from when."""

    escalation_id: int
    episode_id: int
    patient_id: str
    pathway_id: str
    pathway_name: str
    therapist_id: str
    therapist_name: str
    start: date
    visits: tuple[ProposedVisit, ...]


@dataclass(frozen=True)
class Accepted:
    escalation_id: int
    new_episode_id: int
    pathway_id: str
    pathway_name: str
    therapist_id: str
    booked: int


@dataclass(frozen=True)
class _Proposal:
    escalation_id: int
    episode_id: int
    patient_id: str
    pathway_id: str
    candidates: tuple[str, ...]  # therapists with every needed skill, the episode's first


def _proposal(app: App, escalation_id: int) -> _Proposal:
    """The escalation's proposal, refused early when it cannot be accepted."""
    with transaction(app.engine) as session:
        row = _row(session, escalation_id)
        if not row.proposed_pathway:
            raise CannotAccept(escalation_id, "it proposes no pathway",
                               "only a level-2 escalation with a proposal can be accepted")
        if row.status not in OPEN_STATUSES:
            raise CannotAccept(escalation_id, f"it is already {row.status}"
                               + (f" ({row.resolution})" if row.resolution else ""))
        accepted = _accepted_sibling(session, row)
        if accepted is not None:
            raise CannotAccept(escalation_id, f"escalation {accepted.id} of episode "
                               f"{row.episode_id} was already accepted ({accepted.resolution})",
                               f"dismiss this one: carepath escalations dismiss {escalation_id} "
                               "--reason 'already enrolled'")
        episode = session.get(EpisodeRow, row.episode_id)
        assert episode is not None
        pathway = app.config.pathway(row.proposed_pathway)
        candidates = qualified_therapists(app, pathway, [episode.therapist_id, row.assigned_to])
        if not candidates:
            raise CannotAccept(escalation_id, "no therapist has the skills its visits need ("
                               + ", ".join(sorted(needed_skills(pathway))) + ")",
                               "add the skill to a therapist in clinic.yaml")
        return _Proposal(escalation_id, row.episode_id, episode.patient_id, pathway.id,
                         tuple(candidates))


def _accepted_sibling(session: Session, row: EscalationRow) -> EscalationRow | None:
    """Another escalation of the same episode whose proposal was already accepted."""
    query = select(EscalationRow).where(EscalationRow.episode_id == row.episode_id,
                                        EscalationRow.id != row.id,
                                        col(EscalationRow.resolution).startswith("accepted:"))
    return session.exec(query).first()


def needed_skills(pathway: Pathway) -> set[str]:
    return {skill for visit in pathway.visit_types.values() for skill in visit.needs.skills}


def qualified_therapists(app: App, pathway: Pathway,
                         preferred: list[str | None]) -> list[str]:
    """Therapists with every skill the pathway's visits need: the preferred ones first (the
    episode's therapist, then the case reviewer), then the rest by id."""
    needed = needed_skills(pathway)
    able = [t.id for t in app.config.clinic.therapists if needed <= set(t.skills)]
    first = [t for t in dict.fromkeys(preferred) if t in able]
    return first + sorted(t for t in able if t not in first)


def _start(app: App, start: date | None) -> date:
    today = app.clock.now().astimezone(ZoneInfo(app.config.clinic.timezone)).date()
    return start or today + timedelta(days=1)


def preview_acceptance(app: App, escalation_id: int,
                       start: date | None = None) -> AcceptPreview:
    """What accepting would book, without booking: the therapist and every visit.

    Raises ``CannotAccept`` with what is missing when nothing could be booked."""
    from carepath.services.scheduling import schedule_for

    proposal = _proposal(app, escalation_id)
    first_day = _start(app, start)
    failures: list[str] = []
    for therapist in proposal.candidates:
        try:
            schedule = schedule_for(app, proposal.patient_id, proposal.pathway_id, first_day,
                                    therapist)
        except CarepathError as error:
            failures.append(f"{therapist}: {error}")
            continue
        pathway = app.config.pathway(proposal.pathway_id)
        return AcceptPreview(
            escalation_id, proposal.episode_id, proposal.patient_id, pathway.id, pathway.name,
            therapist, app.config.therapist(therapist).name, first_day,
            tuple(ProposedVisit(p.requirement.label, p.start, p.therapist_id)
                  for p in schedule.placements))
    raise CannotAccept(escalation_id, "no visit could be booked: " + "; ".join(failures),
                       "try a later --start, or free a therapist's time")


def accept_proposal(app: App, escalation_id: int, start: date | None = None) -> Accepted:
    """Enrol the patient in the proposed pathway with a therapist who has every skill its
    visits need (the episode's therapist when possible), then resolve the escalation.

    One timeline event (``Accept``): when the proposed pathway may not run beside the episode
    that proposed it, that episode is completed (its future visits cancelled) in the same
    transaction as the enrolment. All or nothing: when no qualified therapist can take every
    visit, nothing is booked, the escalation stays open and ``CannotAccept`` says what is
    missing. A second accept — of this escalation or of another of the same episode — is
    refused.
    """
    proposal = _proposal(app, escalation_id)
    first_day = _start(app, start)
    failures: list[str] = []
    for therapist in proposal.candidates:
        try:
            result = apply_event(app, proposal.patient_id,
                                 Accept(proposal.episode_id, proposal.pathway_id),
                                 start=first_day, therapist_id=therapist, partial=False)
        except CarepathError as error:
            failures.append(f"{therapist}: {error}")
            continue
        if result.next_episode_id is None:  # the timeline refused: say why, book nothing
            raise CannotAccept(escalation_id, result.skipped or "the care timeline refused it")
        pathway = app.config.pathway(proposal.pathway_id)
        booked = len(result.booked_visits)
        resolve_escalation(app, escalation_id,
                           f"accepted: enrolled in {pathway.name} (episode "
                           f"{result.next_episode_id}, {booked} visit(s) with {therapist})")
        return Accepted(escalation_id, result.next_episode_id, pathway.id, pathway.name,
                        therapist, booked)
    raise CannotAccept(escalation_id, "nothing was booked: " + "; ".join(failures),
                       "try a later --start, or free a therapist's time")


def accept_escalation(app: App, escalation_id: int, start: date | None = None) -> int:
    """Accept a level-2 proposal; the new episode's id (see ``accept_proposal``)."""
    return accept_proposal(app, escalation_id, start).new_episode_id
