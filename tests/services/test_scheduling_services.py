"""Scheduling use cases: one transaction each, every rule re-checked, nothing half-booked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow, ResourceBookingRow
from carepath.errors import InputError, InvalidTransition, NoSlotAvailable, NotFound, SlotTaken
from carepath.services import App, events
from carepath.services import scheduling as booking
from carepath.services.patients import import_patients

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2027, 3, 1)


@pytest.fixture
def clinic(app: App, config_dir: Path) -> App:
    import_patients(app, config_dir / "demo-patients.csv")
    return app


@pytest.fixture
def booked_events(app: App) -> Iterator[list[object]]:
    """Every scheduling event published on ``app`` while the test runs (its usual handlers
    run too)."""
    seen: list[object] = []

    def record(_session: object, _app: object, event: object) -> None:
        seen.append(event)

    kinds = (events.AppointmentsBooked, events.AppointmentChanged, events.AppointmentCancelled,
             events.AppointmentsCancelled)
    app.handlers = {**app.handlers, **{kind: (*app.handlers.get(kind, ()), record)
                                       for kind in kinds}}
    yield seen


def _rows(app: App) -> list[AppointmentRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(AppointmentRow).order_by(AppointmentRow.seq)))


def test_enrolment_books_every_visit_in_one_transaction(clinic: App,
                                                        booked_events: list[object]) -> None:
    """Post-relapse books 12 visits with their rooms, activates the episode and publishes
    one AppointmentsBooked for the enrolment."""
    enrolment = booking.enroll(clinic, "MRN1002", "post-relapse", MONDAY)
    rows = _rows(clinic)
    assert len(rows) == 12 and all(r.status == "booked" for r in rows)
    with transaction(clinic.engine) as session:
        episode = session.get(EpisodeRow, enrolment.episode_id)
        units = session.exec(select(ResourceBookingRow)).all()
    assert episode is not None and episode.state == "active"
    assert len(units) == 12
    booked = [e for e in booked_events if isinstance(e, events.AppointmentsBooked)]
    assert len(booked) == 1 and booked[0].reason == "enrolment"
    assert len(booked[0].appointment_ids) == 12


@pytest.mark.parametrize(("args", "error"), [
    (("MRN9999", "post-relapse", MONDAY), NotFound),
    (("MRN1001", "no-such-pathway", MONDAY), NotFound),
    (("MRN1001", "post-relapse", date(2027, 2, 1)), InputError),
    (("MRN1001", "post-relapse", date(2027, 11, 26)), InputError),
])
def test_bad_input_is_one_clear_error_and_books_nothing(clinic: App, args: tuple[str, str, date],
                                                        error: type[Exception]) -> None:
    """Unknown patient or pathway, a start in the past or on a closure: nothing booked."""
    clinic.clock.set(datetime(2027, 3, 1, 7, tzinfo=NEW_YORK))  # type: ignore[attr-defined]
    if args[2] == date(2027, 11, 26):
        clinic.clock.set(datetime(2027, 11, 1, 7, tzinfo=NEW_YORK))  # type: ignore[attr-defined]
    with pytest.raises(error):
        booking.enroll(clinic, *args)
    assert _rows(clinic) == []


def test_an_unknown_therapist_is_not_found(clinic: App) -> None:
    """--therapist names someone who does not work here: NotFound lists who does."""
    with pytest.raises(NotFound, match="known therapists"):
        booking.enroll(clinic, "MRN1001", "post-relapse", MONDAY, therapist_id="house")


def test_when_not_everything_fits_nothing_is_booked_and_each_failure_is_named(
        clinic: App) -> None:
    """Chen lacks the aquatic skill: without --partial the enrolment fails whole."""
    with pytest.raises(NoSlotAvailable) as caught:
        booking.enroll(clinic, "MRN1002", "post-relapse", MONDAY, therapist_id="chen")
    assert "Aquatic therapy" in str(caught.value) and "--partial" in str(caught.value)
    assert "chen lacks the aquatic skill" in str(caught.value)
    assert _rows(clinic) == []
    with transaction(clinic.engine) as session:
        assert session.exec(select(EpisodeRow)).all() == []


def test_partial_books_what_fits_and_wait_lists_the_rest(clinic: App) -> None:
    """With --partial the aquatic visits are wait-listed, the rest booked, and the episode
    notes what waits."""
    enrolment = booking.enroll(clinic, "MRN1002", "post-relapse", MONDAY, therapist_id="chen",
                               partial=True)
    assert len(enrolment.appointment_ids) == 12 - len(enrolment.waitlisted)
    assert {u.requirement.visit_type for u in enrolment.waitlisted} >= {"aquatic"}
    with transaction(clinic.engine) as session:
        episode = session.get(EpisodeRow, enrolment.episode_id)
    assert episode is not None and "wait-listed" in episode.note


def test_reschedule_moves_the_visit_and_raises_its_sequence(clinic: App,
                                                            booked_events: list[object]) -> None:
    """A valid move changes the time, keeps the UID, raises SEQUENCE and moves the room."""
    enrolment = booking.enroll(clinic, "MRN1002", "stable-boosters", MONDAY)
    first = _rows(clinic)[0]
    new_start = first.start_utc + timedelta(hours=2)
    row = booking.reschedule(clinic, enrolment.appointment_ids[0], new_start)
    assert (row.start, row.sequence, row.uid) == (new_start, 1, first.uid)
    with transaction(clinic.engine) as session:
        active = session.exec(select(ResourceBookingRow).where(
            ResourceBookingRow.appointment_id == row.id, ResourceBookingRow.active)).all()
    assert [b.start_utc for b in active] == [new_start]
    assert any(isinstance(e, events.AppointmentChanged) for e in booked_events)


def test_reschedule_rechecks_rest_days_and_the_weeks_cadence(clinic: App) -> None:
    """Next to another visit breaks the rest day; into another week breaks the cadence."""
    enrolment = booking.enroll(clinic, "MRN1002", "post-relapse", MONDAY)
    rows = _rows(clinic)
    day_after_first = rows[0].start_utc + timedelta(days=1)
    with pytest.raises(InputError, match="rest day"):
        booking.reschedule(clinic, enrolment.appointment_ids[1], day_after_first)
    with pytest.raises(InputError, match="cadence"):
        booking.reschedule(clinic, enrolment.appointment_ids[1],
                           rows[1].start_utc + timedelta(days=14))


def test_reschedule_into_a_taken_slot_is_slot_taken_with_alternatives(clinic: App) -> None:
    """Another patient's visit with the same therapist at that time: SlotTaken, and free
    alternatives are named."""
    booking.enroll(clinic, "MRN1002", "stable-boosters", MONDAY, therapist_id="alvarez")
    other = booking.enroll(clinic, "MRN1003", "stable-boosters", MONDAY, therapist_id="alvarez")
    taken = _rows(clinic)[0]
    with pytest.raises(SlotTaken) as caught:
        booking.reschedule(clinic, other.appointment_ids[0], taken.start_utc)
    assert caught.value.alternatives


def test_cancel_frees_the_slot_and_cannot_happen_twice(clinic: App) -> None:
    """A cancelled visit releases its room; cancelling it again is an invalid transition."""
    enrolment = booking.enroll(clinic, "MRN1002", "stable-boosters", MONDAY)
    row = booking.cancel(clinic, enrolment.appointment_ids[0], "patient unwell")
    assert (row.status, row.sequence) == ("cancelled", 1)
    with transaction(clinic.engine) as session:
        assert not any(b.active for b in session.exec(select(ResourceBookingRow).where(
            ResourceBookingRow.appointment_id == row.id)))
    with pytest.raises(InvalidTransition):
        booking.cancel(clinic, enrolment.appointment_ids[0], "again")


def test_complete_and_no_show_change_status_and_sequence(clinic: App) -> None:
    """Completed and no-show are statuses; each raises SEQUENCE."""
    enrolment = booking.enroll(clinic, "MRN1002", "stable-boosters", MONDAY)
    done = booking.complete(clinic, enrolment.appointment_ids[0])
    missed = booking.no_show(clinic, enrolment.appointment_ids[1])
    assert (done.status, done.sequence, missed.status, missed.sequence) == \
        ("completed", 1, "no_show", 1)


def test_cancel_future_cancels_only_later_visits(clinic: App,
                                                 booked_events: list[object]) -> None:
    """A relapse on day 10 cancels the booster visits after it, announced as one event."""
    enrolment = booking.enroll(clinic, "MRN1002", "stable-boosters", MONDAY)
    after = datetime(2027, 3, 10, tzinfo=NEW_YORK)
    with transaction(clinic.engine) as session:
        cancelled = booking.cancel_future(session, clinic, enrolment.episode_id, after,
                                          "relapse")
    rows = _rows(clinic)
    assert cancelled and all(r.status == "cancelled" for r in rows if r.start_utc > after)
    assert all(r.status == "booked" for r in rows if r.start_utc <= after)
    assert not any(isinstance(e, events.AppointmentCancelled) for e in booked_events)
    assert [e for e in booked_events if isinstance(e, events.AppointmentsCancelled)] == [
        events.AppointmentsCancelled(tuple(cancelled), enrolment.episode_id, "relapse")]


def test_therapist_leave_moves_every_affected_visit_and_persists(clinic: App) -> None:
    """Leave for Alvarez moves each of her visits that week to a free time, reports every
    change, and later bookings avoid the leave."""
    booking.enroll(clinic, "MRN1002", "stable-boosters", MONDAY, therapist_id="alvarez")
    changes = booking.therapist_leave(clinic, "alvarez", date(2027, 3, 8), date(2027, 3, 9))
    assert len(changes) == 1 and changes[0].new_start is not None
    moved_day = changes[0].new_start.astimezone(NEW_YORK).date()
    assert moved_day > date(2027, 3, 9) or changes[0].new_therapist != "alvarez"
    later = booking.enroll(clinic, "MRN1003", "stable-boosters", date(2027, 3, 8),
                           therapist_id="alvarez", partial=True)
    days = [p.start.astimezone(NEW_YORK).date() for p in later.schedule.placements]
    assert date(2027, 3, 8) not in days and date(2027, 3, 9) not in days


def test_book_visit_books_a_reassessment_at_the_baseline_time(clinic: App,
                                                              booked_events: list[object]) -> None:
    """Goal escalation books a reassessment within 5 days, at the evaluation's time of day,
    in the caller's transaction."""
    enrolment = booking.enroll(clinic, "MRN1002", "post-relapse", MONDAY)
    baseline = _rows(clinic)[0].start_utc.astimezone(NEW_YORK).time()
    with transaction(clinic.engine) as session:
        row = booking.book_visit(session, clinic, episode_id=enrolment.episode_id,
                                 visit_type="reevaluation", not_before=date(2027, 3, 15),
                                 not_after=date(2027, 3, 19))
    assert row.start_utc.astimezone(NEW_YORK).time() == baseline
    assert date(2027, 3, 15) <= row.start_utc.astimezone(NEW_YORK).date() <= date(2027, 3, 19)
    assert isinstance(booked_events[-1], events.AppointmentsBooked)


