"""Who hears about an escalation: the therapist who must act, and at level 2 the physician.

Handles ``EscalationRaised`` (raised by the goal review in its transaction) and reads the
decision the escalation stores, as the typed effects the review returned: ``NotifyTherapist``
names the episode's therapist (told why, and when the reassessment is), the ``OpenCaseReview``
senior therapist is told too, and ``NotifyPhysician`` writes to the patient's referring
physician. A therapist's email shows each measure of the decision's evidence as the episode
report's chart, drawn as an inline PNG (mail clients show no SVG)
and said in words for the plain-text part and the image's ``alt``. Therapists see
initials; the physician, who must know whom we mean, sees the name and the clinic's patient
id. Subjects carry neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from carepath.adapters.tables import EpisodeRow, EscalationRow, PatientRow
from carepath.domain.goals.escalations import EscalationDecision
from carepath.domain.messages import notices
from carepath.domain.messages.mime import InlineImage, Mailbox, compose, content_id_for
from carepath.domain.messages.notices import EscalationNotice
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.calendar_views import calendar_style, load_visits
from carepath.services.escalations import decision_of
from carepath.services.events import EscalationRaised
from carepath.services.mailing import addressable, idempotency_key, sender_of, templates
from carepath.services.measure_charts import MeasureChart, episode_charts
from carepath.services.outbox_queue import enqueue


def on_escalation(session: Session, app: App, event: EscalationRaised) -> None:
    row = session.get(EscalationRow, event.escalation_id)
    if row is None:
        raise NotFound("escalation", event.escalation_id)
    episode = session.get(EpisodeRow, row.episode_id)
    patient = session.get(PatientRow, episode.patient_id) if episode else None
    if patient is None:
        return
    decision = decision_of(row)
    style = calendar_style(app)
    notice = _notice(app, row, decision, style)
    visit = _reassessment(session, app, row)
    initials = _initials(patient.name)
    charts = _charts(session, app, row, decision)
    for therapist_id in decision.therapists_to_tell:
        therapist = next((t for t in app.config.clinic.therapists if t.id == therapist_id), None)
        if therapist is None:
            continue
        to = addressable(session, app, therapist.email, therapist.name, kind="escalation")
        if to is None:
            continue
        images, phone = _pictures(_key(notice, "escalation_therapist", to), style, charts)
        context = notices.escalation_context(
            notice, style, patient_label=initials, addressee=therapist.name, reassessment=visit,
            charts=[(image.content_id, chart.spec) for image, chart in zip(images, charts,
                                                                           strict=True)],
            phone_charts=[image.content_id for image in phone])
        _queue(session, app, "escalation_therapist", notice, style, to, context,
               notices.escalation_subject(notice, style, audience="therapist",
                                          initials=initials), [*images, *phone])
    if decision.tells_physician and patient.physician_email:
        context = notices.escalation_context(
            notice, style, patient_label=f"{patient.name} (our id {patient.id})",
            addressee="Doctor", reassessment=visit)
        _queue(session, app, "escalation_physician", notice, style,
               addressable(session, app, patient.physician_email, "", kind="escalation"),
               context,
               notices.escalation_subject(notice, style, audience="physician",
                                          initials=initials))


def _notice(app: App, row: EscalationRow, decision: EscalationDecision,
            style: CalendarStyle) -> EscalationNotice:
    assert row.id is not None
    pathway = app.config.pathways.get(row.proposed_pathway or "")
    proposed = (decision.pathway_name or (pathway.name if pathway else row.proposed_pathway)
                or "")
    to_do = list(decision.to_do)
    if row.proposed_pathway:  # the real id, now that the row has one
        to_do.append(f"to accept the proposal: carepath escalations preview {row.id}, then "
                     f"carepath escalations accept {row.id}")
    return EscalationNotice(
        escalation_id=row.id, level=row.level, kind=row.kind, summary=row.summary,
        facts=decision.opened.facts, actions=decision.actions, proposed_pathway=proposed,
        to_do=tuple(to_do), readings=notices.measure_lines(decision.opened.evidence, style.zone))


def _reassessment(session: Session, app: App, row: EscalationRow) -> CalendarVisit | None:
    if row.appointment_id is None:
        return None
    (visit,) = load_visits(session, app, [row.appointment_id])
    return visit


def _initials(name: str) -> str:
    from carepath.domain.patients import Patient

    return Patient(id="-", name=name).initials


def _charts(session: Session, app: App, row: EscalationRow,
            decision: EscalationDecision) -> list[MeasureChart]:
    """The charts of the measures in the decision's evidence that have values, drawn
    from the same specs as the episode report's."""
    wanted = [m.measure_id for m in decision.opened.evidence]
    if not wanted:
        return []  # two-hour rule, attendance: no measure to show
    return [chart for chart in episode_charts(session, app, row.episode_id, only=wanted)
            if chart.spec.points]


def _pictures(key: str, style: CalendarStyle, charts: Sequence[MeasureChart],
              ) -> tuple[list[InlineImage], list[InlineImage]]:
    """Each chart as the email shows it on a screen, and drawn again for a phone (narrower,
    the same 20 px labels; the layout's media query swaps them below 480 px)."""
    if not charts:
        return [], []
    # Pillow loads only when a chart is drawn: every CLI command would pay ~40 ms otherwise.
    from carepath.adapters.chart_png import PHONE_FRAME, chart_png

    domain = sender_of(style).domain
    wide = [InlineImage(content_id_for(key, f"chart-{n}", domain), chart_png(chart.spec),
                        f"chart-{n}-{chart.measure_id}.png")
            for n, chart in enumerate(charts, start=1)]
    phone = [InlineImage(content_id_for(key, f"phone-{n}", domain),
                         chart_png(chart.spec, PHONE_FRAME), f"phone-{n}-{chart.measure_id}.png")
             for n, chart in enumerate(charts, start=1)]
    return wide, phone


def _key(notice: EscalationNotice, template: str, to: Mailbox) -> str:
    return idempotency_key("escalation", notice.escalation_id, template, to.email)


def _queue(session: Session, app: App, template: str, notice: EscalationNotice,
           style: CalendarStyle, to: Mailbox | None, context: dict[str, Any],
           subject: str, images: Sequence[InlineImage] = ()) -> None:
    if to is None:
        return
    key = _key(notice, template, to)
    message = compose(sender=sender_of(style), to=to, subject=subject,
                      body=templates().render(template, context), idempotency_key=key,
                      date=app.clock.now(), images=images)
    enqueue(session, app, message, kind=template.replace("_", "."), recipient=to.email,
            idempotency_key=key)
