"""An imported evaluation that starts an episode, and the referral date a first visit counts from.

About one new episode in ten arrives with its evaluation already booked in the previous
system and brought in with ``carepath appointments import``. A batch line (column
``evaluation_appointment``) or ``carepath enroll --evaluation`` names it by the day it is on
(``2027-03-04``: the patient's imported appointment of the pathway's first visit type that
day, not yet in an episode) or by its id (as ``carepath appointments list`` and ``export``
show it). The episode then starts on that day with it as its first visit: it is not booked
again, its therapist leads the episode and its weeks count from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from carepath.adapters.tables import AppointmentRow
from carepath.domain.config.models import Pathway
from carepath.domain.scheduling.planning import plan_episode
from carepath.domain.scheduling.types import BookedFirst
from carepath.errors import InputError, SlotTaken
from carepath.services import App
from carepath.services.booking_store import clinic_zone


@dataclass(frozen=True)
class Evaluation:
    """The imported appointment an episode starts with."""

    appointment_id: int
    day: date  # in the clinic's zone
    booked: BookedFirst


def parse_referred(text: str, what: str = "referred") -> date | None:
    """The referral date of a batch line or ``--referred`` (empty: none)."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text.strip()[:20]!r}", "not a date",
                         "write the referral date like 2027-03-01") from None


def find_evaluation(session: Session, app: App, patient_id: str, pathway: Pathway,
                    reference: str) -> Evaluation:
    """The appointment ``reference`` names for the patient's new ``pathway`` episode."""
    reference = reference.strip()
    what = f"evaluation_appointment {reference[:30]!r}"
    opening = plan_episode(pathway, date(2000, 1, 3)).requirements[0].visit_type
    rows = _candidates(session, app, patient_id, reference, what)
    if not rows:
        raise InputError(what, f"no appointment of {patient_id} there",
                         "give the id (carepath appointments list) or the day (2027-03-04) "
                         "of the patient's imported evaluation")
    usable = [r for r in rows if r.episode_id is None and r.status == "booked"
              and r.visit_type == opening]
    if not usable:
        row = rows[0]
        raise InputError(what, _why_not(row, opening),
                         "name the patient's imported, still booked " + opening
                         + " appointment, or leave the column empty to book one")
    if len(usable) > 1:
        ids = ", ".join(str(r.id) for r in usable)
        raise InputError(what, f"{len(usable)} {opening} appointments of {patient_id} that day "
                         f"(ids {ids})", "give the appointment id instead of the day")
    row = usable[0]
    assert row.id is not None
    local = row.start_utc.astimezone(clinic_zone(app))
    return Evaluation(row.id, local.date(),
                      BookedFirst(row.therapist_id, local.date(), local.hour * 60 + local.minute))


def _candidates(session: Session, app: App, patient_id: str, reference: str,
                what: str) -> list[AppointmentRow]:
    mine = select(AppointmentRow).where(col(AppointmentRow.patient_id) == patient_id)
    if reference.isascii() and reference.isdigit():
        return list(session.exec(mine.where(col(AppointmentRow.id) == int(reference))))
    try:
        day = date.fromisoformat(reference)
    except ValueError:
        raise InputError(what, "neither an appointment id nor a date",
                         "write the id (e.g. 1042) or the day (e.g. 2027-03-04)") from None
    zone = clinic_zone(app)
    rows = session.exec(mine.order_by(col(AppointmentRow.start_utc)))
    return [r for r in rows if r.start_utc.astimezone(zone).date() == day]


def _why_not(row: AppointmentRow, opening: str) -> str:
    if row.episode_id is not None:
        return f"appointment {row.id} already belongs to episode {row.episode_id}"
    if row.status != "booked":
        return f"appointment {row.id} is {row.status}"
    return (f"appointment {row.id} is {row.visit_type!r}, but the pathway starts with "
            f"{opening!r}")


def attach(session: Session, appointment_id: int, episode_id: int) -> None:
    """Make the appointment the episode's first visit; a concurrent change loses the race."""
    result = session.execute(
        update(AppointmentRow)
        .where(col(AppointmentRow.id) == appointment_id, col(AppointmentRow.episode_id).is_(None),
               col(AppointmentRow.status) == "booked")
        .values(episode_id=episode_id, seq=1))
    if getattr(result, "rowcount", 1) != 1:
        raise SlotTaken(f"appointment {appointment_id}", [])