def test_import_reports_conflicts_by_line_and_books_nothing(clinic: App, tmp_path: Path) -> None:
    """Two imported visits at the same time with one therapist: line 3 is named, and without
    --skip-conflicts nothing is imported."""
    file = tmp_path / "old.csv"
    file.write_text("patient_id,therapist_id,visit_type,start\n"
                    "MRN1001,patel,treatment,2027-03-02 09:00\n"
                    "MRN1002,patel,treatment,2027-03-02 09:15\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3"):
        booking.import_appointments(clinic, file)
    assert _rows(clinic) == []
    result = booking.import_appointments(clinic, file, skip_conflicts=True)
    assert len(result.imported) == 1 and result.conflicts[0].startswith("line 3")
    assert _rows(clinic)[0].fixed


def test_export_writes_iso_times_with_offsets(clinic: App) -> None:
    """JSON and CSV carry every field; times are ISO 8601 with the clinic's offset."""
    booking.enroll(clinic, "MRN1002", "post-relapse", MONDAY)
    records = json.loads(booking.export_appointments(clinic, "json"))
    assert records[0]["start"].endswith("-05:00") and records[-1]["start"].endswith("-04:00")
    text = booking.export_appointments(clinic, "csv")
    assert text.splitlines()[0].startswith("id,uid,episode_id,patient_id")


