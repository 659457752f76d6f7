"""Batch and single enrolment with a referral date, a first-visit window, calendar weeks and
an imported evaluation that starts the episode: real database, real import."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow
from carepath.errors import InputError, NoSlotAvailable
from carepath.services import App
from carepath.services import scheduling as booking
from carepath.services.patients import import_patients

NEW_YORK = ZoneInfo("America/New_York")
HEADER = "patient_id,pathway_id,start,therapist_id,referred,evaluation_appointment\n"


@pytest.fixture
def clinic(app: App, config_dir: Path) -> App:
    import_patients(app, config_dir / "demo-patients.csv")
    return app


def _with_pathway(app: App, pathway_id: str, **changes: object) -> None:
    pathway = app.config.pathway(pathway_id).model_validate(
        {**app.config.pathway(pathway_id).model_dump(by_alias=True), **changes})
    app.config = app.config.model_copy(
        update={"pathways": {**app.config.pathways, pathway_id: pathway}})


def _import(app: App, tmp_path: Path, *lines: str) -> list[int]:
    path = tmp_path / "old.csv"
    path.write_text("patient_id,therapist_id,visit_type,start\n" + "\n".join(lines) + "\n",
                    encoding="utf-8")
    return booking.import_appointments(app, path).imported


def _batch(app: App, tmp_path: Path, *lines: str, partial: bool = False
           ) -> booking.BatchResult:
    path = tmp_path / "batch.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return booking.enroll_batch(app, path, partial=partial)


def _visits(app: App, episode_id: int) -> list[AppointmentRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(AppointmentRow).where(
            AppointmentRow.episode_id == episode_id).order_by(AppointmentRow.start_utc)))


def _local_day(row: AppointmentRow) -> date:
    return row.start_utc.astimezone(NEW_YORK).date()


def test_a_batch_line_starts_its_episode_with_the_imported_evaluation(
        clinic: App, tmp_path: Path) -> None:
    """Named by its day: the imported evaluation is visit 1 of the episode (not booked
    twice), its therapist leads, the episode's weeks start on its day."""
    [evaluation_id] = _import(clinic, tmp_path, "MRN1002,chen,evaluation,2027-03-03 09:00")
    result = _batch(clinic, tmp_path, "MRN1002,post-relapse,,,,2027-03-03")
    assert not result.failed, result.failed
    episode_id = result.booked[2]
    visits = _visits(clinic, episode_id)
    assert len(visits) == 12 and result.visits == 11
    assert visits[0].id == evaluation_id and visits[0].seq == 1
    assert [v.visit_type for v in visits].count("evaluation") == 1
    assert all(_local_day(v) > date(2027, 3, 3) for v in visits[1:])
    with transaction(clinic.engine) as session:
        episode = session.get(EpisodeRow, episode_id)
        assert episode is not None
        assert episode.start_date == date(2027, 3, 3) and episode.therapist_id == "chen"
    week_one = [v for v in visits if v.window_last and v.window_last <= date(2027, 3, 9)]
    assert len(week_one) == 3  # 3 sessions in week 1 (Wed–Tue), the evaluation one of them


def test_single_enrolment_takes_the_evaluation_by_its_id(clinic: App, tmp_path: Path) -> None:
    [evaluation_id] = _import(clinic, tmp_path, "MRN1003,patel,evaluation,2027-03-02 10:00")
    enrolment = booking.enroll(clinic, "MRN1003", "post-relapse", None,
                               evaluation=str(evaluation_id))
    assert enrolment.first_appointment_id == evaluation_id
    assert enrolment.schedule.plan.start == date(2027, 3, 2)
    assert [v.id for v in _visits(clinic, enrolment.episode_id)][0] == evaluation_id
    with pytest.raises(InputError, match="already belongs to episode"):
        booking.enroll(clinic, "MRN1003", "progression-review", None,
                       evaluation=str(evaluation_id))


