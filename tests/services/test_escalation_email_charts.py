"""The therapist's escalation email carries the report's charts as inline PNGs, over real SMTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest
from PIL import Image

from availability import running
from carepath.adapters.chart_png import chart_png
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.mail import SmtpOptions, SmtpTransport
from carepath.services import App
from carepath.services.goals import record_measurement, record_recovery, review_all
from carepath.services.measure_charts import episode_charts
from carepath.services.outbox import dispatch
from carepath.testing import Inbox, smtp_server
from goal_helpers import NEW_YORK, active_episode, visit


class Images(HTMLParser):
    """The ``src`` and ``alt`` of every ``<img>`` in an HTML body."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.found.append(dict(attrs))


def wide_and_phone(parts: list[Any]) -> tuple[list[Any], list[Any]]:
    """The pictures as a screen shows them (chart-N-…) and as a phone does (phone-N-…)."""
    names = [str(p.get_filename()) for p in parts]
    return ([p for p, n in zip(parts, names, strict=True) if n.startswith("chart-")],
            [p for p, n in zip(parts, names, strict=True) if n.startswith("phone-")])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with running("aiosmtpd", smtp_server(handler)) as port:
        yield handler, port


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=NEW_YORK)


def stall_and_deliver(app: App, inbox: tuple[Inbox, int]) -> int:
    """Berg and T25FW without a real change at the planned reviews of 15 and 29 March: one
    escalation with both; review, then send over SMTP."""
    episode = active_episode(app)
    evaluation = visit(app, episode, date(2027, 3, 1))
    app.clock = FixedClock(_at(29, 12))  # 4 weeks after the evaluation, in UTC (DST began)
    for value, day in (("40", 1), ("41", 8), ("41", 15), ("40", 29)):
        record_measurement(app, episode, "bbs", value, at=_at(day),
                           appointment_id=evaluation if day == 1 else None)
    for value, day in (("10.0", 1), ("9.6", 8), ("9.8", 15), ("9.7", 29)):
        record_measurement(app, episode, "t25fw", value, at=_at(day),
                           appointment_id=evaluation if day == 1 else None)
    review_all(app, now=_at(29, 12))
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=inbox[1], security="none",
                                          timeout=5))
    dispatch(app, transport)
    return episode


THERAPIST = "d.chen@riverside-rehab.example"


def escalation_email(inbox: Inbox) -> EmailMessage:
    """The therapist's escalation email (the enrolment's and the reassessment's invites went
    to them too)."""
    (message,) = [m for m in inbox.to(THERAPIST)
                  if str(m["Subject"]).startswith("Action needed: escalation")]
    return message


def test_the_escalation_email_shows_each_chart_inline_by_content_id(
        app: App, inbox: tuple[Inbox, int]) -> None:
    """alternative → (text, related → (HTML, PNG…)); every <img> points at one PNG's Content-ID."""
    stall_and_deliver(app, inbox)
    message = escalation_email(inbox[0])
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.iter_parts()
    assert (text.get_content_type(), related.get_content_type()) == (
        "text/plain", "multipart/related")
    assert related.get_param("type") == "text/html"
    html, *parts = related.iter_parts()
    pngs, phone = wide_and_phone(parts)
    assert html.get_content_type() == "text/html" and len(pngs) == len(phone) == 2
    assert all(p.get_content_type() == "image/png" for p in parts)
    assert all(p.get_content_disposition() == "inline" for p in parts)
    shown = Images(html.get_content()).found
    for images, css in ((pngs, "chart-wide"), (phone, "chart-phone")):
        cids = [str(p["Content-ID"]).strip("<>") for p in images]
        assert [img["src"] for img in shown if img["class"] == css] == [
            f"cid:{cid}" for cid in cids]
    for part in pngs:
        assert Image.open(io.BytesIO(part.get_content())).size == (1280, 640)
    for part in phone:  # drawn for a phone: 340 px wide at 2x, labels as large
        assert Image.open(io.BytesIO(part.get_content())).size == (680, 600)


def test_each_picture_is_the_reports_chart_and_says_its_values_in_words(
        app: App, inbox: tuple[Inbox, int]) -> None:
    """The PNG is drawn from the report's spec; alt and plain text give the values, band, target."""
    episode = stall_and_deliver(app, inbox)
    message = escalation_email(inbox[0])
    _, related = message.iter_parts()
    html, *parts = related.iter_parts()
    pngs, _ = wide_and_phone(parts)
    with transaction(app.engine) as session:
        charts = {c.measure_id: c.spec for c in episode_charts(session, app, episode)}
    measures = [str(p.get_filename()).split("-", 2)[2].removesuffix(".png") for p in pngs]
    assert sorted(measures) == ["bbs", "t25fw"]
    for measure, part in zip(measures, pngs, strict=True):
        assert part.get_content() == chart_png.__wrapped__(charts[measure])
    alts = dict(zip(measures, (str(i["alt"]) for i in Images(html.get_content()).found
                               if i["class"] == "chart-wide"), strict=True))
    assert alts["bbs"].startswith("Berg Balance Scale (points; higher is better).")
    assert "2027-03-01: 40, 2027-03-08: 41, 2027-03-15: 41, 2027-03-29: 40" in alts["bbs"]
    assert "No real change between" in alts["bbs"] and "Target: 43." in alts["bbs"]
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "The readings:" in plain.get_content()
    assert all(alt in plain.get_content() for alt in alts.values())


def test_an_escalation_without_measures_carries_no_picture(
        app: App, inbox: tuple[Inbox, int]) -> None:
    """Two-hour-rule failures have no measure to draw: text and HTML only, as before."""
    episode = active_episode(app)
    app.clock = FixedClock(_at(20))
    record_recovery(app, episode, False, at=_at(15))
    record_recovery(app, episode, False, at=_at(17))
    review_all(app, now=_at(20))
    dispatch(app, SmtpTransport(SmtpOptions(host="127.0.0.1", port=inbox[1], security="none",
                                            timeout=5)))
    message = escalation_email(inbox[0])
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert not any(p.get_content_maintype() == "image" for p in message.walk())
