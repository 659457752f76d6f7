"""The care timeline through the services, on SQLite and PostgreSQL: the failures a new user
found (two open reviews, a relapse that held the wrong episode, visits left on a finished
episode, a successor started in a second transaction) and the same request twice."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeClaimRow, EpisodeRow, OutboxRow
from carepath.domain.timeline import TimelineConflict
from carepath.errors import NotFound
from carepath.services import App
from carepath.services import lifecycle as care
from carepath.services.patients import import_patients
from carepath.services.scheduling import enroll, enroll_batch
from timeline_invariants import timeline_problems

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2027, 3, 1)


@pytest.fixture
def clinic(any_app: App, config_dir: Path) -> App:
    import_patients(any_app, config_dir / "demo-patients.csv")
    return any_app


def episodes(app: App, patient: str) -> list[tuple[str, str]]:
    with transaction(app.engine) as session:
        rows = session.exec(select(EpisodeRow).where(EpisodeRow.patient_id == patient)
                            .order_by(col(EpisodeRow.id))).all()
    return [(e.pathway_id, e.state) for e in rows]


def future_booked(app: App, episode_id: int) -> int:
    with transaction(app.engine) as session:
        return len(session.exec(select(AppointmentRow).where(
            AppointmentRow.episode_id == episode_id, AppointmentRow.status == "booked",
            col(AppointmentRow.start_utc) > app.clock.now())).all())


def sound(app: App) -> None:
    assert timeline_problems(app.engine, app.config, app.clock.now()) == []


def later(app: App, days: int) -> None:
    assert isinstance(app.clock, FixedClock)
    app.clock = FixedClock(app.clock.now() + timedelta(days=days))


def test_a_relapse_holds_boosters_and_review_alike_and_books_post_relapse_care_alone(
        clinic: App) -> None:
    """Boosters and a progression review are both held, all their future visits cancelled;
    only the post-relapse episode has visits ahead."""
    boosters = enroll(clinic, "MRN1002", "stable-boosters", MONDAY, partial=True)
    review = enroll(clinic, "MRN1002", "progression-review", MONDAY + timedelta(days=1),
                    partial=True)
    later(clinic, 9)
    result = care.report_relapse(clinic, "MRN1002")
    assert episodes(clinic, "MRN1002") == [
        ("stable-boosters", "on_hold"), ("progression-review", "on_hold"),
        ("post-relapse", "active")]
    assert future_booked(clinic, boosters.episode_id) == 0
    assert future_booked(clinic, review.episode_id) == 0
    assert result.next_episode_id and future_booked(clinic, result.next_episode_id) > 0
    sound(clinic)


def test_completing_post_relapse_care_cancels_its_visits_then_starts_boosters(
        clinic: App) -> None:
    """The finished episode keeps no future visit (each sent its CANCEL, the patient one
    email); the held series is replaced by the new one, linked back."""
    enroll(clinic, "MRN1002", "stable-boosters", MONDAY, partial=True)
    later(clinic, 2)
    relapse = care.report_relapse(clinic, "MRN1002")
    post = relapse.next_episode_id
    assert post is not None
    later(clinic, 21)
    with transaction(clinic.engine) as session:
        before = max((r.id or 0 for r in session.exec(select(OutboxRow))), default=0)
    done = care.complete_episode(clinic, post)
    assert future_booked(clinic, post) == 0 and done.cancelled_visits
    assert episodes(clinic, "MRN1002") == [
        ("stable-boosters", "finished"), ("post-relapse", "finished"),
        ("stable-boosters", "active")]
    with transaction(clinic.engine) as session:
        queued = session.exec(select(OutboxRow).where(col(OutboxRow.id) > before)).all()
        successor = session.get(EpisodeRow, done.next_episode_id)
    assert [m.kind for m in queued].count("patient.cancelled_many") == 1
    assert [m.kind for m in queued].count("invite.cancel") == len(done.cancelled_visits)
    assert successor is not None and successor.previous_episode_id == post
    sound(clinic)


def test_a_successor_that_cannot_start_leaves_the_episode_as_it_was(clinic: App) -> None:
    """All or nothing: finishing and enrolling are one transaction."""
    first = enroll(clinic, "MRN1003", "post-relapse", MONDAY + timedelta(days=2), partial=True)
    later(clinic, 14)
    booked = future_booked(clinic, first.episode_id)
    with pytest.raises(NotFound, match="no-such-pathway"):
        care.complete_episode(clinic, first.episode_id, follow="no-such-pathway")
    assert episodes(clinic, "MRN1003") == [("post-relapse", "active")]
    assert future_booked(clinic, first.episode_id) == booked > 0
    sound(clinic)


def test_progression_reviews_fall_due_once_and_never_beside_post_relapse_care(
        clinic: App) -> None:
    """Two patients whose boosters began the same day get one review each, however often
    the sweep runs; a patient in post-relapse care gets none."""
    for patient in ("MRN1002", "MRN1003"):
        enroll(clinic, patient, "stable-boosters", MONDAY, partial=True)
    enroll(clinic, "MRN1004", "stable-boosters", MONDAY, partial=True)
    later(clinic, 1)
    care.report_relapse(clinic, "MRN1004")
    assert care.schedule_progression_reviews(clinic) == "2 progression review(s) enrolled"
    assert care.schedule_progression_reviews(clinic) == "0 progression review(s) enrolled"
    for patient in ("MRN1002", "MRN1003"):
        assert episodes(clinic, patient) == [("stable-boosters", "active"),
                                             ("progression-review", "active")]
    assert ("progression-review", "active") not in episodes(clinic, "MRN1004")
    sound(clinic)


def test_the_same_enrolment_twice_books_once_and_says_so(clinic: App) -> None:
    first = enroll(clinic, "MRN1005", "stable-boosters", MONDAY, partial=True)
    again = enroll(clinic, "MRN1005", "stable-boosters", MONDAY, partial=True)
    assert again.existing and again.episode_id == first.episode_id
    assert sorted(again.appointment_ids) == sorted(first.appointment_ids)
    with pytest.raises(TimelineConflict, match="cannot start post-relapse beside "
                                               "stable-boosters episode"):
        enroll(clinic, "MRN1005", "post-relapse", MONDAY + timedelta(days=7))
    assert episodes(clinic, "MRN1005") == [("stable-boosters", "active")]
    sound(clinic)


def test_the_same_row_twice_in_a_batch_books_one_episode(clinic: App, tmp_path: Path) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text("patient_id,pathway_id,start\nMRN1006,stable-boosters,2027-03-02\n"
                     "MRN1006,stable-boosters,2027-03-02\nMRN1007,progression-review,"
                     "2027-03-03\nMRN1007,post-relapse,2027-03-04\n", encoding="utf-8")
    result = enroll_batch(clinic, batch, partial=True)
    assert sorted(result.booked) == [2, 4] and result.repeated == {3: 2}
    assert "cannot start post-relapse beside progression-review line 4" in result.failed[5]
    again = enroll_batch(clinic, batch, partial=True)
    assert again.booked == {} and sorted(again.existing) == [2, 3, 4]
    assert episodes(clinic, "MRN1006") == [("stable-boosters", "active")]
    sound(clinic)


def test_the_database_refuses_a_second_running_episode_in_a_lane(clinic: App) -> None:
    """Even a writer that skips the services cannot claim a lane twice."""
    first = enroll(clinic, "MRN1008", "stable-boosters", MONDAY, partial=True)
    with pytest.raises(IntegrityError), transaction(clinic.engine) as session:
        session.add(EpisodeClaimRow(episode_id=first.episode_id, patient_id="MRN1008",
                                    lane="series", claimed_at=clinic.clock.now()))
        session.flush()


def test_hold_resume_cancel_and_discharge(clinic: App) -> None:
    boosters = enroll(clinic, "MRN1009", "stable-boosters", MONDAY, partial=True)
    care.hold_episode(clinic, boosters.episode_id, "travelling")
    assert future_booked(clinic, boosters.episode_id) == 0
    post = enroll(clinic, "MRN1009", "post-relapse", MONDAY + timedelta(days=3), partial=True)
    with pytest.raises(TimelineConflict, match="cannot resume stable-boosters"):
        care.resume_episode(clinic, boosters.episode_id)
    care.cancel_episode(clinic, post.episode_id)
    assert str(care.resume_episode(clinic, boosters.episode_id)) == (
        f"episode {boosters.episode_id} active")
    care.discharge_patient(clinic, "MRN1009")
    assert episodes(clinic, "MRN1009") == [("stable-boosters", "finished"),
                                           ("post-relapse", "cancelled")]
    sound(clinic)


def test_repair_settles_episodes_written_before_exclusivity(clinic: App) -> None:
    """Episodes enrolled under a config without exclusive groups: the later one is cancelled
    (its visits with their CANCELs), the earlier one claims its lanes."""
    loose = clinic.config.model_copy(update={"pathways": {
        pid: p.model_copy(update={"timeline": p.timeline.model_copy(update={"exclusive": []})})
        for pid, p in clinic.config.pathways.items()}})
    strict = clinic.config
    clinic.config = loose
    enroll(clinic, "MRN1010", "stable-boosters", MONDAY, partial=True)
    enroll(clinic, "MRN1010", "post-relapse", MONDAY + timedelta(days=1), partial=True)
    clinic.config = strict
    assert timeline_problems(clinic.engine, clinic.config, clinic.clock.now()) != []
    assert len(care.repair_timelines(clinic, dry_run=True)) == 1
    report = care.repair_timelines(clinic)
    assert report[0].endswith("runs beside episode 1") or "cancelled" in report[0]
    assert episodes(clinic, "MRN1010") == [("stable-boosters", "active"),
                                           ("post-relapse", "cancelled")]
    assert care.repair_timelines(clinic) == []
    sound(clinic)
