"""Every email in a real (headless) Chromium: nothing scrolls sideways on a 375 px phone or a
1000 px screen, and on a phone each visit is a card with every field on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from email_samples import contexts_for

from carepath.adapters.templates import EMAILS, EmailTemplates
from carepath.domain.messages.notices import Recipient

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "schedule-375.png"
PATIENT = Recipient("ava@patients.example", "Ava Thompson")
WIDTHS = (375, 1000)
WITH_VISITS = [n for n in EMAILS if n != "escalation_physician"]  # it lists no visits

# Where each cell of the visits table is, and whether the page scrolls sideways.
MEASURE = """() => {
  const cells = [...document.querySelectorAll('table.visits td')].map(td => {
    const box = td.getBoundingClientRect();
    return {left: box.left, right: box.right, top: box.top, width: box.width,
            height: box.height, text: td.innerText.trim(),
            row: [...td.parentElement.parentElement.children].indexOf(td.parentElement)};
  });
  const head = document.querySelector('table.visits thead');
  const labels = [...document.querySelectorAll('table.visits .label')];
  return {scroll: document.documentElement.scrollWidth, view: window.innerWidth,
          cells, headShown: head ? head.getBoundingClientRect().height > 0 : null,
          labelsShown: labels.filter(l => l.getBoundingClientRect().height > 0).length,
          labels: labels.length,
          images: [...document.images].map(i => i.getBoundingClientRect().right),
          charts: Object.fromEntries([...document.images].map(
            i => [i.className, getComputedStyle(i).display])),
          fontSize: parseFloat(getComputedStyle(document.body).fontSize)};
}"""


@pytest.fixture(scope="module")
def bodies() -> dict[str, str]:
    """Every email's HTML with three visits, contact details and the web app's links."""
    templates = EmailTemplates()
    contexts = contexts_for(3, PATIENT,
                            links=lambda v: f"https://care.example/v/{v.appointment.id}",
                            feed_url="https://care.example/feed/a1b2c3")
    return {name: templates.render(name, contexts[name]).html for name in EMAILS}


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    tab = browser_context.new_page()
    yield tab
    tab.close()


def show(page: Any, html: str, width: int) -> dict[str, Any]:
    page.set_viewport_size({"width": width, "height": 800})
    page.set_content(html, wait_until="load")
    measured: dict[str, Any] = page.evaluate(MEASURE)
    return measured


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", EMAILS)
def test_no_email_scrolls_sideways(page: Any, bodies: dict[str, str], name: str,
                                   width: int) -> None:
    """The document is no wider than the window, every table cell and picture inside it,
    and the type stays large (20 px)."""
    measured = show(page, bodies[name], width)
    assert measured["scroll"] <= measured["view"] == width, name
    for cell in measured["cells"]:
        assert cell["left"] >= 0 and cell["right"] <= width, (name, cell["text"][:40])
    assert all(right <= width for right in measured["images"])
    assert measured["fontSize"] >= 20


@pytest.mark.parametrize("name", WITH_VISITS)
def test_on_a_phone_each_visit_is_a_card_with_every_field_shown(
        page: Any, bodies: dict[str, str], name: str) -> None:
    """At 375 px the header row is hidden, each field is a full-width labelled line of its
    own (stacked, not side by side), and every field has text; at 1000 px it is a table."""
    phone = show(page, bodies[name], 375)
    assert phone["cells"], name
    assert phone["headShown"] is False and phone["labelsShown"] == phone["labels"] > 0
    for row in {c["row"] for c in phone["cells"]}:
        cells = [c for c in phone["cells"] if c["row"] == row]
        assert all(c["text"] and c["height"] > 0 for c in cells), name
        assert len({round(c["left"]) for c in cells}) == 1  # one column: a card
        assert [c["top"] for c in cells] == sorted(c["top"] for c in cells)
        assert min(c["width"] for c in cells) > 300
    wide = show(page, bodies[name], 1000)
    assert wide["headShown"] is True and wide["labelsShown"] == 0
    first_row = [c for c in wide["cells"] if c["row"] == 0]
    assert len({round(c["top"]) for c in first_row}) == 1  # side by side: a table row


def test_a_phone_shows_the_chart_drawn_for_it_and_a_screen_the_wide_one(
        page: Any, bodies: dict[str, str]) -> None:
    """The escalation's chart: the 340 px drawing below 480 px, the 640 px one above."""
    phone = show(page, bodies["escalation_therapist"], 375)["charts"]
    wide = show(page, bodies["escalation_therapist"], 1000)["charts"]
    assert phone == {"chart-wide": "none", "chart-phone": "block"}
    assert wide == {"chart-wide": "block", "chart-phone": "none"}


def test_the_schedule_on_a_phone_is_photographed_for_the_manual(
        page: Any, bodies: dict[str, str]) -> None:
    """docs/img/schedule-375.png: the schedule email as a 375 px phone shows it."""
    show(page, bodies["patient_schedule"], 375)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
