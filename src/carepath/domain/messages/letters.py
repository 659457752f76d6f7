"""Each email about visits, composed from explicit inputs: who, which visits, the clinic's
style, a template renderer and the time of writing. Pure, so the same letter can be written
when a booking commits or later, when the outbox sends it.

What each recipient gets (the patient-side rules are in ``carepath.domain.messages.invites``):

- a therapist: one iMIP REQUEST per booked or changed visit, one CANCEL per cancelled one;
  a visit handed to a colleague is a CANCEL to the previous therapist that describes the
  visit as *they* had it (their time, their name: ``handed_over``) and a REQUEST to the new
  one. At enrolment a clinic may choose one digest with the episode as an import file.
- a patient, and a consenting caregiver for the visits they follow: one schedule email per
  booking with ``schedule.ics`` (an import file whose events name the clinic as ORGANIZER and
  the reader as ATTENDEE); a changed visit is a REQUEST, a cancelled one a CANCEL (same UID,
  higher SEQUENCE); many visits cancelled at once are one email carrying one CANCEL per visit
  as ``text/calendar`` attachments (RFC 6047 §2.4: each iCalendar object in its own MIME
  entity inside multipart/mixed); reminders carry no calendar.

Idempotency keys are built from what changed, so the same change is never queued twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from carepath.domain.messages import notices
from carepath.domain.messages.invites import feed, invite_for
from carepath.domain.messages.mime import Attachment, Body
from carepath.domain.messages.notices import ManageLink, Recipient
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit, Invite

Render = Callable[[str, dict[str, Any]], Body]
MAX_KEY = 200


@dataclass(frozen=True)
class Draft:
    """One email before it is addressed and sealed: ``kind`` is the outbox kind."""

    kind: str
    to_email: str
    to_name: str
    subject: str
    body: Body
    key: str
    invite: Invite | None = None
    attachments: tuple[Attachment, ...] = ()


def idempotency_key(*parts: object) -> str:
    """``kind:part:part…``, hashed when too long for the column (emails and UIDs can be)."""
    key = ":".join(str(p) for p in parts)
    if len(key) <= MAX_KEY:
        return key
    return f"{parts[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def fingerprint(visits: Sequence[CalendarVisit]) -> str:
    """A short digest of which visits, at which SEQUENCE: one key per distinct booking."""
    ids = ",".join(f"{v.appointment.uid}/{v.appointment.sequence}" for v in visits)
    return hashlib.sha256(ids.encode()).hexdigest()[:20]


def handed_over(visit: CalendarVisit, previous: CalendarVisit) -> CalendarVisit:
    """The cancelled visit as the previous therapist had it: their time and their name, at
    the visit's new (higher) SEQUENCE, so their calendar removes the event it holds."""
    gone = replace(previous.appointment, status="cancelled",
                   sequence=visit.appointment.sequence)
    return replace(previous, appointment=gone)


def therapist_invite(visit: CalendarVisit, style: CalendarStyle, render: Render, *,
                     stamp: datetime, reason: str = "", handed_to: str = "") -> Draft:
    """The REQUEST or CANCEL of one visit for its therapist (``visit.therapist``)."""
    therapist = visit.therapist
    invite = invite_for(visit, style, attendee=therapist.email, attendee_name=therapist.name,
                        stamp=stamp)
    body = render("therapist_invite", notices.therapist_context(
        [visit], style, method=invite.method, reason=reason, handed_to=handed_to))
    key = idempotency_key("invite", invite.uid, invite.sequence, invite.method,
                          visit.appointment.start.isoformat(), therapist.email)
    subject = notices.therapist_subject(visit, style, invite.method, handed_to=handed_to)
    return Draft(f"invite.{invite.method.lower()}", therapist.email, therapist.name, subject,
                 body, key, invite=invite)


def therapist_digest(visits: Sequence[CalendarVisit], style: CalendarStyle, render: Render, *,
                     stamp: datetime) -> Draft:
    """One email with an episode's visits for one therapist, as an import file."""
    therapist = visits[0].therapist
    ics = feed(visits, style, stamp=stamp, audience="therapist")
    body = render("therapist_digest", notices.therapist_context(visits, style))
    key = idempotency_key("digest", fingerprint(visits), therapist.email)
    return Draft("invite.digest", therapist.email, therapist.name,
                 notices.digest_subject(visits, style), body, key,
                 attachments=(Attachment("episode.ics", ics),))


