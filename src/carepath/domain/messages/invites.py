"""iCalendar objects for visits: iTIP invites, import files (feeds) and CalDAV objects.

What the rules are and why (RFC 5545, RFC 5546 iTIP, RFC 6047 iMIP, and what Google,
Outlook and Apple actually honour):

- **One UID per appointment, never one RRULE per series.** Cancelling or moving one
  instance of a series needs RECURRENCE-ID overrides that clients apply inconsistently.
- **SEQUENCE** comes from the appointment (it rises on every change of time, length or
  status, RFC 5545 §3.8.7.4). Clients drop an update whose SEQUENCE is not higher.
- **METHOD:CANCEL with STATUS:CANCELLED**, the same UID and the appointment's (higher)
  SEQUENCE. A REQUEST that merely carries STATUS:CANCELLED leaves the event in Google's
  and Outlook's calendars.
- **ORGANIZER** is the clinic's scheduling address on every update (a changed organizer
  makes clients treat the update as a new, foreign event); **ATTENDEE** is exactly the
  address the email goes to (Google ignores an invite whose attendee is not the mailbox).
- **DTSTAMP** is UTC and comes from the injected clock, so output is byte-for-byte
  reproducible. The calendar object itself carries no random UID.
- **VTIMEZONE for every TZID** (Outlook rejects a TZID it has no definition for), written
  as yearly RRULE observances (``carepath.domain.messages.vtimezone`` says why: icalendar's RDATE
  form is misread by vobject, and so by Radicale). A zone whose rule changes within the
  covered years falls back to icalendar's ``add_missing_timezones`` over the visits' dates.
- **VALARM with ACTION:DISPLAY** (AUDIO/EMAIL alarms are dropped or refused by most).
- Import files and CalDAV objects carry **no METHOD** (RFC 4791 §4.1 forbids it in stored
  calendar resources; a METHOD:PUBLISH file with attendees confuses Outlook). A therapist's
  feed and CalDAV objects carry no ORGANIZER or ATTENDEE either, so a scheduling-aware
  server (RFC 6638) sends no invites of its own on top of ours.
- **Patients are attendees too** (``invite_for(..., audience="patient")``): ORGANIZER the
  clinic, ATTENDEE the patient with ``RSVP=FALSE`` and ``PARTSTAT=ACCEPTED`` (the visit was
  agreed when it was booked: no Accept/Decline to answer). A change is a REQUEST with the
  same UID and a higher SEQUENCE, a cancellation a CANCEL, which calendar apps apply to the
  event they hold by UID (RFC 5546 §2.1.5). The schedule's import file (``feed`` with an
  ``attendee``) gives every event that same ORGANIZER and ATTENDEE while staying a plain
  import (no METHOD: RFC 5545 §3.7.2, a snapshot, not a transaction): an event imported
  with its organizer is one the organizer's later iTIP messages update; one imported
  without is the user's own, which a REQUEST from the clinic does not touch.
- **Minimum necessary**: a therapist's summary is the visit type and the patient's
  initials (``invite_detail: full_name`` shows the name); there is never a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from icalendar import Alarm, Calendar, Event, vCalAddress
from icalendar.enums import STATUS, TRANSP

from carepath.domain.messages.visits import (
    CalendarStyle,
    CalendarVisit,
    Invite,
    Method,
)
from carepath.domain.messages.vtimezone import vtimezone
from carepath.domain.timeutil import to_utc

PRODID = "-//carepath//care pathways//EN"
Audience = Literal["therapist", "patient"]


def summary(visit: CalendarVisit, style: CalendarStyle, audience: Audience) -> str:
    """What a calendar shows at a glance; never a diagnosis, by default only initials."""
    name = visit.appointment.visit_name
    if audience == "patient":
        return f"{name} – {style.clinic_name}"
    who = visit.patient.name if style.detail == "full_name" else visit.patient.initials
    return f"{name} – {who}"


def description(visit: CalendarVisit, style: CalendarStyle, audience: Audience) -> str:
    lines = [f"Therapist: {visit.therapist.name}", f"Room: {visit.rooms}"]
    if audience == "therapist":
        who = visit.patient.name if style.detail == "full_name" else visit.patient.initials
        lines.insert(0, f"Patient: {who}")
        if visit.hold:
            lines.insert(0, visit.hold)
    return "\n".join(lines)


def invite_for(visit: CalendarVisit, style: CalendarStyle, *, attendee: str,
               attendee_name: str, stamp: datetime, audience: Audience = "therapist") -> Invite:
    """The REQUEST (booked or changed) or CANCEL (cancelled) for one attendee: a therapist,
    or a patient (or caregiver) whose calendar holds the visit from the schedule."""
    method: Method = "CANCEL" if visit.cancelled else "REQUEST"
    event = _event(visit, style, audience, stamp)
    _address(event, style, attendee, attendee_name, audience, method)
    appointment = visit.appointment
    ics = _calendar([event], style, method=method)
    return Invite(method=method, uid=appointment.uid, sequence=appointment.sequence, ics=ics)


def feed(visits: Iterable[CalendarVisit], style: CalendarStyle, *, stamp: datetime,
         audience: Audience, name: str | None = None,
         attendee: tuple[str, str] | None = None) -> bytes:
    """An import file of many visits (no METHOD): exports, schedule attachments, digests.

    With ``attendee`` (address, name) every event names the clinic as ORGANIZER and the
    reader as ATTENDEE, exactly as the later REQUEST and CANCEL do, so that those apply
    to the imported events (see the module's notes)."""
    events = [_event(v, style, audience, stamp) for v in visits]
    if attendee is not None:
        for event in events:
            _address(event, style, *attendee, audience, "REQUEST")
    return _calendar(events, style, method=None, name=name)


def calendar_object(visit: CalendarVisit, style: CalendarStyle, *, stamp: datetime,
                    audience: Audience = "therapist") -> bytes:
    """One visit as a stored calendar resource (CalDAV PUT body, or an updated import)."""
    return _calendar([_event(visit, style, audience, stamp)], style, method=None)


def _event(visit: CalendarVisit, style: CalendarStyle, audience: Audience,
           stamp: datetime) -> Event:
    appointment = visit.appointment
    event = Event.new(
        uid=appointment.uid,
        sequence=appointment.sequence,
        stamp=to_utc(stamp),
        start=appointment.start.astimezone(style.zone),
        end=appointment.end.astimezone(style.zone),
        summary=summary(visit, style, audience),
        description=description(visit, style, audience),
        location=f"{style.clinic_name}, {style.address}",
        status=STATUS.CANCELLED if visit.cancelled else STATUS.CONFIRMED,
        transparency=TRANSP.OPAQUE,
    )
    if not visit.cancelled:
        before = style.therapist_alarm if audience == "therapist" else style.patient_alarm
        event.add_component(_alarm(summary(visit, style, audience), before))
    return event


def _alarm(text: str, before: timedelta) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", -before)
    return alarm


def _address(event: Event, style: CalendarStyle, attendee: str, name: str,
             audience: Audience, method: Method) -> None:
    """ORGANIZER the clinic; ATTENDEE exactly the recipient's address, never asked to reply."""
    partstat = None
    if method == "REQUEST":
        partstat = "ACCEPTED" if audience == "patient" else "NEEDS-ACTION"
    event.add("organizer", _organizer(style))
    event.add("attendee", vCalAddress.new(
        f"mailto:{attendee}", cn=name or None, role="REQ-PARTICIPANT", partstat=partstat,
        rsvp=False))


def _organizer(style: CalendarStyle) -> vCalAddress:
    return vCalAddress.new(f"mailto:{style.organizer_email}", cn=style.clinic_name)


def _calendar(events: Sequence[Event], style: CalendarStyle, *, method: Method | None,
              name: str | None = None) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", style.zone.key)
    first, last = _window(events) if events else (None, None)
    zone = vtimezone(style.zone, first, last) if first and last else None
    if zone is not None:
        calendar.add_component(zone)
    for event in events:
        calendar.add_component(event)
    if first and last and zone is None:
        calendar.add_missing_timezones(first, last)
    ics: bytes = calendar.to_ical()
    return ics


def _window(events: Sequence[Event]) -> tuple[date, date]:
    """The dates the VTIMEZONE must cover: a day either side of every visit."""
    first = min(_day(e.start) for e in events) - timedelta(days=1)
    last = max(_day(e.end) for e in events) + timedelta(days=1)
    return first, last


def _day(moment: date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment
