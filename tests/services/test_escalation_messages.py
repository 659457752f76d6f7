"""Messages a clinician reads once: every escalation kind, rendered through the real
pipeline, says what carepath did and what is proposed, with no placeholder left."""

from __future__ import annotations

import email
import re
from datetime import date, datetime, timedelta
from email import policy
from typing import get_args

import pytest

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.domain.goals.escalations import (
    BookReassessment,
    EscalationKind,
    HoldProgression,
    MeasureEvidence,
    NotifyPhysician,
    NotifyTherapist,
    OpenCaseReview,
    OpenEscalation,
    PromptRelapseScreen,
    ProposePathway,
)
from carepath.domain.goals.review import EpisodeFacts, ReviewDecision
from carepath.services import App
from carepath.services.escalation_apply import apply_decision
from carepath.services.outbox import list_outbox, show
from carepath.services.reassessment import book_with_scheduling
from goal_helpers import NEW_YORK, active_episode, visit

NOW = datetime(2027, 3, 29, 12, tzinfo=NEW_YORK)
BERG = MeasureEvidence("bbs", "Berg Balance Scale", "points", "40", "43", 37.0, 43.0,
                       (("2027-03-01T14:00:00+00:00", "40"), ("2027-03-15T14:00:00+00:00", "41")),
                       "no_change")
LEFTOVER = re.compile(r"<[^<>\n]{1,60}>")  # "<this escalation>", "<id>", …


def _decision(episode: int, kind: EscalationKind, level: int) -> ReviewDecision:
    key = f"e{episode}:{kind}:test:L{level}"
    effects: list[object] = [OpenEscalation(key, level, kind, f"{kind} summary", (BERG,)),
                             NotifyTherapist(f"{key}:t", key, "chen", "why")]
    if kind == "worsening":
        effects.append(PromptRelapseScreen(f"{key}:r", key))
    if kind == "two_hour":
        effects.append(HoldProgression(f"{key}:h", key))
    if level == 1 and kind in ("stall", "worsening"):
        effects.append(BookReassessment(f"{key}:b", (key,), "reevaluation", "chen", 5))
    if level == 2:
        effects += [OpenCaseReview(f"{key}:c", key, "alvarez"), NotifyPhysician(f"{key}:p", key),
                    ProposePathway(f"{key}:x", key, "progression-review")]
    return ReviewDecision(episode, (), tuple(effects))  # type: ignore[arg-type]


@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("kind", get_args(EscalationKind))
def test_every_kind_renders_without_placeholders_and_once_per_recipient(
        app: App, kind: EscalationKind, level: int) -> None:
    episode = active_episode(app)
    visit(app, episode, date(2027, 3, 1))
    app.clock = FixedClock(NOW)
    facts = EpisodeFacts(episode, app.config.pathway("post-relapse"), "chen", ())
    with transaction(app.engine) as session:
        [opened] = apply_decision(session, app, _decision(episode, kind, level), facts,
                                  book_with_scheduling, now=NOW)
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
            assert f"carepath escalations accept {opened.id}" in text
            assert "Proposed, not booked" in text
        if kind == "worsening" and entry.kind == "escalation.therapist":
            done, _, todo = text.partition("What you should do:")
            assert "screen for a relapse" in todo and "relapse" not in done.split(
                "What carepath did:")[-1]


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
