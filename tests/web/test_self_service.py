"""Patients act on one visit through the signed link in their email, with no account, and
subscribe to their calendar feed; tampered, expired and replayed links change nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email import message_from_string, policy

from sqlmodel import col, select
from starlette.testclient import TestClient
from typer.testing import CliRunner
from web_support import WEB_URL, Clinic, client_for, csrf_of

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, AuditRow, OutboxRow
from carepath.services.calendar_views import load_visits
from carepath.services.patients import add_patient
from carepath.services.scheduling import enroll
from carepath.services.self_service import feed_url
from carepath.services.web_links import manage_url


def link_of(clinic: Clinic, visit: int) -> str:
    with transaction(clinic.app.engine) as session:
        (view,) = load_visits(session, clinic.app, [visit])
    url = manage_url(clinic.app, view)
    assert url is not None and url.startswith(f"{WEB_URL}/v/")
    return url.removeprefix(WEB_URL)


def row(clinic: Clinic, visit: int) -> AppointmentRow:
    with transaction(clinic.app.engine) as session:
        found = session.get(AppointmentRow, visit)
        assert found is not None
        return found


def act(client: TestClient, path: str, action: str) -> str:
    page = client.get("/login")  # any page with a form hands out the visitor's token
    response = client.post(path, data={"csrf": csrf_of(page.text), "action": action})
    assert response.status_code == 200, response.text
    return response.text


def test_the_link_shows_the_minimum_and_names_no_patient(clinic: Clinic) -> None:
    path = link_of(clinic, clinic.visits[1])
    assert "MRN1" not in path and "Jane" not in path
    page = client_for(clinic.app).get(path).text
    assert "Wednesday 3 March 2027" in page and "10:00 AM" in page
    assert "Treatment session" in page and "120 Riverside Drive" in page
    assert "Jane Doe" not in page and "chen" not in page.lower()


def test_cancel_outside_the_notice_period_cancels_once(clinic: Clinic) -> None:
    path, client = link_of(clinic, clinic.visits[1]), client_for(clinic.app)
    assert "Your appointment is cancelled" in act(client, path, "cancel")
    assert row(clinic, clinic.visits[1]).status == "cancelled"
    again = client.get(path)  # the same link again: says so, changes nothing
    assert "This appointment is cancelled." in again.text and "<form class" not in again.text
    with transaction(clinic.app.engine) as session:
        cancels = session.exec(select(AuditRow).where(
            AuditRow.action == "appointment.cancel")).all()
    assert len(cancels) == 1


def test_inside_the_notice_period_the_page_gives_the_phone_number(clinic: Clinic) -> None:
    path = link_of(clinic, clinic.visits[0])  # today 10:00, three hours away
    page = client_for(clinic.app).get(path).text
    assert "Cancel this appointment" not in page and "+1 518 555 0134" in page
    text = act(client_for(clinic.app), path, "cancel")
    assert "cannot be cancelled online" in text
    assert row(clinic, clinic.visits[0]).status == "booked"


def test_confirm_and_ask_for_another_time_are_recorded(clinic: Clinic) -> None:
    path = link_of(clinic, clinic.visits[1])
    assert "confirmed" in act(client_for(clinic.app), path, "confirm")
    assert "call you" in act(client_for(clinic.app), path, "change")
    with transaction(clinic.app.engine) as session:
        actions = list(session.exec(select(col(AuditRow.action)).where(
            AuditRow.entity_id == str(clinic.visits[1]))))
    assert {"appointment.patient_confirm", "appointment.patient_change"} <= set(actions)
    assert row(clinic, clinic.visits[1]).status == "booked"


def test_a_tampered_link_is_refused(clinic: Clinic) -> None:
    path = link_of(clinic, clinic.visits[1])
    payload, mac = path.removeprefix("/v/").split(".")
    other = link_of(clinic, clinic.visits[0]).removeprefix("/v/").split(".")[0]
    for forged in (f"/v/{other}.{mac}", f"/v/{payload}.{mac[:-2]}AA", "/v/nonsense"):
        client = client_for(clinic.app)
        page = client.get(forged)
        assert page.status_code == 404 and "not valid" in page.text
        client.post(forged, data={"csrf": csrf_of(client.get(path).text), "action": "cancel"})
    assert row(clinic, clinic.visits[1]).status == "booked"
    assert row(clinic, clinic.visits[0]).status == "booked"


def test_an_expired_link_says_so(clinic: Clinic) -> None:
    path = link_of(clinic, clinic.visits[0])
    clinic.app.clock.advance(timedelta(hours=4))  # type: ignore[attr-defined]
    page = client_for(clinic.app).get(path)
    assert page.status_code == 410 and "expired" in page.text


def test_a_link_sent_before_a_change_changes_nothing(clinic: Clinic) -> None:
    path = link_of(clinic, clinic.visits[1])
    with transaction(clinic.app.engine) as session:
        visit = session.get(AppointmentRow, clinic.visits[1])
        assert visit is not None
        visit.sequence += 1  # the visit was moved since the email
        session.add(visit)
    text = act(client_for(clinic.app), path, "cancel")
    assert "has changed since this link was sent" in text
    assert row(clinic, clinic.visits[1]).status == "booked"


def test_a_patient_link_post_without_the_cookie_token_is_refused(clinic: Clinic) -> None:
    path = link_of(clinic, clinic.visits[1])
    response = client_for(clinic.app).post(path, data={"action": "cancel"})
    assert response.status_code == 403 and row(clinic, clinic.visits[1]).status == "booked"


def test_the_feed_holds_current_visits_and_rotating_retires_it(clinic: Clinic) -> None:
    address = feed_url(clinic.app, "patient", "MRN1")
    assert address.startswith("webcal://care.example.org/feeds/") and "MRN1" not in address
    path = "/" + address.split("/", 3)[3]
    client = client_for(clinic.app)
    calendar = client.get(path)
    assert calendar.headers["content-type"].startswith("text/calendar")
    with transaction(clinic.app.engine) as session:  # the enrolment's visits, all ahead
        booked = len(session.exec(select(AppointmentRow).where(
            AppointmentRow.patient_id == "MRN1", AppointmentRow.status == "booked")).all())
    assert booked > 2 and calendar.text.count("BEGIN:VEVENT") == booked
    assert feed_url(clinic.app, "patient", "MRN1") == address  # stable until rotated
    rotated = feed_url(clinic.app, "patient", "MRN1", rotate=True)
    assert rotated != address and client.get(path).status_code == 404
    assert client.get("/" + rotated.split("/", 3)[3]).status_code == 200


def test_feeds_url_command(clinic: Clinic, monkeypatch: object) -> None:
    from carepath.cli import app as cli

    env = {"CAREPATH_HOME": str(clinic.app.settings.home),
           "CAREPATH_CONFIG_DIR": str(clinic.app.settings.config_dir),
           "CAREPATH_WEB_SECRET": clinic.app.settings.web_secret or "",
           "CAREPATH_WEB_URL": WEB_URL}
    result = CliRunner().invoke(cli, ["feeds", "url", "--therapist", "chen"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("webcal://care.example.org/feeds/")


def test_patient_emails_carry_the_visit_link_and_the_feed(clinic: Clinic) -> None:
    add_patient(clinic.app, {"id": "MRN7", "name": "Sam Roe", "email": "sam@example.org"})
    enroll(clinic.app, "MRN7", "post-relapse", clinic.app.clock.now().date()
           + timedelta(days=7))
    with transaction(clinic.app.engine) as session:
        body = session.exec(select(OutboxRow.body).where(
            OutboxRow.recipient == "sam@example.org")).first()
    assert body is not None
    message = message_from_string(body, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = re.findall(r'href="(https://care\.example\.org/v/[^"]+)"', html)
    assert links, "no self-service link in the schedule email"
    assert "webcal://care.example.org/feeds/" in html
    page = client_for(clinic.app).get(links[0].removeprefix(WEB_URL))
    assert page.status_code == 200 and "Cancel this appointment" in page.text


def _enrolled_visit(clinic: Clinic) -> int:
    """A visit booked by the engine a week ahead (well outside the notice period)."""
    add_patient(clinic.app, {"id": "MRN7", "name": "Sam Roe", "email": "sam@example.org"})
    enrolment = enroll(clinic.app, "MRN7", "post-relapse",
                       clinic.app.clock.now().date() + timedelta(days=7))
    return min(enrolment.appointment_ids)


def test_a_patient_moves_a_visit_to_a_time_the_engine_offers(clinic: Clinic) -> None:
    visit = _enrolled_visit(clinic)
    before = row(clinic, visit)
    path, client = link_of(clinic, visit), client_for(clinic.app)
    page = client.get(path).text
    starts = re.findall(r'name="start" value="([^"]+)"', page)
    assert starts, "no other time offered"
    response = client.post(path, data={"csrf": csrf_of(page), "action": "move",
                                       "start": starts[0]})
    assert "Your appointment has moved" in response.text
    after = row(clinic, visit)
    assert after.start_utc != before.start_utc and after.status == "booked"
    assert after.start_utc == datetime.fromisoformat(starts[0])
    replay = client.post(path, data={"csrf": csrf_of(page), "action": "move",
                                     "start": starts[-1]})
    assert "has changed since this link was sent" in replay.text  # the old link is spent
    assert row(clinic, visit).start_utc == after.start_utc


def test_a_time_the_page_did_not_offer_is_refused(clinic: Clinic) -> None:
    visit = _enrolled_visit(clinic)
    before = row(clinic, visit)
    path, client = link_of(clinic, visit), client_for(clinic.app)
    page = client.get(path).text
    sunday_night = "2027-03-14T03:00:00+00:00"
    text = client.post(path, data={"csrf": csrf_of(page), "action": "move",
                                   "start": sunday_night}).text
    assert "That time is no longer free" in text
    assert row(clinic, visit).start_utc == before.start_utc
