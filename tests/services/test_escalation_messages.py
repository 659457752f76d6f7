"""Messages a clinician reads once: every escalation kind, rendered through the real
pipeline, says what carepath did and what is proposed, with no placeholder left."""

from __future__ import annotations

import email
import re
from datetime import date, datetime, timedelta
from email import policy
from typing import get_args

import pytest
from sqlmodel import col, select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow
from carepath.domain.goals.escalations import EscalationKind
from carepath.services import App
from carepath.services.escalations import get_escalation
from carepath.services.outbox import list_outbox, show
from goal_helpers import NEW_YORK, active_episode, escalate, review_decision, visit

NOW = datetime(2027, 3, 29, 12, tzinfo=NEW_YORK)
LEFTOVER = re.compile(r"<[^<>\n]{1,60}>")  # "<this escalation>", "<id>", …


@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("kind", get_args(EscalationKind))
def test_every_kind_renders_without_placeholders_and_once_per_recipient(
        app: App, kind: EscalationKind, level: int) -> None:
    episode = active_episode(app)
    visit(app, episode, date(2027, 3, 1))
    app.clock = FixedClock(NOW)
    # A level-1 stall is reassessed at the next visit (the week is full, as the review finds
    # it); a worsening asks for a new visit within 5 days, which the full week cannot hold.
    at_visit = _next_visit(app, episode) if (kind, level) == ("stall", 1) else None
    opened = escalate(app, review_decision(episode, kind, level, reassess_at=at_visit))
    entries = [e for e in list_outbox(app) if e.kind.startswith("escalation")]
    recipients = [e.recipient for e in entries]
    assert len(recipients) == len(set(recipients)) >= 1
    for entry in entries:
        message = email.message_from_string(show(app, entry.id).body, policy=policy.default)
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert not LEFTOVER.findall(text), text
        assert "&lt;" not in html and "{{" not in text and "{{" not in html
        if level == 2 and entry.kind == "escalation.physician":
            assert "Progression review" in text and "progression-review" not in text
            assert "41 on 2027-03-15" in text  # values with their dates
        if level == 2 and entry.kind == "escalation.therapist":
            assert f"carepath escalations accept {opened}" in text
            assert "Proposed, not booked" in text
        if entry.kind == "escalation.therapist":  # minimum necessary: initials, no name
            assert "J.D." in text and "Jane" not in text and "Jane" not in entry.subject
        if (kind, level, entry.kind) == ("stall", 1, "escalation.therapist"):
            assert _booked_day(app, opened) in text.partition("Reassessment:")[2]
        if (kind, level, entry.kind) == ("worsening", 1, "escalation.therapist"):
            assert "could NOT book a reassessment" in text
        if kind == "worsening" and entry.kind == "escalation.therapist":
            done, _, todo = text.partition("What you should do:")
            assert "screen for a relapse" in todo and "relapse" not in done.split(
                "What carepath did:")[-1]


def _next_visit(app: App, episode_id: int) -> int:
    with transaction(app.engine) as session:
        row = session.exec(select(AppointmentRow).where(
            AppointmentRow.episode_id == episode_id, AppointmentRow.status == "booked",
            col(AppointmentRow.start_utc) > NOW).order_by(col(AppointmentRow.start_utc))).first()
        assert row is not None and row.id is not None
        return row.id


def _booked_day(app: App, escalation_id: int) -> str:
    """The day of the reassessment the escalation booked, as the emails write a day."""
    appointment_id = get_escalation(app, escalation_id).appointment_id
    with transaction(app.engine) as session:
        row = session.get(AppointmentRow, appointment_id)
        assert row is not None
    when = row.start_utc.astimezone(NEW_YORK)
    return f"{when:%A} {when.day} {when:%B %Y}"


def test_the_demo_like_stall_gives_one_email_per_recipient_per_level(app: App) -> None:
    """A stall on two measures, then level 2: the therapist gets one email per level, the
    case reviewer one, the physician one — not one per measure."""
    from carepath.services.goals import record_measurement, review_all

    episode = active_episode(app)
    evaluation = visit(app, episode, date(2027, 3, 1))
    start = datetime(2027, 3, 1, 9, tzinfo=NEW_YORK)
    app.clock = FixedClock(start + timedelta(days=43))
    for days, berg, walk in ((0, "40", "10.0"), (14, "41", "9.8"), (28, "40", "9.9"),
                             (42, "41", "9.8")):
        at = start + timedelta(days=days, hours=1 if days else 0)
        record_measurement(app, episode, "bbs", berg, at=at,
                           appointment_id=evaluation if days == 0 else None)
        record_measurement(app, episode, "t25fw", walk, at=at,
                           appointment_id=evaluation if days == 0 else None)
    first = review_all(app, now=start + timedelta(days=28, hours=3))
    second = review_all(app, now=start + timedelta(days=42, hours=3))
    assert [e.level for e in first.escalations + second.escalations] == [1, 2]
    sent = sorted((e.kind, e.recipient) for e in list_outbox(app)
                  if e.kind.startswith("escalation"))
    assert sent == sorted([("escalation.therapist", "d.chen@riverside-rehab.example"),
                           ("escalation.therapist", "d.chen@riverside-rehab.example"),
                           ("escalation.therapist", "m.alvarez@riverside-rehab.example"),
                           ("escalation.physician", "dr.smith@example.org")])
