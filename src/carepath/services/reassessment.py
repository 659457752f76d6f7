"""The one place goals call into scheduling: book a reassessment (a proposed pathway is
accepted through ``lifecycle.apply_event``).

``Booker`` is the seam: the review sweep takes one (tests may pass a small real one that
writes an appointment row), and the default calls ``carepath.services.scheduling.book_visit``,
which places the visit in real availability and raises ``AppointmentsBooked`` so the invite
and the patient's email go out through the outbox.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlmodel import Session

from carepath.adapters.tables import AppointmentRow
from carepath.services import App
from carepath.services.scheduling import book_visit


class Booker(Protocol):
    def __call__(self, session: Session, app: App, *, episode_id: int, visit_type: str,
                 not_before: date, not_after: date,
                 therapist_id: str | None) -> AppointmentRow: ...


def book_with_scheduling(session: Session, app: App, *, episode_id: int, visit_type: str,
                         not_before: date, not_after: date,
                         therapist_id: str | None) -> AppointmentRow:
    """Book through the scheduling engine (raises ``NoSlotAvailable`` when nothing fits)."""
    row: AppointmentRow = book_visit(session, app, episode_id=episode_id, visit_type=visit_type,
                                     not_before=not_before, not_after=not_after,
                                     therapist_id=therapist_id, reason="reassessment")
    return row
