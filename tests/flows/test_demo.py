"""The demo scenario end to end: six virtual weeks of the example clinic (the relapse comes
in week 6), shared with the FHIR tests."""

from __future__ import annotations

import email
from collections import defaultdict
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import icalendar
import pytest
import vobject
from sqlalchemy import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from carepath.adapters.db import make_engine, transaction
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    EscalationRow,
    OutboxRow,
    ResourceBookingRow,
)
from carepath.cli import app as cli_app
from carepath.demo import DemoResult


@pytest.fixture
def demo(lived_demo: DemoResult) -> DemoResult:
    return lived_demo


def _calendar_parts(mail_dir: Path) -> Iterator[tuple[Path, Message]]:
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                yield path, part


def test_a_stall_climbs_to_a_booked_reassessment_then_level_two(demo: DemoResult) -> None:
    """The stalling patient gets level-1 escalations with a reassessment, then level 2."""
    with transaction(demo.app.engine) as session:
        episode = session.exec(select(EpisodeRow).where(
            EpisodeRow.patient_id == demo.story.stalling_patient)
            .order_by(col(EpisodeRow.id))).first()
        assert episode is not None
        rows = session.exec(select(EscalationRow).where(EscalationRow.episode_id == episode.id)
                            .where(EscalationRow.kind == "stall")).all()
    assert sorted(row.level for row in rows) == [1, 2]  # one escalation per level, not per measure
    level_one = [row for row in rows if row.level == 1]
    assert all(row.appointment_id is not None for row in level_one)
    assert all(row.status == "scheduled" for row in level_one)
    with transaction(demo.app.engine) as session:
        sent = session.exec(select(OutboxRow.idempotency_key, OutboxRow.recipient).where(
            col(OutboxRow.kind).startswith("escalation"))).all()
    for row in rows:  # one email per escalation and recipient
        recipients = [to for key, to in sent if key.startswith(f"escalation:{row.id}:")]
        assert recipients and len(recipients) == len(set(recipients))


def test_only_the_stalling_patient_reaches_level_two(demo: DemoResult) -> None:
    """Patients who improve never escalate to a case review."""
    with transaction(demo.app.engine) as session:
        level_two = session.exec(select(EpisodeRow.patient_id).join(
            EscalationRow, col(EscalationRow.episode_id) == EpisodeRow.id)
            .where(EscalationRow.level == 2)).all()
    assert set(level_two) == {demo.story.stalling_patient}


def test_relapse_cancels_the_future_boosters_with_cancel_invites(demo: DemoResult) -> None:
    """Every booster cancelled by the relapse reaches its therapist as METHOD:CANCEL."""
    cancelled = demo.story.relapse_cancelled
    assert cancelled, "the relapse cancelled no booster visit"
    with transaction(demo.app.engine) as session:
        rows = session.exec(select(AppointmentRow).where(
            col(AppointmentRow.id).in_(cancelled))).all()
    assert {row.status for row in rows} == {"cancelled"}
    cancels: dict[str, int] = {}
    for _path, part in _calendar_parts(demo.home / "mail"):
        calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        if str(calendar.get("METHOD")) == "CANCEL":
            for event in calendar.walk("VEVENT"):
                cancels[str(event["UID"])] = int(event["SEQUENCE"])
                assert str(event["STATUS"]) == "CANCELLED"
    for row in rows:
        assert row.uid in cancels, f"no CANCEL invite for appointment {row.id}"
        assert cancels[row.uid] == row.sequence and row.sequence > 0


def test_relapse_starts_a_post_relapse_episode_and_keeps_history(demo: DemoResult) -> None:
    """The booster episode is on hold and the new episode points back to it; once post-relapse
    care is complete and boosters start again, the held series is over (superseded)."""
    with transaction(demo.app.engine) as session:
        new = session.get(EpisodeRow, demo.story.relapse_episode)
        assert new is not None and new.previous_episode_id is not None
        old = session.get(EpisodeRow, new.previous_episode_id)
    assert new.pathway_id == "post-relapse" and new.patient_id == demo.story.relapsing_patient
    held = "finished" if new.state == "finished" else "on_hold"
    assert old is not None and (old.pathway_id, old.state) == ("stable-boosters", held)


