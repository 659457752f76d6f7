"""What each email says: subjects and template contexts, from visits and clinic settings.

Pure: the templates only lay these values out. Times are shown in the clinic's zone, in
words a tired reader can take in at a glance ("Wednesday", "10 March 2027", "9:00 AM").
Subjects never carry clinical detail (a subject shows on lock screens and in shared
inboxes): no visit type, no diagnosis, only the clinic and the date.

A caregiver reads about the patient's visit, not their own ("Ava's appointment"), is
invited to come along only to a visit that takes place, and every count is written with
its noun in the right number ("1 appointment", "3 appointments").

Every patient context carries the clinic's contact details and two optional links the web
app fills when it runs: ``manage_url`` (the self-service page of the visit, also per
visit line) and ``feed_url`` (the patient's calendar subscription). Both are None
otherwise, and the templates leave them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from carepath.domain.goals.charts import ChartSpec, describe, title_text
from carepath.domain.goals.escalations import MeasureEvidence
from carepath.domain.messages.invites import summary
from carepath.domain.messages.visits import CalendarStyle, CalendarVisit, Method
from carepath.domain.timeutil import WEEKDAY_NAMES

Role = Literal["patient", "caregiver"]
# The web app's self-service link for one visit (signed, expiring), or None.
ManageLink = Callable[[CalendarVisit], "str | None"]


def count_text(number: int, singular: str, plural: str | None = None) -> str:
    """``1 appointment``, ``2 appointments``: the number with its noun in the right number."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"

ADVICE = (
    ("Stay cool",
     "Heat can make MS symptoms worse for a while. Wear light clothes, bring cold water, "
     "and tell your therapist if you feel too warm."),
    ("The two-hour rule",
     "After your session you should feel back to normal within two hours. If you still feel "
     "worse after two hours, the session was too hard: tell your therapist. Repeated "
     "reports put a hold on your programme: your sessions are not made harder until your "
     "therapist has checked that you recover within two hours again."),
    ("Bring your walking aid",
     "Bring the cane, crutches, walker or wheelchair you use every day, any braces or "
     "orthotics, and wear comfortable shoes."),
)

# What a visit needs from the patient, by the tags of the rooms and equipment it uses.
BRING_BY_TAG = {
    "pool": "swimwear, a towel and flip-flops",
    "gait-trainer": "comfortable trousers and flat shoes that close firmly",
    "gym": "comfortable clothes you can move in",
    "family-room": "a list of your aids and devices; your caregiver is welcome",
}
ALWAYS_BRING = "your walking aid and a bottle of cold water"  # said once, not in every row


@dataclass(frozen=True)
class Recipient:
    """Who an email is for: the patient, or a caregiver the patient agreed to inform."""

    email: str
    name: str
    role: Role = "patient"


