"""The web app in a real (headless) Chromium: sign in, the day, a measurement, an escalation,
a patient's link; keyboard only; a 375 px phone; axe-core's accessibility rules on every page.
Each action is checked in the database afterwards."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from live_server import serving
from sqlmodel import select
from web_support import WEB_URL, Clinic

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EscalationRow, MeasurementRow
from carepath.services.calendar_views import load_visits
from carepath.services.patients import add_patient
from carepath.services.scheduling import enroll
from carepath.services.web_links import manage_url
from goal_helpers import escalate, review_decision

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "therapist-day.png"


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    tab.set_viewport_size({"width": 1000, "height": 800})
    yield tab
    tab.close()


@pytest.fixture
def base(clinic: Clinic) -> Iterator[str]:
    with serving(clinic.app) as url:
        yield url


def sign_in(page: Any, base: str, clinic: Clinic, who: str = "chen") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(who)
    page.get_by_label("Password").fill(clinic.passwords[who])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def status_of(clinic: Clinic, visit: int) -> str:
    with transaction(clinic.app.engine) as session:
        row = session.get(AppointmentRow, visit)
        assert row is not None
        return row.status


def escalation(clinic: Clinic) -> int:
    """A level-2 stall raised from the review's typed decision, proposing stable boosters and
    holding progression (the day shows "Hold progression", and the screenshot)."""
    return escalate(clinic.app, review_decision(
        clinic.episode, "stall", 2, summary="no progress in 8 weeks",
        facts=("T25FW unchanged",), hold=True, proposed="stable-boosters"))


def patient_link(clinic: Clinic, base: str, visit: int) -> str:
    with transaction(clinic.app.engine) as session:
        (view,) = load_visits(session, clinic.app, [visit])
    url = manage_url(clinic.app, view)
    assert url is not None
    return base + url.removeprefix(WEB_URL)


def test_sign_in_and_complete_a_visit(page: Any, base: str, clinic: Clinic) -> None:
    sign_in(page, base, clinic)
    assert page.url.endswith("/day")
    assert page.get_by_role("heading", level=1).inner_text().endswith("Monday 1 March 2027")
    with page.expect_navigation():
        page.get_by_role("button", name="Completed").first.click()
    assert status_of(clinic, clinic.visits[0]) == "completed"


def test_record_a_measurement_and_see_the_verdict(page: Any, base: str,
                                                  clinic: Clinic) -> None:
    sign_in(page, base, clinic)
    page.get_by_role("link", name="Jane Doe").first.click()
    page.get_by_label("Measure").select_option("t25fw")
    page.get_by_label("Value").fill("9.5")
    with page.expect_navigation():
        page.get_by_role("button", name="Record").click()
    assert "Verdict:" in page.get_by_role("status").inner_text()
    assert page.locator("figure.chart svg").count() == 1
    with transaction(clinic.app.engine) as session:
        assert [m.value for m in session.exec(select(MeasurementRow))] == [9.5]


def test_accept_an_escalation(page: Any, base: str, clinic: Clinic) -> None:
    ident = escalation(clinic)
    sign_in(page, base, clinic)
    page.get_by_role("link", name="Escalations").click()
    page.get_by_role("link", name="Accept: enrol in stable-boosters").click()
    assert page.locator("table.visits tbody tr").count() > 0  # the schedule it would book
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm: enrol and resolve").click()
    assert "Done: accept" in page.inner_text("main")
    with transaction(clinic.app.engine) as session:
        row = session.get(EscalationRow, ident)
        assert row is not None and row.status == "resolved"


def test_a_patient_cancels_through_their_link(page: Any, base: str, clinic: Clinic) -> None:
    page.goto(patient_link(clinic, base, clinic.visits[1]))
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel this appointment").click()
    assert "Your appointment is cancelled" in page.get_by_role("status").inner_text()
    assert status_of(clinic, clinic.visits[1]) == "cancelled"


def tab_to(page: Any, test: str) -> None:
    for _ in range(40):
        if page.evaluate(test):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reaches the element where {test}")


def test_a_patient_reschedules_through_their_link(page: Any, base: str,
                                                 clinic: Clinic) -> None:
    add_patient(clinic.app, {"id": "MRN7", "name": "Sam Roe", "email": "sam@example.org"})
    visit = min(enroll(clinic.app, "MRN7", "post-relapse", date(2027, 3, 8)).appointment_ids)
    with transaction(clinic.app.engine) as session:
        before = session.get(AppointmentRow, visit)
        assert before is not None
    page.goto(patient_link(clinic, base, visit))
    choice = page.get_by_role("button", name="Move to").first
    label = choice.inner_text()
    with page.expect_navigation():
        choice.click()
    assert "Your appointment has moved" in page.get_by_role("status").inner_text()
    with transaction(clinic.app.engine) as session:
        after = session.get(AppointmentRow, visit)
        assert after is not None
    assert after.start_utc != before.start_utc and after.status == "booked"
    assert label.removeprefix("Move to ").split(",")[0] in page.inner_text("main")


def test_the_day_works_by_keyboard_alone(page: Any, base: str, clinic: Clinic) -> None:
    page.goto(f"{base}/login")
    tab_to(page, "document.activeElement.id === 'username'")
    page.keyboard.type("chen")
    page.keyboard.press("Tab")
    page.keyboard.type(clinic.passwords["chen"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/day")
    tab_to(page, "(document.activeElement.innerText || '').startsWith('Completed')")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused button shows no focus ring"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert status_of(clinic, clinic.visits[0]) == "completed"


def pages_of(clinic: Clinic, base: str, escalation_id: int) -> list[str]:
    return [f"{base}/day", f"{base}/episodes/{clinic.episode}", f"{base}/escalations",
            f"{base}/escalations/{escalation_id}/accept",
            f"{base}/admin/leave?therapist=chen&first=2027-03-03&last=2027-03-05",
            patient_link(clinic, base, clinic.visits[1])]


def open_enrol_preview(page: Any, base: str, clinic: Clinic) -> None:
    """The enrolment preview is a posted form (a patient's id stays out of URLs)."""
    add_patient(clinic.app, {"id": "MRN8", "name": "Noor Aziz"})
    page.goto(f"{base}/admin")
    page.get_by_label("Patient id").fill("MRN8")
    page.get_by_label("Pathway").select_option("post-relapse")
    page.locator("#e-start").fill("2027-03-08")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the schedule").click()
    assert "nothing is booked until you confirm" in page.inner_text("main")


def test_no_page_scrolls_sideways_at_375_px(page: Any, base: str, clinic: Clinic) -> None:
    ident = escalation(clinic)
    sign_in(page, base, clinic, "boss")
    page.set_viewport_size({"width": 375, "height": 800})
    for url in [f"{base}/admin", f"{base}/login", *pages_of(clinic, base, ident)]:
        page.goto(url.replace("/day", "/day?therapist=chen"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} is {width} px wide at 375 px"
    open_enrol_preview(page, base, clinic)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_axe_finds_no_serious_or_critical_violation(page: Any, base: str,
                                                    clinic: Clinic) -> None:
    ident = escalation(clinic)
    axe = AXE.read_text(encoding="utf-8")
    urls = [f"{base}/login"]
    sign_in(page, base, clinic, "boss")
    urls += [f"{base}/admin", *pages_of(clinic, base, ident)]
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.evaluate(axe)  # through DevTools: the page's CSP allows no injected script
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [f"{v['id']}: {v['help']}" for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
        if bad:
            found[name] = bad

    for url in urls:
        page.goto(url.replace("/day", "/day?therapist=chen"))
        check(url)
    open_enrol_preview(page, base, clinic)
    check("enrol preview")
    visit = min(enroll(clinic.app, "MRN8", "post-relapse", date(2027, 3, 8)).appointment_ids)
    page.goto(patient_link(clinic, base, visit))
    assert page.get_by_role("button", name="Move to").count() > 0
    check("patient link with times to choose")
    assert not found, found


def test_screenshot_of_the_therapists_day(page: Any, base: str, clinic: Clinic,
                                          tmp_path: Path) -> None:
    """The README's picture; copied into docs/ when CAREPATH_UPDATE_SCREENSHOTS=1."""
    escalation(clinic)
    for n, (name, heat) in enumerate([("Ava Thompson", "yes"), ("Omar Haddad", "no"),
                                       ("Lena Fischer", "yes")], start=2):
        add_patient(clinic.app, {"id": f"MRN{n}", "name": name, "heat_sensitive": heat})
        enroll(clinic.app, f"MRN{n}", "post-relapse", date(2027, 3, 1), therapist_id="chen",
               partial=True)
    sign_in(page, base, clinic)
    assert page.locator("td", has_text="Room").count() > 0
    shot = tmp_path / "therapist-day.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("CAREPATH_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