def test_finished_post_relapse_episodes_continue_with_boosters(demo: DemoResult) -> None:
    """on_complete: post-relapse → stable boosters."""
    with transaction(demo.app.engine) as session:
        finished = session.exec(select(EpisodeRow).where(EpisodeRow.state == "finished")
                                .where(EpisodeRow.pathway_id == "post-relapse")).all()
        followers = session.exec(select(EpisodeRow).where(
            col(EpisodeRow.previous_episode_id).in_([e.id for e in finished]))).all()
    assert finished
    assert {f.pathway_id for f in followers} == {"stable-boosters"}
    assert len(followers) == len(finished)


def test_nothing_is_ever_double_booked(demo: DemoResult) -> None:
    """No therapist, resource unit or patient holds two overlapping active visits."""
    with transaction(demo.app.engine) as session:
        visits = session.exec(select(AppointmentRow).where(
            col(AppointmentRow.status).in_(["booked", "completed"]))).all()
        units = session.exec(select(ResourceBookingRow).where(
            ResourceBookingRow.active == True)).all()  # noqa: E712
    for key, spans in (
        ("therapist", [(v.therapist_id, v.start_utc, v.end_utc) for v in visits]),
        ("patient", [(v.patient_id, v.start_utc, v.end_utc) for v in visits]),
        ("unit", [((u.resource_id, u.unit), u.start_utc, u.end_utc) for u in units]),
    ):
        by_owner: dict[object, list[tuple[object, object]]] = defaultdict(list)
        for owner, start, end in spans:
            by_owner[owner].append((start, end))
        for owner, intervals in by_owner.items():
            intervals.sort()
            for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
                assert start >= end, f"{key} {owner} double-booked at {start}"


def test_heat_sensitive_patients_are_seen_before_eleven(demo: DemoResult) -> None:
    """Most visits of heat-sensitive patients start in the cool morning."""
    from zoneinfo import ZoneInfo

    from carepath.services.patients import list_patients

    zone = ZoneInfo(demo.app.config.clinic.timezone)
    sensitive = {p.id for p in list_patients(demo.app) if p.heat_sensitive}
    with transaction(demo.app.engine) as session:
        visits = session.exec(select(AppointmentRow).where(
            col(AppointmentRow.patient_id).in_(sorted(sensitive)))).all()
    morning = [v for v in visits if v.start_utc.astimezone(zone).hour < 11]
    assert visits and len(morning) / len(visits) >= 0.9


def test_every_calendar_parses_with_two_parsers(demo: DemoResult) -> None:
    """Feeds and invites parse with icalendar and with vobject."""
    blobs = [p.read_bytes() for p in sorted((demo.home / "calendars").glob("*.ics"))]
    blobs += [part.get_payload(decode=True) for _p, part in _calendar_parts(demo.home / "mail")]
    assert len(blobs) > 100
    for blob in blobs:
        assert icalendar.Calendar.from_ical(blob).walk("VEVENT")
        assert vobject.readOne(blob.decode("utf-8")).vevent_list


def test_patient_files_are_owner_only(demo: DemoResult) -> None:
    """The database, mail, feeds and reports are readable by their owner only."""
    paths = [demo.home / "carepath.db", *(demo.home / "mail").glob("*.eml"),
             *(demo.home / "calendars").glob("*.ics"), *(demo.home / "reports").glob("*.html")]
    assert len(paths) > 10
    assert all(p.stat().st_mode & 0o077 == 0 for p in paths)


def test_the_same_seed_tells_the_same_story(tmp_path: Path, lived_demo: DemoResult) -> None:
    """``carepath demo`` with the lived demo's seed, one week long, books the same visits at
    the same times as the lived demo's first week (the story depends on the seed alone), and
    ends by telling the newcomer where to look and what to run next."""
    home = tmp_path / "again"
    done = CliRunner().invoke(cli_app, ["demo", "--home", str(home), "--weeks", "1",
                                        "--seed", "7"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "done in" in done.output and "(seed 7)" in done.output
    assert f"{home / 'mail'}" in done.output and "day=2027-03-01" in done.output
    engine = make_engine(f"sqlite:///{home / 'carepath.db'}")
    try:
        first_week = _bookings(engine)
    finally:
        engine.dispose()
    assert len(first_week) > 100
    assert _bookings(lived_demo.app.engine)[:len(first_week)] == first_week


def _bookings(engine: Engine) -> list[tuple[str, str, str]]:
    with transaction(engine) as session:
        rows = session.exec(select(AppointmentRow).order_by(col(AppointmentRow.id))).all()
    return [(r.patient_id, r.therapist_id, r.start_utc.isoformat()) for r in rows]
