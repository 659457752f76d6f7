"""What an attacker or a careless click must not achieve: forged forms, another role's
pages, fixed sessions, password guessing, and what every response tells a browser."""

from __future__ import annotations

from sqlmodel import select
from starlette.testclient import TestClient

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, AuditRow, WebSessionRow
from carepath.services.accounts import MAX_FAILURES
from conftest import Clinic, client_for, csrf_of, sign_in


def status_of(clinic: Clinic, visit: int) -> str:
    with transaction(clinic.app.engine) as session:
        row = session.get(AppointmentRow, visit)
        assert row is not None
        return row.status


def test_a_form_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(
        clinic: Clinic, therapist: TestClient) -> None:
    for data in ({}, {"csrf": "forged"}):
        response = therapist.post(f"/visits/{clinic.visits[0]}/complete", data=data)
        assert response.status_code == 403
    assert status_of(clinic, clinic.visits[0]) == "booked"


def test_another_sessions_token_does_not_pass(clinic: Clinic, therapist: TestClient,
                                              admin: TestClient) -> None:
    admins_token = csrf_of(admin.get("/admin").text)
    response = therapist.post(f"/visits/{clinic.visits[0]}/complete",
                              data={"csrf": admins_token})
    assert response.status_code == 403 and status_of(clinic, clinic.visits[0]) == "booked"


def test_a_therapist_cannot_open_or_post_to_the_admin_board(clinic: Clinic,
                                                            therapist: TestClient) -> None:
    assert therapist.get("/admin").status_code == 403
    csrf = csrf_of(therapist.get("/day").text)
    assert therapist.post("/admin/patients", data={"csrf": csrf, "id": "X1",
                                                   "name": "X"}).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in_and_posts_refused(clinic: Clinic) -> None:
    client = client_for(clinic.app)
    assert client.get("/day").headers["location"] == "/login"
    assert client.post(f"/visits/{clinic.visits[0]}/complete").status_code == 403


def test_signing_in_issues_a_new_session_and_signing_out_ends_it(clinic: Clinic) -> None:
    client = client_for(clinic.app)
    client.cookies.set("carepath_session", "planted-by-an-attacker", domain="testserver.local")
    page = client.get("/login")
    response = client.post("/login", data={"csrf": csrf_of(page.text), "username": "chen",
                                           "password": clinic.passwords["chen"]})
    token = response.cookies.get("carepath_session")
    assert token and token != "planted-by-an-attacker"
    client.cookies.clear()
    client.cookies.set("carepath_session", token, domain="testserver.local")
    csrf = csrf_of(client.get("/day").text)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with transaction(clinic.app.engine) as session:
        assert session.exec(select(WebSessionRow)).first() is None
    replay = client_for(clinic.app)
    replay.cookies.set("carepath_session", token, domain="testserver")
    assert replay.get("/day").status_code == 303


def test_the_session_cookie_is_secure_httponly_and_samesite(clinic: Clinic) -> None:
    client = client_for(clinic.app)
    page = client.get("/login")
    response = client.post("/login", data={"csrf": csrf_of(page.text), "username": "chen",
                                           "password": clinic.passwords["chen"]})
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith("carepath_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_password_guessing_is_slowed_after_five_failures(clinic: Clinic) -> None:
    client = client_for(clinic.app)
    for _ in range(MAX_FAILURES):
        page = client.get("/login")
        wrong = client.post("/login", data={"csrf": csrf_of(page.text), "username": "chen",
                                            "password": "not the password"})
        assert wrong.status_code == 401
    page = client.get("/login")
    right = client.post("/login", data={"csrf": csrf_of(page.text), "username": "chen",
                                        "password": clinic.passwords["chen"]})
    assert right.status_code == 429 and "15 minutes" in right.text


def test_sign_in_without_the_forms_token_is_refused(clinic: Clinic) -> None:
    client = client_for(clinic.app)
    response = client.post("/login", data={"username": "chen",
                                           "password": clinic.passwords["chen"]})
    assert response.status_code == 403 and "carepath_session" not in response.cookies


def test_every_response_carries_the_security_headers(clinic: Clinic,
                                                     therapist: TestClient) -> None:
    for response in (therapist.get("/day"), therapist.get("/login"),
                     therapist.get("/v/garbage"), therapist.get("/static/app.css")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script(clinic: Clinic, therapist: TestClient) -> None:
    for path in ("/day", f"/episodes/{clinic.episode}", "/escalations"):
        assert "<script" not in therapist.get(path).text


def test_no_password_reaches_the_audit_log(clinic: Clinic) -> None:
    client = client_for(clinic.app)
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page.text), "username": "chen",
                                "password": "a wrong guess"})
    sign_in(client, "chen", clinic.passwords["chen"])
    with transaction(clinic.app.engine) as session:
        text = " ".join(f"{r.actor} {r.detail} {r.entity_id}" for r in
                        session.exec(select(AuditRow)))
    assert clinic.passwords["chen"] not in text and "a wrong guess" not in text
    assert "web:chen" in text


def test_a_therapist_cannot_complete_another_therapists_visit(clinic: Clinic) -> None:
    from carepath.services.accounts import add_user

    add_user(clinic.app, "alvarez", clinic.passwords["chen"], role="therapist",
             therapist_id="alvarez")
    other = sign_in(client_for(clinic.app), "alvarez", clinic.passwords["chen"])
    csrf = csrf_of(other.get("/day").text)
    response = other.post(f"/visits/{clinic.visits[0]}/complete", data={"csrf": csrf})
    assert response.status_code == 403 and status_of(clinic, clinic.visits[0]) == "booked"
