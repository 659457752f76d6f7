"""Who is told what when visits are booked, moved or cancelled — queued in the same transaction.

Handlers of scheduling's domain events (wired in ``carepath.bootstrap``). What each email
says and carries is decided by ``carepath.domain.messages.letters`` (pure: therapists get one iMIP
REQUEST or CANCEL per visit, patients a schedule, then a REQUEST for a change and a CANCEL
for a cancellation); this module loads the visits, addresses the drafts and writes them to
the outbox (never sends), each under an idempotency key built from what changed, so the same
change never queues twice.

- A visit moved to another therapist is a CANCEL for the previous one, describing the visit
  as they had it (old time, old therapist), and a REQUEST for the new one.
- Many visits cancelled at once (``AppointmentsCancelled``: a relapse pauses boosters) are one
  email to the patient listing them all, with one CANCEL per visit; therapists a CANCEL each.
- Caregivers get a copy of everything about visits marked ``caregiver_invited`` (progression
  reviews), only when the patient has consented.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, MessageJobRow, OutboxRow
from carepath.domain.messages import letters
from carepath.domain.messages.letters import Draft
from carepath.domain.messages.mime import Body, compose
from carepath.domain.messages.notices import Recipient
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit
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
    ProgressionHoldChanged,
)
from carepath.services.mailing import addressable, sender_of, templates
from carepath.services.outbox_queue import enqueue
from carepath.services.web_links import links_of, patient_feed_url


def _render(name: str, context: dict[str, Any]) -> Body:
    return templates().render(name, context)


def on_booked(session: Session, app: App, event: AppointmentsBooked) -> None:
    if event.deferred:
        session.add(MessageJobRow(kind="booked", created_at=app.clock.now(), facts=json.dumps(
            {"appointment_ids": list(event.appointment_ids), "episode_id": event.episode_id,
             "reason": event.reason})))
        return
    visits = [v for v in load_visits(session, app, event.appointment_ids)
              if not v.cancelled]  # a deferred job's visit may be cancelled since
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


def compose_pending(app: App, *, limit: int | None = None) -> int:
    """Turn the facts of deferred bookings into outbox rows, one job per transaction, in
    the order they were booked; returns how many jobs were composed."""
    done = 0
    while limit is None or done < limit:
        with transaction(app.engine) as session:
            job = session.exec(select(MessageJobRow).order_by(col(MessageJobRow.id))).first()
            if job is None:
                break
            facts = json.loads(job.facts)
            on_booked(session, app, AppointmentsBooked(
                tuple(facts["appointment_ids"]), facts["episode_id"], facts["reason"]))
            session.delete(job)
        done += 1
    return done


def _withdraw_from_jobs(session: Session, appointment_ids: Sequence[int | None], *,
                        keep: bool = False) -> set[int]:
    """Which of these appointments still wait in a deferred booking job (never announced);
    unless ``keep``, they are taken out of it."""
    wanted, found = {a for a in appointment_ids if a is not None}, set()
    for job in session.exec(select(MessageJobRow).where(MessageJobRow.kind == "booked")):
        facts = json.loads(job.facts)
        pending = set(facts["appointment_ids"]) & wanted
        found |= pending
        if not pending or keep:
            continue
        facts["appointment_ids"] = [a for a in facts["appointment_ids"] if a not in wanted]
        if facts["appointment_ids"]:
            job.facts = json.dumps(facts)
            session.add(job)
        else:
            session.delete(job)
    return found


def on_changed(session: Session, app: App, event: AppointmentChanged) -> None:
    if _withdraw_from_jobs(session, [event.appointment_id], keep=True):
        return  # not announced yet: its deferred job announces it as it now stands
    (visit,) = load_visits(session, app, [event.appointment_id])
    style = calendar_style(app)
    previous = with_change(visit, start=event.previous_start,
                           therapist=therapist_of(app, event.previous_therapist_id))
    if previous.therapist.id != visit.therapist.id:
        _queue_invite(session, app, letters.handed_over(visit, previous), style,
                      reason=_reason_text(event.reason), handed_to=visit.therapist.name)
    _queue_invite(session, app, visit, style, reason=_reason_text(event.reason))
    _audit_if_no_email(session, app, [visit], "change notice")
    for recipient, shown in _patient_recipients([visit]):
        _queue(session, app, letters.patient_changed(
            shown[0], previous, style, recipient, _render, stamp=app.clock.now(),
            links=links_of(app), feed_url=patient_feed_url(session, app, visit.patient.id)),
            style)


def on_cancelled(session: Session, app: App, event: AppointmentCancelled) -> None:
    _cancelled(session, app, load_visits(session, app, [event.appointment_id]), event.reason)


def on_cancelled_many(session: Session, app: App, event: AppointmentsCancelled) -> None:
    _cancelled(session, app, load_visits(session, app, event.appointment_ids), event.reason)


def _cancelled(session: Session, app: App, visits: Sequence[CalendarVisit], reason: str) -> None:
    """Therapists: one CANCEL per visit (one iTIP object per email); each patient: one email.

    A visit whose booking messages were deferred and not yet composed was never announced:
    it leaves its job and nobody is told of its cancellation either."""
    unannounced = _withdraw_from_jobs(session, [v.appointment.id for v in visits])
    visits = [v for v in visits if v.appointment.id not in unannounced]
    style = calendar_style(app)
    for visit in visits:
        _queue_invite(session, app, visit, style, reason=_reason_text(reason))
    for group in _by_patient(visits):
        _audit_if_no_email(session, app, group, "cancellation notice")
        for recipient, shown in _patient_recipients(group):
            _queue(session, app, letters.patient_cancelled(
                shown, style, recipient, _render, stamp=app.clock.now(),
                feed_url=patient_feed_url(session, app, group[0].patient.id)), style)


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
                key = letters.reminder_key(visit, recipient)
                if session.exec(select(col(OutboxRow.id)).where(
                        OutboxRow.idempotency_key == key)).first() is not None:
                    continue
                queued += _queue(session, app, letters.patient_reminder(
                    shown[0], style, recipient, _render, hours_before=hours,
                    links=links_of(app),
                    feed_url=patient_feed_url(session, app, visit.patient.id)), style)
    return queued


def on_hold_changed(session: Session, app: App, event: ProgressionHoldChanged) -> None:
    """The therapist's invite for the episode's next visit says (or no longer says) HOLD:
    its SEQUENCE rises and the updated REQUEST goes to the therapist only — the description
    changed, not the time, so the patient is not written to."""
    upcoming = session.exec(select(AppointmentRow).where(
        AppointmentRow.episode_id == event.episode_id, AppointmentRow.status == "booked",
        col(AppointmentRow.start_utc) > event.at).order_by(col(AppointmentRow.start_utc))).first()
    if upcoming is None or upcoming.id is None:
        return
    upcoming.sequence += 1
    upcoming.updated_at = event.at
    session.add(upcoming)
    session.flush()
    (visit,) = load_visits(session, app, [upcoming.id])
    _queue_invite(session, app, visit, calendar_style(app), reason=event.reason)


def _queue_invite(session: Session, app: App, visit: CalendarVisit, style: CalendarStyle,
                  *, reason: str, handed_to: str = "") -> None:
    if not visit.therapist.email:
        return  # a therapist who has left the config has no address to invite
    _queue(session, app, letters.therapist_invite(
        visit, style, _render, stamp=app.clock.now(), reason=reason, handed_to=handed_to),
        style)


def _queue_digest(session: Session, app: App, visits: Sequence[CalendarVisit],
                  style: CalendarStyle) -> None:
    if not visits[0].therapist.email:
        return
    _queue(session, app, letters.therapist_digest(visits, style, _render,
                                                  stamp=app.clock.now()), style)


def _queue_schedule(session: Session, app: App, visits: Sequence[CalendarVisit],
                    style: CalendarStyle, recipient: Recipient, *, added: bool) -> None:
    _queue(session, app, letters.patient_schedule(
        visits, style, recipient, _render, stamp=app.clock.now(), added=added,
        links=links_of(app), feed_url=patient_feed_url(session, app, visits[0].patient.id)),
        style)


def _queue(session: Session, app: App, draft: Draft, style: CalendarStyle) -> bool:
    """Address the draft (an unusable address is audited and skipped) and queue it."""
    to = addressable(session, app, draft.to_email, draft.to_name, kind=draft.kind)
    if to is None:
        return False
    message = compose(
        sender=sender_of(style), to=to, subject=draft.subject, body=draft.body,
        idempotency_key=draft.key, date=app.clock.now(), invite=draft.invite,
        attachments=draft.attachments)
    enqueue(session, app, message, kind=draft.kind, recipient=draft.to_email,
            idempotency_key=draft.key)
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
