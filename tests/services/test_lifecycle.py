"""Rolling boosters: a series about to run out continues, linked to the one before; the old
series' remaining visits move to the new one (a finished episode keeps no future visits)."""

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
    old_ids = set(first.appointment_ids)
    assert isinstance(app.clock, FixedClock)
    app.clock.set(last - timedelta(weeks=3))

    assert extend_boosters(app) == "1 booster series continued"
    assert extend_boosters(app) == "0 booster series continued"  # never twice
    with transaction(app.engine) as session:
        episodes = session.exec(select(EpisodeRow).order_by(col(EpisodeRow.id))).all()
        moved = session.exec(select(AppointmentRow).where(
            AppointmentRow.episode_id == episodes[1].id)).all()
        left_behind = session.exec(select(AppointmentRow).where(
            AppointmentRow.episode_id == first.episode_id, AppointmentRow.status == "booked",
            AppointmentRow.start_utc > app.clock.now())).all()
    next_first = min(a.start_utc for a in moved if a.id not in old_ids)
    carried = {a.id for a in moved if a.id in old_ids}
    assert [(e.pathway_id, e.state) for e in episodes] == [
        ("stable-boosters", "finished"), ("stable-boosters", "active")]
    assert episodes[1].previous_episode_id == episodes[0].id
    assert next_first > last  # the new series is booked after the old one's last visit
    assert carried and all(a.status == "booked" for a in moved if a.id in carried)
    assert left_behind == []  # the finished series keeps no future visit