def test_batch_enrolment_books_every_row_and_names_failures(clinic: App, tmp_path: Path) -> None:
    """Four rows enrol four episodes; a row naming an unknown patient stops the batch."""
    good = tmp_path / "batch.csv"
    good.write_text("patient_id,pathway_id,start\n" + "".join(
        f"MRN100{i},post-relapse,2027-03-0{i}\n" for i in range(1, 5)), encoding="utf-8")
    result = booking.enroll_batch(clinic, good)
    assert len(result.booked) == 4 and result.visits == 48 and not result.failed
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,pathway_id,start\nMRN0000,post-relapse,2027-03-01\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        booking.enroll_batch(clinic, bad)


def test_free_slots_skip_booked_time(clinic: App) -> None:
    """After a booking, the slots for that therapist do not include its time."""
    booking.enroll(clinic, "MRN1002", "stable-boosters", MONDAY, therapist_id="alvarez")
    taken = _rows(clinic)[0]
    slots = booking.find_slots(clinic, "booster", pathway_id="stable-boosters",
                               therapist_id="alvarez", limit=40, from_day=MONDAY)
    assert slots and all(not (s.start < taken.end_utc and taken.start_utc < s.end)
                         for s in slots)


def test_a_batch_queues_its_messages_as_facts_composed_before_dispatch(
        clinic: App, tmp_path: Path) -> None:
    """The batch's transaction writes one job per episode and no email; the outbox shows
    the therapists' invites and the patient's schedule once it is looked at."""
    from carepath.adapters.tables import MessageJobRow, OutboxRow
    from carepath.services.outbox import list_outbox

    batch = tmp_path / "batch.csv"
    batch.write_text("patient_id,pathway_id,start\nMRN1002,stable-boosters,2027-03-01\n",
                     encoding="utf-8")
    result = booking.enroll_batch(clinic, batch)
    with transaction(clinic.engine) as session:
        assert len(session.exec(select(MessageJobRow)).all()) == 1
        assert session.exec(select(OutboxRow)).all() == []
    kinds = {e.kind for e in list_outbox(clinic)}
    assert "patient.schedule" in kinds and any(k.startswith("invite") for k in kinds)
    with transaction(clinic.engine) as session:
        assert session.exec(select(MessageJobRow)).all() == []
    assert result.visits == len([e for e in list_outbox(clinic) if e.kind.startswith("invite")])


