"""Shared set-up for goal tests: a patient, an active episode, visits, and a booker that
records what it was asked."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow
from carepath.domain.timeutil import local_datetime
from carepath.services import App
from carepath.services.patients import add_patient
from carepath.services.reassessment import book_with_scheduling

NEW_YORK = ZoneInfo("America/New_York")


def active_episode(app: App, patient: str = "MRN1", pathway: str = "post-relapse",
                   start: date = date(2027, 3, 1), therapist: str = "chen") -> int:
    """A patient with a referring physician, enrolled in an active episode."""
    add_patient(app, {"id": patient, "name": "Jane Doe", "email": f"{patient}@example.org",
                      "physician_email": "dr.smith@example.org"})
    now = app.clock.now()
    with transaction(app.engine) as session:
        episode = EpisodeRow(patient_id=patient, pathway_id=pathway, pathway_version=1,
                             state="active", start_date=start, therapist_id=therapist,
                             created_at=now, updated_at=now)
        session.add(episode)
        session.flush()
        assert episode.id is not None
        return episode.id


def visit(app: App, episode_id: int, day: date, visit_type: str = "evaluation",
          status: str = "completed", at: time = time(9, 0)) -> int:
    """An appointment of the episode on ``day`` (New York wall time)."""
    start = local_datetime(day, at, NEW_YORK)
    now = app.clock.now()
    with transaction(app.engine) as session:
        episode = session.get(EpisodeRow, episode_id)
        assert episode is not None and episode.therapist_id is not None
        row = AppointmentRow(uid=f"test-{episode_id}-{start.isoformat()}", episode_id=episode_id,
                             patient_id=episode.patient_id, therapist_id=episode.therapist_id,
                             visit_type=visit_type, visit_name=visit_type, start_utc=start,
                             end_utc=start + timedelta(minutes=60), status=status,
                             created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


class RecordingBooker:
    """The engine's booker (``book_with_scheduling``), recording each call it is given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, session: Session, app: App, *, episode_id: int, visit_type: str,
                 not_before: date, not_after: date,
                 therapist_id: str | None) -> AppointmentRow:
        asked: dict[str, object] = {
            "episode_id": episode_id, "visit_type": visit_type, "not_before": not_before,
            "not_after": not_after, "therapist_id": therapist_id}
        self.calls.append(asked)
        return book_with_scheduling(session, app, episode_id=episode_id, visit_type=visit_type,
                                    not_before=not_before, not_after=not_after,
                                    therapist_id=therapist_id)