def clock_text(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def date_text(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%B %Y}"


def bring_list(visit: CalendarVisit) -> str:
    tags = [tag for resource in visit.resources for tag in resource.provides]
    extras = [BRING_BY_TAG[tag] for tag in dict.fromkeys(tags) if tag in BRING_BY_TAG]
    return "; ".join(extras) or "Nothing extra"


def visit_line(visit: CalendarVisit, zone: ZoneInfo,
               links: ManageLink | None = None) -> dict[str, Any]:
    """One row of the schedule table (a card on a phone), in the clinic's local time."""
    appointment = visit.appointment
    local = appointment.start.astimezone(zone)
    return {
        "weekday": WEEKDAY_NAMES[local.weekday()],
        "date": date_text(appointment.start, zone),
        "time": clock_text(appointment.start, zone),
        "end_time": clock_text(appointment.end, zone),
        "minutes": appointment.minutes,
        "visit": appointment.visit_name,
        "therapist": visit.therapist.name,
        "room": visit.rooms,
        "bring": bring_list(visit),
        "manage_url": links(visit) if links else None,
    }


def clinic_block(style: CalendarStyle) -> dict[str, Any]:
    """The clinic as every email shows it: name, address, how to reach and get in."""
    contact = style.contact
    return {"name": style.clinic_name, "address": style.address,
            "email": style.organizer_email, "phone": contact.phone,
            "website": contact.website, "directions": contact.directions,
            "parking": contact.parking, "accessible_entrance": contact.accessible_entrance,
            "notice_hours": contact.cancellation_notice_hours,
            "notice_text": count_text(contact.cancellation_notice_hours, "hour")}


def caregiver_note(first_name: str, visits: int, *, cancelled: bool) -> str:
    """Why a caregiver gets this email; an invitation to come only to visits that happen."""
    why = f"{first_name} asked us to keep you informed about " + (
        "this visit." if visits == 1 else "these visits.")
    return why if cancelled else why + " You are welcome to come along."


def _base(style: CalendarStyle, recipient: Recipient, patient_name: str, *, visits: int,
          cancelled: bool = False, feed_url: str | None = None) -> dict[str, Any]:
    first_name = patient_name.split()[0] if patient_name.split() else patient_name
    caregiver = recipient.role == "caregiver"
    return {
        "clinic": clinic_block(style),
        "recipient": {"name": recipient.name, "role": recipient.role},
        "patient_first_name": first_name,
        "caregiver_note": caregiver_note(first_name, visits, cancelled=cancelled)
        if caregiver else "",
        "whose": f"{first_name}'s" if caregiver else "Your",
        "always_bring": ALWAYS_BRING,
        "advice": [{"title": t, "text": x} for t, x in ADVICE],
        "manage_url": None,
        "feed_url": feed_url,
        "ask_notice": not cancelled,  # "tell us N hours before" is moot for a cancelled visit
        "change_heading": ("Want a new time?" if cancelled else
                           "How to change this visit" if visits == 1 else
                           "How to change a visit"),
    }


def schedule_context(visits: Sequence[CalendarVisit], style: CalendarStyle,
                     recipient: Recipient, *, added: bool = False, cancelled: bool = False,
                     links: ManageLink | None = None,
                     feed_url: str | None = None) -> dict[str, Any]:
    """Every visit of a booking (an episode at enrolment, or visits added later), or of a
    cancellation of many visits at once (``cancelled``: nothing invites to come)."""
    context = _base(style, recipient, visits[0].patient.name, visits=len(visits),
                    cancelled=cancelled, feed_url=feed_url)
    context["visits"] = [visit_line(v, style.zone, None if cancelled else links)
                         for v in visits]
    context["added"] = added
    return context


def changed_context(visit: CalendarVisit, previous: CalendarVisit, style: CalendarStyle,
                    recipient: Recipient, *, links: ManageLink | None = None,
                    feed_url: str | None = None) -> dict[str, Any]:
    context = _base(style, recipient, visit.patient.name, visits=1, feed_url=feed_url)
    context["visit"] = visit_line(visit, style.zone, links)
    context["previous"] = visit_line(previous, style.zone)
    context["time_changed"] = visit.appointment.start != previous.appointment.start
    context["therapist_changed"] = visit.therapist.id != previous.therapist.id
    context["manage_url"] = context["visit"]["manage_url"]
    return context


def single_context(visit: CalendarVisit, style: CalendarStyle, recipient: Recipient,
                   *, hours_before: int = 0, links: ManageLink | None = None,
                   feed_url: str | None = None) -> dict[str, Any]:
    """A cancelled visit (no self-service link: there is nothing left to change), or a
    reminder of one."""
    cancelled = visit.cancelled
    context = _base(style, recipient, visit.patient.name, visits=1, cancelled=cancelled,
                    feed_url=feed_url)
    context["visit"] = visit_line(visit, style.zone, None if cancelled else links)
    context["hours_before"] = hours_before
    context["manage_url"] = context["visit"]["manage_url"]
    return context


def therapist_context(visits: Sequence[CalendarVisit], style: CalendarStyle, *,
                      method: Method | None = None, reason: str = "",
                      handed_to: str = "") -> dict[str, Any]:
    """An invite body (one visit) or a digest body (an episode's visits); ``handed_to``
    names the colleague a cancelled visit moved to."""
    rows = []
    for visit in visits:
        row = visit_line(visit, style.zone)
        row["summary"] = summary(visit, style, "therapist")
        row["patient"] = (visit.patient.name if style.detail == "full_name"
                          else visit.patient.initials)
        rows.append(row)
    return {
        "clinic": clinic_block(style),
        "therapist": visits[0].therapist.name,
        "visits": rows,
        "method": method or "",
        "reason": reason,
        "handed_to": handed_to,
    }


def patient_subject(kind: str, style: CalendarStyle, visit: CalendarVisit, *,
                    count: int = 1, role: Role = "patient") -> str:
    """Plain subjects with the date only: no visit type, no diagnosis. A caregiver's says
    "the appointment": it is not theirs, and a lock screen need not name the patient."""
    when = date_text(visit.appointment.start, style.zone)
    weekday = WEEKDAY_NAMES[visit.appointment.start.astimezone(style.zone).weekday()]
    whose = "the" if role == "caregiver" else "your"
    noun = "appointment" if count == 1 else "appointments"
    subjects = {
        "schedule": f"{whose} {noun} at {style.clinic_name}",
        "added": f"{'A new' if count == 1 else count_text(count, 'new')} {noun} at "
                 f"{style.clinic_name}",
        "changed": f"{whose} appointment has changed: now {weekday} {when}",
        "cancelled": f"{whose} appointment on {weekday} {when} is cancelled",
        "cancelled_many": f"Cancelled: {count_text(count, 'appointment')} "
                          f"{'on' if count == 1 else 'from'} {weekday} {when}"
                          f"{'' if count == 1 else ' on'}",
        "reminder": f"Reminder: {whose} appointment on {weekday} {when}",
    }
    subject = subjects[kind]
    return subject[0].upper() + subject[1:]


def therapist_subject(visit: CalendarVisit, style: CalendarStyle, method: Method, *,
                      handed_to: str = "") -> str:
    """The visit's time as the invite describes it: for a CANCEL, the cancelled time."""
    start = visit.appointment.start
    when = f"{date_text(start, style.zone)} {clock_text(start, style.zone)}"
    who = visit.patient.initials
    if method == "CANCEL" and handed_to:
        return f"Cancelled for you (now with {handed_to}): appointment {when} ({who})"
    if method == "CANCEL":
        return f"Cancelled: appointment {when} ({who})"
    return f"Appointment {when} ({who})"


def digest_subject(visits: Sequence[CalendarVisit], style: CalendarStyle) -> str:
    first = date_text(visits[0].appointment.start, style.zone)
    return (f"New episode: {count_text(len(visits), 'appointment')} from {first} "
            f"({visits[0].patient.initials})")


@dataclass(frozen=True)
class EscalationNotice:
    """What a review escalated and did, as read from the escalation's evidence."""

    escalation_id: int
    level: int
    kind: str
    summary: str
    facts: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # what carepath did
    proposed_pathway: str = ""  # the proposed pathway's name, as people read it
    to_do: tuple[str, ...] = ()  # what the therapist should do; carepath did not
    readings: tuple[str, ...] = ()  # one line per measure: values with their dates


def measure_lines(measures: Sequence[MeasureEvidence], zone: ZoneInfo) -> tuple[str, ...]:
    """Each measure of an escalation's evidence in words: baseline, every value with its
    date (in the clinic's zone), target and verdict."""
    lines = []
    for m in measures:
        values = ", ".join(f"{v} on {_day(at, zone)}" for at, v in m.values)
        lines.append(f"{m.name} ({m.unit}): baseline {m.baseline}; "
                     f"{values or 'no value since'}; target {m.target} — "
                     f"{m.verdict.replace('_', ' ')}")
    return tuple(lines)


def _day(instant: str, zone: ZoneInfo) -> str:
    try:
        return datetime.fromisoformat(instant).astimezone(zone).date().isoformat()
    except ValueError:
        return instant


KIND_WORDS = {
    "stall": "goals have not improved by a clinically important amount",
    "worsening": "a goal is getting worse",
    "multi_worsening": "more than one goal is getting worse",
    "two_hour": "recovery after sessions takes longer than two hours",
    "no_show": "visits were missed",
    "under_scheduled": "visits the pathway asks for could not be booked",
}


def escalation_context(notice: EscalationNotice, style: CalendarStyle, *, patient_label: str,
                       addressee: str, reassessment: CalendarVisit | None,
                       charts: Sequence[tuple[str, ChartSpec]] = (),
                       phone_charts: Sequence[str] = ()) -> dict[str, Any]:
    """The body of an escalation email: why, what was done, what is proposed, and the
    readings as charts (each ``(content id, spec)``) with the same said in words;
    ``phone_charts`` are the content ids of the same charts drawn for a phone, in order."""
    phone = list(phone_charts) + [None] * (len(charts) - len(phone_charts))
    return {
        "clinic": clinic_block(style),
        "addressee": addressee,
        "patient": patient_label,
        "escalation": {"id": notice.escalation_id, "level": notice.level,
                       "reason": KIND_WORDS.get(notice.kind, notice.kind.replace("_", " ")),
                       "summary": notice.summary, "facts": list(notice.facts),
                       "actions": list(notice.actions), "to_do": list(notice.to_do),
                       "readings": list(notice.readings),
                       "proposed_pathway": notice.proposed_pathway},
        "visits": [{**visit_line(reassessment, style.zone), "patient": patient_label}]
        if reassessment else [],
        "charts": [{"cid": cid, "phone_cid": small, "title": title_text(spec),
                    "text": describe(spec)}
                   for (cid, spec), small in zip(charts, phone, strict=True)],
    }


def escalation_subject(notice: EscalationNotice, style: CalendarStyle, *, audience: str,
                       initials: str) -> str:
    """No clinical detail and, for a physician, no patient name in the subject."""
    if audience == "physician":
        return f"Update from {style.clinic_name} about a patient you referred"
    return f"Action needed: escalation {notice.escalation_id} (level {notice.level}, {initials})"