def test_a_batch_lists_each_wait_listed_visit_with_its_reason(
        clinic: App, tmp_path: Path) -> None:
    """Every aquatic therapist is away for months: with --partial the episodes are booked
    without their aquatic sessions, and each of those is a row naming line, visit and why."""
    for therapist_id in ("alvarez", "okafor", "nguyen"):
        booking.therapist_leave(clinic, therapist_id, date(2027, 3, 1), date(2027, 6, 30),
                                "Secondment")
    batch = tmp_path / "batch.csv"
    batch.write_text("patient_id,pathway_id,start\n" + "".join(
        f"MRN100{i},post-relapse,2027-03-0{i}\n" for i in range(1, 3)), encoding="utf-8")
    result = booking.enroll_batch(clinic, batch, partial=True)
    assert len(result.booked) == 2 and result.waitlisted == len(result.waitlist) == 4
    for row in result.waitlist:
        assert row["line"] in (2, 3) and row["name"] == "Aquatic therapy"
        assert "aquatic" in row["reason"] and "Secondment" in row["reason"], row["reason"]


def test_an_imported_booking_holds_the_unit_the_previous_system_named(
        clinic: App, tmp_path: Path) -> None:
    """``resource: pool#1`` holds unit 1 of the pool; a room that cannot serve the visit is
    refused by line with what to write instead."""
    good = tmp_path / "previous.csv"
    good.write_text("patient_id,therapist_id,visit_type,start,resource\n"
                    "MRN1002,alvarez,aquatic,2027-03-02T09:00,pool#1\n", encoding="utf-8")
    result = booking.import_appointments(clinic, good)
    (record,) = json.loads(booking.export_appointments(clinic, "json"))
    assert record["id"] == result.imported[0] and record["resources"] == "pool#1"
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,therapist_id,visit_type,start,resource\n"
                   "MRN1003,okafor,aquatic,2027-03-03T09:00,gym\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2.*does not provide what aquatic needs"):
        booking.import_appointments(clinic, bad)


