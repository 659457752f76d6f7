"""Who hears about an escalation: the therapist who must act, and at level 2 the physician.

Subscribes to ``EscalationRaised`` (raised by the goal review in its transaction) and reads
the escalation's evidence: ``notify_therapist`` names the episode's therapist (told why, and
when the reassessment is), the case-review assignee is told too, and ``notify_physician``
writes to the patient's referring physician. Therapists see initials; the physician, who
must know whom we mean, sees the name and the clinic's patient id. Subjects carry neither.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from carepath.adapters.tables import EpisodeRow, EscalationRow, PatientRow
from carepath.domain import notices
from carepath.domain.invites import CalendarStyle, CalendarVisit
from carepath.domain.messages import Mailbox, compose
from carepath.domain.notices import EscalationNotice
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.calendar_views import calendar_style, load_visits
from carepath.services.events import EscalationRaised, subscribe
from carepath.services.notify import addressable, idempotency_key, sender_of, templates
from carepath.services.outbox import enqueue


@subscribe(EscalationRaised)
def on_escalation(session: Session, app: App, event: EscalationRaised) -> None:
    row = session.get(EscalationRow, event.escalation_id)
    if row is None:
        raise NotFound("escalation", event.escalation_id)
    episode = session.get(EpisodeRow, row.episode_id)
    patient = session.get(PatientRow, episode.patient_id) if episode else None
    if patient is None:
        return
    evidence: dict[str, Any] = json.loads(row.evidence or "{}")
    notice = _notice(row, evidence)
    style = calendar_style(app)
    visit = _reassessment(session, app, row)
    initials = _initials(patient.name)
    for therapist_id in _therapists_to_tell(evidence, row):
        therapist = next((t for t in app.config.clinic.therapists if t.id == therapist_id), None)
        if therapist is None:
            continue
        context = notices.escalation_context(notice, style, patient_label=initials,
                                             addressee=therapist.name, reassessment=visit)
        _queue(session, app, "escalation_therapist", notice, style,
               addressable(session, app, therapist.email, therapist.name, kind="escalation"),
               context, notices.escalation_subject(notice, style, audience="therapist",
                                                   initials=initials))
    if evidence.get("notify_physician") and patient.physician_email:
        context = notices.escalation_context(
            notice, style, patient_label=f"{patient.name} (our id {patient.id})",
            addressee="Doctor", reassessment=None)
        _queue(session, app, "escalation_physician", notice, style,
               addressable(session, app, patient.physician_email, "", kind="escalation"),
               context,
               notices.escalation_subject(notice, style, audience="physician",
                                          initials=initials))


def _notice(row: EscalationRow, evidence: dict[str, Any]) -> EscalationNotice:
    assert row.id is not None
    proposed = row.proposed_pathway or ""
    return EscalationNotice(
        escalation_id=row.id, level=row.level, kind=row.kind, summary=row.summary,
        facts=tuple(str(f) for f in evidence.get("facts", [])),
        actions=tuple(str(a) for a in evidence.get("actions", [])), proposed_pathway=proposed)


def _therapists_to_tell(evidence: dict[str, Any], row: EscalationRow) -> list[str]:
    wanted = [evidence.get("notify_therapist"), row.assigned_to]
    return list(dict.fromkeys(str(t) for t in wanted if t))


def _reassessment(session: Session, app: App, row: EscalationRow) -> CalendarVisit | None:
    if row.appointment_id is None:
        return None
    (visit,) = load_visits(session, app, [row.appointment_id])
    return visit


def _initials(name: str) -> str:
    from carepath.domain.patients import Patient

    return Patient(id="-", name=name).initials


def _queue(session: Session, app: App, template: str, notice: EscalationNotice,
           style: CalendarStyle, to: Mailbox | None, context: dict[str, Any],
           subject: str) -> None:
    if to is None:
        return
    key = idempotency_key("escalation", notice.escalation_id, template, to.email)
    message = compose(sender=sender_of(style), to=to, subject=subject,
                      body=templates().render(template, context), idempotency_key=key,
                      date=app.clock.now())
    enqueue(session, app, message, kind=template.replace("_", "."), recipient=to.email,
            idempotency_key=key)
