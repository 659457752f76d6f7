"""A therapist's day and an admin's board through the real app (Starlette's test client),
each action checked in the database afterwards and in the audit log under the user's name."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from starlette.testclient import TestClient
from web_support import Clinic, client_for, csrf_of, sign_in

from carepath.adapters.db import transaction
from carepath.adapters.tables import (
    AppointmentRow,
    AuditRow,
    EpisodeRow,
    EscalationRow,
    MeasurementRow,
    PatientRow,
    RecoveryReportRow,
)
from carepath.services.holds import place_hold
from carepath.services.patients import add_patient
from goal_helpers import escalate, review_decision

NEW_YORK = ZoneInfo("America/New_York")


def status_of(clinic: Clinic, visit: int) -> str:
    with transaction(clinic.app.engine) as session:
        row = session.get(AppointmentRow, visit)
        assert row is not None
        return row.status


def last_audit(clinic: Clinic, action: str) -> AuditRow:
    with transaction(clinic.app.engine) as session:
        row = session.exec(select(AuditRow).where(AuditRow.action == action)
                           .order_by(col(AuditRow.id).desc())).first()
        assert row is not None, f"no {action} in the audit log"
        return row


def test_my_day_lists_today_and_the_week_in_clinic_time(clinic: Clinic,
                                                         therapist: TestClient) -> None:
    page = therapist.get("/day")
    assert page.status_code == 200
    today, week = page.text.split("The rest of this week")
    assert "Monday 1 March 2027" in today
    assert "10:00–11:00" in today and "evaluation" in today and "Jane Doe" in today
    assert "Wednesday 3 Mar" in week and "Treatment session" in week


def test_one_click_completes_a_visit_and_the_audit_names_the_therapist(
        clinic: Clinic, therapist: TestClient) -> None:
    page = therapist.get("/day")
    done = therapist.post(f"/visits/{clinic.visits[0]}/complete",
                          data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/day"
    assert status_of(clinic, clinic.visits[0]) == "completed"
    assert last_audit(clinic, "appointment.complete").actor == "web:chen"
    assert "completed" in therapist.get("/day").text


def test_no_show_in_one_click(clinic: Clinic, therapist: TestClient) -> None:
    csrf = csrf_of(therapist.get("/day").text)
    therapist.post(f"/visits/{clinic.visits[0]}/no-show", data={"csrf": csrf})
    assert status_of(clinic, clinic.visits[0]) == "no_show"


def test_recording_a_measurement_shows_the_goals_verdict_and_chart(
        clinic: Clinic, therapist: TestClient) -> None:
    csrf = csrf_of(therapist.get(f"/episodes/{clinic.episode}").text)
    page = therapist.post(f"/episodes/{clinic.episode}/measurements",
                          data={"csrf": csrf, "measure": "t25fw", "value": "9.5"})
    assert page.status_code == 200, page.text
    assert "Verdict:" in page.text and "<svg" in page.text
    with transaction(clinic.app.engine) as session:
        row = session.exec(select(MeasurementRow)).one()
    assert (row.measure_id, row.value, row.recorded_by) == ("t25fw", 9.5, "web:chen")


def test_a_wrong_value_is_one_clear_line_and_nothing_is_stored(
        clinic: Clinic, therapist: TestClient) -> None:
    csrf = csrf_of(therapist.get(f"/episodes/{clinic.episode}").text)
    page = therapist.post(f"/episodes/{clinic.episode}/measurements",
                          data={"csrf": csrf, "measure": "t25fw", "value": "fast"})
    assert page.status_code == 400 and "fast" in page.text
    with transaction(clinic.app.engine) as session:
        assert session.exec(select(MeasurementRow)).first() is None


def test_two_hour_report(clinic: Clinic, therapist: TestClient) -> None:
    csrf = csrf_of(therapist.get(f"/episodes/{clinic.episode}").text)
    therapist.post(f"/episodes/{clinic.episode}/two-hour", data={"csrf": csrf,
                                                                  "recovered": "no"})
    with transaction(clinic.app.engine) as session:
        assert [r.recovered for r in session.exec(select(RecoveryReportRow))] == [False]


def _escalation(clinic: Clinic, *, proposed: str | None = None) -> int:
    return escalate(clinic.app, review_decision(
        clinic.episode, "stall", 2, summary="no progress in 8 weeks",
        facts=("T25FW unchanged",), hold=True, proposed=proposed))


def test_the_hold_flag_shows_on_the_day(clinic: Clinic, therapist: TestClient) -> None:
    assert "Hold progression" not in therapist.get("/day").text
    with transaction(clinic.app.engine) as session:  # the two-hour rule failed twice
        place_hold(session, clinic.app, clinic.episode, None, "two-hour rule failed twice",
                   clinic.app.clock.now())
    assert "Hold progression" in therapist.get("/day").text


def test_accepting_an_escalation_enrols_the_patient(clinic: Clinic,
                                                   therapist: TestClient) -> None:
    ident = _escalation(clinic, proposed="stable-boosters")
    inbox = therapist.get("/escalations")
    assert "no progress in 8 weeks" in inbox.text
    assert "Accept: enrol in stable-boosters" in inbox.text
    before = _counts(clinic)
    preview = therapist.get(f"/escalations/{ident}/accept")
    assert "nothing is booked until you confirm" in preview.text
    assert "Tuesday 2 March 2027" in preview.text and _counts(clinic) == before
    done = therapist.post(f"/escalations/{ident}/accept", data={"csrf": csrf_of(preview.text)})
    assert done.status_code == 303, done.text
    with transaction(clinic.app.engine) as session:
        escalation = session.get(EscalationRow, ident)
        assert escalation is not None and escalation.status == "resolved"
        pathways = list(session.exec(select(EpisodeRow.pathway_id)))
    assert "stable-boosters" in pathways
    assert last_audit(clinic, "escalation.resolve").actor == "web:chen"


def test_dismissing_needs_a_reason(clinic: Clinic, therapist: TestClient) -> None:
    ident = _escalation(clinic)
    csrf = csrf_of(therapist.get("/escalations").text)
    assert therapist.post(f"/escalations/{ident}/dismiss",
                          data={"csrf": csrf, "reason": ""}).status_code == 400
    therapist.post(f"/escalations/{ident}/dismiss", data={"csrf": csrf, "reason": "on holiday"})
    with transaction(clinic.app.engine) as session:
        row = session.get(EscalationRow, ident)
        assert row is not None and (row.status, row.resolution) == ("dismissed", "on holiday")


def test_admin_board_searches_and_adds_patients(clinic: Clinic, admin: TestClient) -> None:
    csrf = csrf_of(admin.get("/admin").text)
    board = admin.post("/admin", data={"csrf": csrf, "q": "jane"})
    assert board.status_code == 200 and "MRN1" in board.text
    assert "The configuration checks out." in board.text
    assert "MRN1" not in admin.post("/admin", data={"csrf": csrf, "q": "nobody"}).text
    assert admin.post("/admin", data={"q": "jane"}).status_code == 403  # a search is a form
    added = admin.post("/admin/patients", data={"csrf": csrf_of(board.text), "id": "MRN9",
                                                "name": "Ann <b>Lee</b>", "heat_sensitive": "yes"})
    assert added.status_code == 303, added.text
    with transaction(clinic.app.engine) as session:
        row = session.get(PatientRow, "MRN9")
        assert row is not None and row.heat_sensitive
    found = admin.post("/admin", data={"csrf": csrf, "q": "ann"}).text
    assert "Ann &lt;b&gt;Lee&lt;/b&gt;" in found  # escaped


def test_the_week_moves_with_the_clock_and_sessions_end(clinic: Clinic,
                                                        therapist: TestClient) -> None:
    clinic.app.clock.advance(timedelta(days=7))  # type: ignore[attr-defined]
    assert therapist.get("/day").headers["location"] == "/login"  # 12 hours at most
    again = sign_in(client_for(clinic.app), "chen", clinic.passwords["chen"]).get("/day")
    assert "Monday 8 March 2027" in again.text and "Wednesday 3 Mar" not in again.text


def test_any_day_can_be_opened_and_a_bad_date_is_one_line(clinic: Clinic,
                                                          therapist: TestClient) -> None:
    page = therapist.get("/day?day=2027-03-03").text
    assert "Wednesday 3 March 2027" in page and "Treatment session" in page.split(
        "The rest of this week")[0]
    bad = therapist.get("/day?day=3/3/2027")
    assert bad.status_code == 400 and "write it as 2027-03-01" in bad.text


def _counts(clinic: Clinic) -> tuple[int, int]:
    with transaction(clinic.app.engine) as session:
        return (len(session.exec(select(EpisodeRow)).all()),
                len(session.exec(select(AppointmentRow)).all()))


def test_enrol_shows_the_schedule_first_and_books_only_when_confirmed(
        clinic: Clinic, admin: TestClient) -> None:
    add_patient(clinic.app, {"id": "MRN5", "name": "Omar Haddad"})
    before = _counts(clinic)
    form = {"csrf": csrf_of(admin.get("/admin").text), "patient": "MRN5",
            "pathway": "stable-boosters", "start": "2027-03-08", "therapist": ""}
    beside = admin.post("/admin/enrol/preview", data={**form, "patient": "MRN1"})
    assert beside.status_code == 400 and "post-relapse episode" in beside.text  # refused early
    preview = admin.post("/admin/enrol/preview", data=form)
    assert preview.status_code == 200, preview.text
    assert "nothing is booked until you confirm" in preview.text and "2027" in preview.text
    assert _counts(clinic) == before
    done = admin.post("/admin/enrol", data={"csrf": csrf_of(preview.text), "patient": "MRN5",
                                            "pathway": "stable-boosters",
                                            "start": "2027-03-08", "therapist": ""})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/episodes/")
    episodes, visits = _counts(clinic)
    assert episodes == before[0] + 1 and visits > before[1]
    assert last_audit(clinic, "episode.enrol").actor == "web:boss"


def test_leave_lists_the_visits_it_would_move_before_confirming(clinic: Clinic,
                                                                admin: TestClient) -> None:
    preview = admin.get("/admin/leave?therapist=chen&first=2027-03-03&last=2027-03-03")
    assert "Treatment session" in preview.text and "Jane Doe" in preview.text
    assert row_status(clinic, clinic.visits[1]) == ("booked", "chen")
    admin.post("/admin/leave", data={"csrf": csrf_of(preview.text), "therapist": "chen",
                                     "first": "2027-03-03", "last": "2027-03-03"})
    with transaction(clinic.app.engine) as session:
        moved = session.get(AppointmentRow, clinic.visits[1])
        assert moved is not None
    off_leave = moved.start_utc.astimezone(NEW_YORK).date() != date(2027, 3, 3)
    assert moved.status == "cancelled" or off_leave or moved.therapist_id != "chen"
    assert last_audit(clinic, "therapist.leave").actor == "web:boss"


def row_status(clinic: Clinic, visit: int) -> tuple[str, str]:
    with transaction(clinic.app.engine) as session:
        row = session.get(AppointmentRow, visit)
        assert row is not None
        return row.status, row.therapist_id


def test_csv_import_names_every_wrong_line_and_imports_nothing_then(
        clinic: Clinic, admin: TestClient) -> None:
    csrf = csrf_of(admin.get("/admin").text)
    bad = admin.post("/admin/patients/import", data={"csrf": csrf, "csv": (
        "id,name,email\nMRN20,Ann Lee,ann@example.org\nMRN21,,bo@example.org\n"
        "MRN22,Cy Park,not-an-address\n")})
    assert bad.status_code == 400 and "line 3" in bad.text and "line 4" in bad.text
    assert "carepath-import" not in bad.text  # no machine path in the page
    with transaction(clinic.app.engine) as session:
        assert session.get(PatientRow, "MRN20") is None
    good = admin.post("/admin/patients/import", data={"csrf": csrf, "csv": (
        "id,name,email\nMRN20,Ann Lee,ann@example.org\n")})
    assert good.status_code == 200 and "1 added" in good.text
    assert last_audit(clinic, "patient.create").actor == "web:boss"
