"""What a progression review is for, recorded on its visit: the assistive devices, the
orthotics and the caregiver's role (and whether the caregiver came). Recording again
replaces the record; each recording is audited. Plain functions returning dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, VisitReviewRow
from carepath.errors import InputError, NotFound
from carepath.services import App

MAX_TEXT = 500


@dataclass(frozen=True)
class VisitReviewView:
    appointment_id: int
    episode_id: int | None
    visit_name: str
    start: datetime
    assistive_devices: str
    orthotics: str
    caregiver_role: str
    caregiver_present: bool
    recorded_at: datetime
    recorded_by: str


def record_visit_review(app: App, appointment_id: int, *, assistive_devices: str = "",
                        orthotics: str = "", caregiver_role: str = "",
                        caregiver_present: bool = False) -> VisitReviewView:
    """Record (or replace) what the review visit found; at least one field is needed."""
    fields = {"assistive devices": assistive_devices, "orthotics": orthotics,
              "caregiver role": caregiver_role}
    if not any(v.strip() for v in fields.values()):
        raise InputError(f"visit review of appointment {appointment_id}", "nothing to record",
                         "give --devices, --orthotics or --caregiver-role")
    for name, value in fields.items():
        if len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
            raise InputError(f"{name} {value[:30]!r}…",
                             f"must be one line of at most {MAX_TEXT} characters",
                             "shorten it; details belong in the clinical record")
    with transaction(app.engine) as session:
        visit = session.get(AppointmentRow, appointment_id)
        if visit is None:
            raise NotFound("appointment", appointment_id, "list them: carepath appointments list")
        row = session.exec(select(VisitReviewRow).where(
            VisitReviewRow.appointment_id == appointment_id)).first() or VisitReviewRow(
            appointment_id=appointment_id, recorded_at=app.clock.now())
        row.assistive_devices, row.orthotics = assistive_devices.strip(), orthotics.strip()
        row.caregiver_role, row.caregiver_present = caregiver_role.strip(), caregiver_present
        row.recorded_at, row.recorded_by = app.clock.now(), app.settings.actor[:100]
        session.add(row)
        session.flush()
        app.audit(session, "visit_review.record", "appointment", appointment_id,
                  caregiver_present=caregiver_present)
        return _view(row, visit)


def get_visit_review(app: App, appointment_id: int) -> VisitReviewView:
    with transaction(app.engine) as session:
        visit = session.get(AppointmentRow, appointment_id)
        row = session.exec(select(VisitReviewRow).where(
            VisitReviewRow.appointment_id == appointment_id)).first()
        if visit is None or row is None:
            raise NotFound("visit review of appointment", appointment_id,
                           "record one: carepath visit-review record APPOINTMENT --devices …")
        return _view(row, visit)


def _view(row: VisitReviewRow, visit: AppointmentRow) -> VisitReviewView:
    return VisitReviewView(row.appointment_id, visit.episode_id, visit.visit_name,
                           visit.start_utc, row.assistive_devices, row.orthotics,
                           row.caregiver_role, row.caregiver_present, row.recorded_at,
                           row.recorded_by)
