"""Who is told what when visits are booked, moved or cancelled — queued in the same transaction.

Subscribers of scheduling's domain events. Each writes outbox rows (never sends) with an
idempotency key built from what changed, so the same change never queues twice:

- therapists: one iMIP invite per visit (REQUEST, or CANCEL), or at enrolment, when the
  clinic chooses ``new_episode_invites: digest``, one email with the episode's visits as
  an import file; changes and cancellations are always invites. A visit moved to another
  therapist is a CANCEL for the previous one and a REQUEST for the new one.
- patients: the schedule (with ``schedule.ics``), a changed or cancelled visit (with the
  updated calendar object), and reminders (``queue_due_reminders``, a periodic sweep).
  Many visits cancelled at once (``AppointmentsCancelled``: a relapse pauses boosters) are
  one email listing them all with ``cancelled.ics``; therapists still get a CANCEL each.
- caregivers: a copy of everything about visits marked ``caregiver_invited`` (progression
  reviews), only when the patient has consented.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, OutboxRow
from carepath.domain import notices
from carepath.domain.invites import CalendarStyle, CalendarVisit, calendar_object, feed, invite_for
from carepath.domain.messages import Attachment, compose
from carepath.domain.notices import Recipient
from carepath.services import App
from carepath.services.calendar_views import (
    calendar_style,
    load_visits,
    therapist_of,
    views_of,
    with_change,
)
from carepath.services.events import (
    AppointmentCancelled,
    AppointmentChanged,
    AppointmentsBooked,
    AppointmentsCancelled,
    subscribe,
)
from carepath.services.mailing import addressable, idempotency_key, sender_of, templates
from carepath.services.outbox import enqueue


@subscribe(AppointmentsBooked)
def on_booked(session: Session, app: App, event: AppointmentsBooked) -> None:
    visits = load_visits(session, app, event.appointment_ids)
    if not visits:
        return
    style, enrolment = calendar_style(app), event.reason == "enrolment"
    if event.reason == "imported":
        # Patients have these visits from the previous system; therapists get real invites
        # for the upcoming ones, so their calendars hold carepath's UIDs for later changes.
        for visit in visits:
            if visit.appointment.start > app.clock.now():
                _queue_invite(session, app, visit, style, reason="imported")
        return
    if enrolment and app.config.clinic.new_episode_invites == "digest":
        for group in _by_therapist(visits):
            _queue_digest(session, app, group, style)
    else:
        for visit in visits:
            _queue_invite(session, app, visit, style, reason=_reason_text(event.reason))
    for group in _by_patient(visits):
        _audit_if_no_email(session, app, group, "schedule")
        for recipient, shown in _patient_recipients(group):
            _queue_schedule(session, app, shown, style, recipient, added=not enrolment)


@subscribe(AppointmentChanged)
def on_changed(session: Session, app: App, event: AppointmentChanged) -> None:
    (visit,) = load_visits(session, app, [event.appointment_id])
    style = calendar_style(app)
    previous = with_change(visit, start=event.previous_start,
                           therapist=therapist_of(app, event.previous_therapist_id))
    if previous.therapist.id != visit.therapist.id:
        moved_away = replace(visit, therapist=previous.therapist,
                             appointment=replace(visit.appointment, status="cancelled"))
        _queue_invite(session, app, moved_away, style, reason="moved to another therapist")
    _queue_invite(session, app, visit, style, reason=_reason_text(event.reason))
    _audit_if_no_email(session, app, [visit], "change notice")
    for recipient, shown in _patient_recipients([visit]):
        context = notices.changed_context(shown[0], previous, style, recipient)
        ics = calendar_object(shown[0], style, stamp=app.clock.now(), audience="patient")
        _queue_patient(session, app, "changed", shown[0], recipient, context, style,
                       Attachment("appointment.ics", ics), visit.appointment.sequence)


@subscribe(AppointmentCancelled)
def on_cancelled(session: Session, app: App, event: AppointmentCancelled) -> None:
    _cancelled(session, app, load_visits(session, app, [event.appointment_id]), event.reason)


@subscribe(AppointmentsCancelled)
def on_cancelled_many(session: Session, app: App, event: AppointmentsCancelled) -> None:
    _cancelled(session, app, load_visits(session, app, event.appointment_ids), event.reason)


def _cancelled(session: Session, app: App, visits: Sequence[CalendarVisit], reason: str) -> None:
    """Therapists: one CANCEL per visit (one iTIP object per email); each patient: one email."""
    style = calendar_style(app)
    for visit in visits:
        _queue_invite(session, app, visit, style, reason=_reason_text(reason))
    for group in _by_patient(visits):
        _audit_if_no_email(session, app, group, "cancellation notice")
        for recipient, shown in _patient_recipients(group):
            _queue_cancellation(session, app, shown, style, recipient)


def _queue_cancellation(session: Session, app: App, visits: Sequence[CalendarVisit],
                        style: CalendarStyle, recipient: Recipient) -> None:
    """One visit: it and its updated calendar object. Many: one list and one import file of
    the updated objects (each STATUS:CANCELLED, SEQUENCE up; no METHOD: an iTIP CANCEL
    holds one UID, and the patient is no attendee)."""
    now, first = app.clock.now(), visits[0]
    if len(visits) == 1:
        context = notices.single_context(first, style, recipient)
        ics = calendar_object(first, style, stamp=now, audience="patient")
        _queue_patient(session, app, "cancelled", first, recipient, context, style,
                       Attachment("appointment.ics", ics), first.appointment.sequence)
        return
    context = notices.schedule_context(visits, style, recipient)
    key = idempotency_key("cancelled_many", _fingerprint(visits), recipient.email)
    _queue_patient(session, app, "cancelled_many", first, recipient, context, style,
                   Attachment("cancelled.ics", feed(visits, style, stamp=now,
                                                    audience="patient")), key=key)


def queue_due_reminders(app: App, *, now: datetime) -> int:
    """Queue reminders for booked visits starting within ``reminder_hours_before`` of ``now``.

    A sweep over the database, not a timer per visit: the key is per appointment and start,
    so a rescheduled visit gets a new reminder and no visit gets two. Returns how many
    messages were queued.
    """
    hours = app.config.clinic.reminder_hours_before
    style, queued = calendar_style(app), 0
    with transaction(app.engine) as session:
        rows = list(session.exec(select(AppointmentRow).where(
            AppointmentRow.status == "booked",
            AppointmentRow.start_utc > now,
            AppointmentRow.start_utc <= now + timedelta(hours=hours))))
        for visit in views_of(session, app, rows):
            for recipient, shown in _patient_recipients([visit]):
                key = _reminder_key(visit, recipient)
                if session.exec(select(col(OutboxRow.id)).where(
                        OutboxRow.idempotency_key == key)).first() is not None:
                    continue
                context = notices.single_context(shown[0], style, recipient, hours_before=hours)
                queued += _queue_patient(session, app, "reminder", shown[0], recipient,
                                         context, style, None, key=key)
    return queued


def _reminder_key(visit: CalendarVisit, recipient: Recipient) -> str:
    start = visit.appointment.start.isoformat()
    return idempotency_key("reminder", visit.appointment.uid, start, recipient.email)


def _queue_invite(session: Session, app: App, visit: CalendarVisit, style: CalendarStyle,
                  *, reason: str) -> None:
    therapist = visit.therapist
    if not therapist.email:
        return  # a therapist who has left the config has no address to invite
    to = addressable(session, app, therapist.email, therapist.name, kind="invite")
    if to is None:
        return
    invite = invite_for(visit, style, attendee=therapist.email, attendee_name=therapist.name,
                        stamp=app.clock.now())
    body = templates().render("therapist_invite", notices.therapist_context(
        [visit], style, method=invite.method, reason=reason))
    key = idempotency_key("invite", invite.uid, invite.sequence, invite.method,
                          visit.appointment.start.isoformat(), therapist.email)
    message = compose(
        sender=sender_of(style), to=to,
        subject=notices.therapist_subject(visit, style, invite.method), body=body,
        idempotency_key=key, date=app.clock.now(), invite=invite)
    enqueue(session, app, message, kind=f"invite.{invite.method.lower()}",
            recipient=therapist.email, idempotency_key=key)


def _queue_digest(session: Session, app: App, visits: Sequence[CalendarVisit],
                  style: CalendarStyle) -> None:
    therapist = visits[0].therapist
    if not therapist.email:
        return
    to = addressable(session, app, therapist.email, therapist.name, kind="invite.digest")
    if to is None:
        return
    ics = feed(visits, style, stamp=app.clock.now(), audience="therapist")
    body = templates().render("therapist_digest", notices.therapist_context(visits, style))
    key = idempotency_key("digest", _fingerprint(visits), therapist.email)
    message = compose(
        sender=sender_of(style), to=to,
        subject=notices.digest_subject(visits, style), body=body, idempotency_key=key,
        date=app.clock.now(), attachments=[Attachment("episode.ics", ics)])
    enqueue(session, app, message, kind="invite.digest", recipient=therapist.email,
            idempotency_key=key)


def _queue_schedule(session: Session, app: App, visits: Sequence[CalendarVisit],
                    style: CalendarStyle, recipient: Recipient, *, added: bool) -> None:
    context = notices.schedule_context(visits, style, recipient, added=added)
    ics = feed(visits, style, stamp=app.clock.now(), audience="patient")
    kind = "added" if added else "schedule"
    key = idempotency_key(kind, _fingerprint(visits), recipient.email)
    _queue_patient(session, app, kind, visits[0], recipient, context, style,
                   Attachment("schedule.ics", ics), key=key)


def _queue_patient(session: Session, app: App, kind: str, visit: CalendarVisit,
                   recipient: Recipient, context: dict[str, object], style: CalendarStyle,
                   attachment: Attachment | None, sequence: int = 0, *,
                   key: str | None = None) -> bool:
    to = addressable(session, app, recipient.email, recipient.name,
                     kind=f"{recipient.role}.{kind}")
    if to is None:
        return False
    template = "patient_schedule" if kind in ("schedule", "added") else f"patient_{kind}"
    key = key or idempotency_key(kind, visit.appointment.uid, sequence, recipient.email)
    message = compose(
        sender=sender_of(style), to=to,
        subject=notices.patient_subject(kind, style, visit),
        body=templates().render(template, context), idempotency_key=key,
        date=app.clock.now(), attachments=[attachment] if attachment else [])
    enqueue(session, app, message, kind=f"{recipient.role}.{kind}", recipient=recipient.email,
            idempotency_key=key)
    return True


def _patient_recipients(visits: Sequence[CalendarVisit],
                        ) -> list[tuple[Recipient, list[CalendarVisit]]]:
    """The patient (every visit) and, with consent, the caregiver (caregiver visits only)."""
    patient = visits[0].patient
    out: list[tuple[Recipient, list[CalendarVisit]]] = []
    if patient.email:
        out.append((Recipient(patient.email, patient.name), list(visits)))
    shared = [v for v in visits if v.appointment.caregiver_invited]
    if shared and patient.caregiver_consent and patient.caregiver_email:
        out.append((Recipient(patient.caregiver_email, "", "caregiver"), shared))
    return out


def _audit_if_no_email(session: Session, app: App, visits: Sequence[CalendarVisit],
                       what: str) -> None:
    """A patient without an address is on record, not skipped silently (reminders, a sweep
    that runs every few minutes, stay quiet: the schedule's entry already says it)."""
    patient = visits[0].patient
    if not patient.email:
        app.audit(session, "message.skipped", "patient", patient.id,
                  appointments=[v.appointment.id for v in visits],
                  reason=f"patient has no email: {what} not sent")


def _fingerprint(visits: Sequence[CalendarVisit]) -> str:
    ids = ",".join(f"{v.appointment.uid}/{v.appointment.sequence}" for v in visits)
    return hashlib.sha256(ids.encode()).hexdigest()[:20]


def _by_therapist(visits: Sequence[CalendarVisit]) -> list[list[CalendarVisit]]:
    groups: dict[str, list[CalendarVisit]] = defaultdict(list)
    for visit in visits:
        groups[visit.therapist.id].append(visit)
    return list(groups.values())


def _by_patient(visits: Sequence[CalendarVisit]) -> list[list[CalendarVisit]]:
    groups: dict[str, list[CalendarVisit]] = defaultdict(list)
    for visit in visits:
        groups[visit.patient.id].append(visit)
    return list(groups.values())


def _reason_text(reason: str) -> str:
    return "" if reason in ("booked", "enrolment") else reason.replace("_", " ")