def test_the_streamed_export_is_the_same_json_and_csv_as_the_records(
        clinic: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written five at a time, the export still reads as one JSON array (or CSV)."""
    import csv as csv_module
    import io

    from carepath.services import appointment_export
    from carepath.services.appointment_export import appointment_records

    monkeypatch.setattr(appointment_export, "CHUNK", 5)
    booking.enroll(clinic, "MRN1002", "post-relapse", MONDAY)
    with transaction(clinic.engine) as session:
        records = appointment_records(clinic, session)
    assert booking.export_appointments(clinic, "json") == json.dumps(records, indent=2,
                                                                     ensure_ascii=False)
    rows = list(csv_module.DictReader(io.StringIO(booking.export_appointments(clinic, "csv"))))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in records]


def test_a_visit_cancelled_before_its_batch_messages_are_written_is_never_announced(
        clinic: App, tmp_path: Path) -> None:
    """Batch bookings compose their invites later; a visit cancelled before then gets neither
    an invite nor a CANCEL (nobody heard of it), and the episode's other visits are invited."""
    from carepath.services.outbox import list_outbox
    from carepath.services.scheduling_changes import cancel

    batch = tmp_path / "batch.csv"
    batch.write_text("patient_id,pathway_id,start\nMRN1002,stable-boosters,2027-03-01\n",
                     encoding="utf-8")
    result = booking.enroll_batch(clinic, batch)
    first, *rest = sorted(_rows(clinic), key=lambda row: row.start_utc)
    assert result.visits == len(rest) + 1
    assert first.id is not None
    cancel(clinic, first.id, "the patient is away")
    kinds = [entry.kind for entry in list_outbox(clinic)]  # composes the deferred job
    assert "invite.cancel" not in kinds and "patient.cancelled" not in kinds
    assert kinds.count("invite.request") == len(rest)


def test_a_visit_moved_before_its_batch_messages_are_written_is_announced_once_as_moved(
        clinic: App, tmp_path: Path) -> None:
    """A move before the deferred invites are composed sends no change notice for a visit
    nobody heard of: the invite, when composed, already carries the new time."""
    from carepath.services.outbox import list_outbox
    from carepath.services.scheduling_changes import reschedule

    batch = tmp_path / "batch.csv"
    batch.write_text("patient_id,pathway_id,start\nMRN1002,stable-boosters,2027-03-01\n",
                     encoding="utf-8")
    booking.enroll_batch(clinic, batch)
    rows = sorted(_rows(clinic), key=lambda row: row.start_utc)
    first = rows[0]
    assert first.id is not None
    day = (first.start_utc + timedelta(days=1)).astimezone(NEW_YORK).date()
    (slot,) = booking.find_slots(clinic, first.visit_type, pathway_id="stable-boosters",
                                 therapist_id=first.therapist_id, from_day=day, limit=1)
    reschedule(clinic, first.id, slot.start, first.therapist_id)
    kinds = [entry.kind for entry in list_outbox(clinic)]  # composes the deferred job
    assert "patient.changed" not in kinds and "caregiver.changed" not in kinds
    assert kinds.count("invite.request") == len(rows)  # one invite per visit, none twice