@pytest.mark.parametrize(("column", "why"), [
    ("2027-03-04", "no appointment of MRN1002 there"),
    ("{treatment}", "is 'treatment', but the pathway starts with 'evaluation'"),
    ("soon", "neither an appointment id nor a date"),
])
def test_an_evaluation_that_is_not_there_stops_the_batch_with_the_fix(
        clinic: App, tmp_path: Path, column: str, why: str) -> None:
    ids = _import(clinic, tmp_path, "MRN1002,chen,evaluation,2027-03-03 09:00",
                  "MRN1002,chen,treatment,2027-03-05 09:00")
    column = column.replace("{treatment}", str(ids[1]))
    with pytest.raises(InputError) as caught:
        _batch(clinic, tmp_path, f"MRN1002,post-relapse,,,,{column}")
    assert "line 2" in str(caught.value) and why in str(caught.value)
    assert _visits(clinic, 1) == []


def test_two_lines_cannot_start_with_one_evaluation(clinic: App, tmp_path: Path) -> None:
    _import(clinic, tmp_path, "MRN1002,chen,evaluation,2027-03-03 09:00")
    with pytest.raises(InputError, match="already starts line 2's episode"):
        _batch(clinic, tmp_path, "MRN1002,post-relapse,,,,2027-03-03",
               "MRN1002,post-relapse,,,,2027-03-03")


def test_a_start_other_than_the_evaluations_day_is_refused(clinic: App, tmp_path: Path) -> None:
    _import(clinic, tmp_path, "MRN1002,chen,evaluation,2027-03-03 09:00")
    with pytest.raises(InputError, match="is on 2027-03-03, where the episode starts"):
        _batch(clinic, tmp_path, "MRN1002,post-relapse,2027-03-01,,,2027-03-03")


def test_the_first_visit_is_booked_inside_its_window_from_the_referral(
        clinic: App, tmp_path: Path) -> None:
    """Referred on Friday, first visit within 3 days: Monday's evaluation, though week 1
    would have allowed the whole week."""
    _with_pathway(clinic, "post-relapse", first_visit_window=3)
    result = _batch(clinic, tmp_path, "MRN1002,post-relapse,2027-03-01,,2027-02-26")
    first = _visits(clinic, result.booked[2])[0]
    assert first.visit_type == "evaluation" and _local_day(first) == date(2027, 3, 1)
    assert first.window_last == date(2027, 3, 1)  # a reschedule keeps it in the window


def test_a_first_visit_past_its_window_is_wait_listed_with_the_window_named(
        clinic: App, tmp_path: Path) -> None:
    _with_pathway(clinic, "post-relapse", first_visit_window=3)
    line = "MRN1002,post-relapse,2027-03-01,,2027-02-20"
    refused = _batch(clinic, tmp_path, line)
    assert "first_visit_window: 0–3 days after the referral on Sat Feb 20" in refused.failed[2]
    waiting = _batch(clinic, tmp_path, line, partial=True)
    [first, *rest] = waiting.waitlist
    assert first["visit"] == 1 and "first_visit_window" in first["reason"]
    assert all("waits for visit 1" in row["reason"] for row in rest)
    assert waiting.visits == 0


def test_single_enrolment_with_a_referral_date_keeps_the_window(clinic: App) -> None:
    _with_pathway(clinic, "post-relapse", first_visit_window=3)
    with pytest.raises(NoSlotAvailable, match="first_visit_window"):
        booking.enroll(clinic, "MRN1002", "post-relapse", date(2027, 3, 1),
                       referred=date(2027, 2, 20))


def test_calendar_weeks_from_a_wednesday_give_a_short_first_week(clinic: App,
                                                                tmp_path: Path) -> None:
    """post-relapse asks for 2 treatments and 1 aquatic in week 1; from a Wednesday in the
    Mon–Fri example clinic 3 of 5 open days are left: 2 × 3/5 = 1.2 → 1 and 0.6 → 1, the
    evaluation taking the first; Wed/Fri hold both with the rest day. Later weeks run
    Monday to Sunday."""
    _with_pathway(clinic, "post-relapse", weeks_are="calendar")
    result = _batch(clinic, tmp_path, "MRN1002,post-relapse,2027-03-03")
    visits = _visits(clinic, result.booked[2])
    week_one = [v for v in visits if _local_day(v) <= date(2027, 3, 7)]
    assert [v.visit_type for v in week_one] == ["evaluation", "aquatic"]
    assert len(visits) == 11  # one session fewer than from a Monday
    assert all(v.window_first is not None and v.window_first.weekday() == 0
               for v in visits if _local_day(v) > date(2027, 3, 7))