def patient_schedule(visits: Sequence[CalendarVisit], style: CalendarStyle,
                     recipient: Recipient, render: Render, *, stamp: datetime,
                     added: bool = False, links: ManageLink | None = None,
                     feed_url: str | None = None) -> Draft:
    """The schedule of a booking, with every visit in ``schedule.ics`` (ORGANIZER the clinic,
    ATTENDEE the reader, no METHOD), so that later REQUESTs and CANCELs apply to them."""
    kind = "added" if added else "schedule"
    context = notices.schedule_context(visits, style, recipient, added=added, links=links,
                                       feed_url=feed_url)
    ics = feed(visits, style, stamp=stamp, audience="patient",
               attendee=(recipient.email, recipient.name))
    key = idempotency_key(kind, fingerprint(visits), recipient.email)
    subject = notices.patient_subject(kind, style, visits[0], count=len(visits),
                                      role=recipient.role)
    return Draft(f"{recipient.role}.{kind}", recipient.email, recipient.name, subject,
                 render("patient_schedule", context), key,
                 attachments=(Attachment("schedule.ics", ics),))


def patient_changed(visit: CalendarVisit, previous: CalendarVisit, style: CalendarStyle,
                    recipient: Recipient, render: Render, *, stamp: datetime,
                    links: ManageLink | None = None, feed_url: str | None = None) -> Draft:
    """A moved visit (new time or therapist): an iMIP REQUEST, same UID, higher SEQUENCE."""
    invite = _patient_invite(visit, style, recipient, stamp)
    context = notices.changed_context(visit, previous, style, recipient, links=links,
                                      feed_url=feed_url)
    return _single("changed", visit, recipient, style, render("patient_changed", context),
                   invite)


def patient_cancelled(visits: Sequence[CalendarVisit], style: CalendarStyle,
                      recipient: Recipient, render: Render, *, stamp: datetime,
                      feed_url: str | None = None) -> Draft:
    """One cancelled visit: an iMIP CANCEL. Many: one email listing them, one CANCEL each."""
    first = visits[0]
    if len(visits) == 1:
        context = notices.single_context(first, style, recipient, feed_url=feed_url)
        return _single("cancelled", first, recipient, style,
                       render("patient_cancelled", context),
                       _patient_invite(first, style, recipient, stamp))
    context = notices.schedule_context(visits, style, recipient, cancelled=True,
                                       feed_url=feed_url)
    cancels = tuple(
        Attachment(f"cancel-{number}.ics", _patient_invite(v, style, recipient, stamp).ics,
                   maintype="text", subtype="calendar", method="CANCEL")
        for number, v in enumerate(visits, start=1))
    key = idempotency_key("cancelled_many", fingerprint(visits), recipient.email)
    subject = notices.patient_subject("cancelled_many", style, first, count=len(visits),
                                      role=recipient.role)
    return Draft(f"{recipient.role}.cancelled_many", recipient.email, recipient.name, subject,
                 render("patient_cancelled_many", context), key, attachments=cancels)


def patient_reminder(visit: CalendarVisit, style: CalendarStyle, recipient: Recipient,
                     render: Render, *, hours_before: int, links: ManageLink | None = None,
                     feed_url: str | None = None) -> Draft:
    """A reminder; its key is per visit, start and reader, so a moved visit is reminded anew."""
    context = notices.single_context(visit, style, recipient, hours_before=hours_before,
                                     links=links, feed_url=feed_url)
    key = reminder_key(visit, recipient)
    subject = notices.patient_subject("reminder", style, visit, role=recipient.role)
    return Draft(f"{recipient.role}.reminder", recipient.email, recipient.name, subject,
                 render("patient_reminder", context), key)


def reminder_key(visit: CalendarVisit, recipient: Recipient) -> str:
    start = visit.appointment.start.isoformat()
    return idempotency_key("reminder", visit.appointment.uid, start, recipient.email)


def _patient_invite(visit: CalendarVisit, style: CalendarStyle, recipient: Recipient,
                    stamp: datetime) -> Invite:
    return invite_for(visit, style, attendee=recipient.email, attendee_name=recipient.name,
                      stamp=stamp, audience="patient")


def _single(kind: str, visit: CalendarVisit, recipient: Recipient, style: CalendarStyle,
            body: Body, invite: Invite) -> Draft:
    key = idempotency_key(kind, visit.appointment.uid, visit.appointment.sequence,
                          recipient.email)
    subject = notices.patient_subject(kind, style, visit, role=recipient.role)
    return Draft(f"{recipient.role}.{kind}", recipient.email, recipient.name, subject, body,
                 key, invite=invite)
