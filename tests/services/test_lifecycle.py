"""Rolling boosters: a series about to run out continues, linked to the one before."""

from datetime import date, timedelta

from sqlmodel import col, select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow
from carepath.services import App
from carepath.services.lifecycle import extend_boosters
from carepath.services.patients import add_patient
from carepath.services.scheduling import enroll


def test_a_booster_series_near_its_end_continues_with_a_linked_one(app: App) -> None:
    """Four weeks before the last booked booster, the next series is booked after it."""
    add_patient(app, {"id": "MRN5", "name": "Rolling Stone", "email": "rs@example.org"})
    first = enroll(app, "MRN5", "stable-boosters", date(2027, 3, 2), partial=True)
    assert extend_boosters(app) == "0 booster series continued"
    with transaction(app.engine) as session:
        last = max(session.exec(select(AppointmentRow.start_utc).where(
            AppointmentRow.episode_id == first.episode_id)))
    assert isinstance(app.clock, FixedClock)
    app.clock.set(last - timedelta(weeks=3))

    assert extend_boosters(app) == "1 booster series continued"
    assert extend_boosters(app) == "0 booster series continued"  # never twice
    with transaction(app.engine) as session:
        episodes = session.exec(select(EpisodeRow).order_by(col(EpisodeRow.id))).all()
        next_first = min(session.exec(select(AppointmentRow.start_utc).where(
            AppointmentRow.episode_id == episodes[1].id)))
    assert [(e.pathway_id, e.state) for e in episodes] == [
        ("stable-boosters", "finished"), ("stable-boosters", "active")]
    assert episodes[1].previous_episode_id == episodes[0].id
    assert next_first > last
