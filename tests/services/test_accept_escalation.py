"""Accepting a level-2 proposal: a therapist with the skills, all or nothing, only once."""

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import col, select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow, EscalationRow
from carepath.services import App
from carepath.services.escalations import (
    CannotAccept,
    accept_proposal,
    get_escalation,
    preview_acceptance,
)
from carepath.services.goals import record_measurement, review_all
from carepath.services.scheduling import therapist_leave
from goal_helpers import NEW_YORK, active_episode, visit


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2027, 3, 1, hour, tzinfo=NEW_YORK) + timedelta(days=day - 1)


def _level_two(app: App) -> int:
    """Chen's post-relapse patient: Berg stalls on day 29, still at the review of day 43."""
    episode = active_episode(app)
    evaluation = visit(app, episode, date(2027, 3, 1))
    app.clock = FixedClock(_at(43))
    for day, value in ((1, "40"), (8, "41"), (15, "41"), (29, "40"), (42, "41")):
        record_measurement(app, episode, "bbs", value, at=_at(day, 9 if day == 1 else 10),
                           appointment_id=evaluation if day == 1 else None)
    review_all(app, now=_at(29))
    review_all(app, now=_at(43))
    with transaction(app.engine) as session:
        [row] = session.exec(select(EscalationRow).where(EscalationRow.level == 2))
    assert row.proposed_pathway == "progression-review" and row.id is not None
    return row.id


def _visits(app: App, episode_id: int) -> list[AppointmentRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(AppointmentRow).where(
            AppointmentRow.episode_id == episode_id).order_by(col(AppointmentRow.start_utc))))


def _episodes(app: App) -> list[EpisodeRow]:
    with transaction(app.engine) as session:
        return list(session.exec(select(EpisodeRow)))


def test_accept_books_with_a_therapist_who_has_the_skill(app: App) -> None:
    """Chen lacks family-education, which progression reviews need: a qualified colleague
    takes them, every visit is booked, and the escalation is resolved saying so."""
    escalation = _level_two(app)
    preview = preview_acceptance(app, escalation)
    assert preview.pathway_name == "Progression review" and preview.therapist_id != "chen"
    assert len(_episodes(app)) == 1  # a preview books nothing
    done = accept_proposal(app, escalation)
    booked = _visits(app, done.new_episode_id)
    assert done.booked == len(booked) == len(preview.visits) >= 1
    assert {v.therapist_id for v in booked} == {done.therapist_id} == {preview.therapist_id}
    shown = get_escalation(app, escalation)
    assert shown.status == "resolved" and "Progression review" in shown.resolution


def test_a_second_accept_is_refused(app: App) -> None:
    escalation = _level_two(app)
    accept_proposal(app, escalation)
    with pytest.raises(CannotAccept, match="already resolved"):
        accept_proposal(app, escalation)
    assert len(_episodes(app)) == 2


def test_when_nothing_can_be_booked_nothing_is_and_the_escalation_stays_open(
        app: App) -> None:
    """Both family-education therapists on leave for a year: no episode, no visit, the
    escalation still open, and the error names what is missing."""
    escalation = _level_two(app)
    for therapist in ("okafor", "brooks"):
        therapist_leave(app, therapist, date(2027, 4, 1), date(2028, 6, 30), "sabbatical")
    with pytest.raises(CannotAccept, match="nothing was booked") as refused:
        accept_proposal(app, escalation)
    assert refused.value.exit_code != 0 and "okafor" in str(refused.value)
    assert len(_episodes(app)) == 1
    assert get_escalation(app, escalation).status == "open"
