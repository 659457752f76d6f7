"""Episodes as ``carepath episodes list`` shows them: pathway, state and visit counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow
from carepath.services import App


@dataclass(frozen=True)
class EpisodeSummary:
    id: int
    patient_id: str
    pathway: str  # "post-relapse v2"
    state: str
    start: date
    therapist_id: str | None
    booked: int
    completed: int
    previous_episode_id: int | None


def list_episodes(app: App, *, state: str | None = None,
                  patient_id: str | None = None) -> list[EpisodeSummary]:
    """Episodes in id order (only those in ``state`` or of ``patient_id`` when given), with
    how many of their visits are booked and completed."""
    query = select(EpisodeRow).order_by(col(EpisodeRow.id))
    if state:
        query = query.where(EpisodeRow.state == state)
    if patient_id:
        query = query.where(EpisodeRow.patient_id == patient_id)
    with transaction(app.engine) as session:
        episodes = session.exec(query).all()
        counted = session.exec(
            select(AppointmentRow.episode_id, AppointmentRow.status, func.count())
            .group_by(col(AppointmentRow.episode_id), col(AppointmentRow.status))).all()
    counts = {(episode_id, status): n for episode_id, status, n in counted}
    return [EpisodeSummary(e.id or 0, e.patient_id, f"{e.pathway_id} v{e.pathway_version}",
                           e.state, e.start_date, e.therapist_id,
                           counts.get((e.id, "booked"), 0), counts.get((e.id, "completed"), 0),
                           e.previous_episode_id) for e in episodes]
