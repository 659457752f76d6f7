"""The review sweep: one escalation per stall, a booked reassessment, then level 2."""

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EscalationRow, GoalRow
from carepath.domain.goals.escalations import BookReassessment, NotifyTherapist, Reassessment
from carepath.services import App
from carepath.services.escalations import dismiss_escalation, get_escalation
from carepath.services.events import EscalationRaised
from carepath.services.goals import record_measurement, record_recovery, review_all
from carepath.services.reassessment import book_with_scheduling
from carepath.services.review import ReviewReport
from carepath.services.scheduling_changes import complete
from goal_helpers import NEW_YORK, RecordingBooker, active_episode, away, visit


@pytest.fixture
def raised(app: App) -> Iterator[list[EscalationRaised]]:
    """Every EscalationRaised published while the test runs (its usual handlers run too)."""
    seen: list[EscalationRaised] = []

    def handler(_session: Session, _app: App, event: EscalationRaised) -> None:
        seen.append(event)

    app.handlers = {**app.handlers,
                    EscalationRaised: (*app.handlers.get(EscalationRaised, ()), handler)}
    yield seen


def _at(day: int, hour: int = 10) -> datetime:
    """Day ``day`` of the episode (1 March is day 1), New York time."""
    return datetime(2027, 3, 1, hour, tzinfo=NEW_YORK) + timedelta(days=day - 1)


def _stalled_episode(app: App) -> int:
    """Berg 40 at the evaluation (1 March), then 41, 41 and 40: the planned reviews of
    15 and 29 March (every 2 weeks) both show no real change — a stall on day 29.

    The patient is away from 29 March (after the review's measurement) to 3 April, so the
    reassessment has free days to be booked on (in a full post-relapse week it is taken at
    the next visit instead: see test_a_full_week_reassesses_at_the_next_visit); their
    cancelled visits, not rebooked, leave the episode short of its cadence, which the first
    sweep escalates on its own."""
    episode = active_episode(app)
    evaluation = visit(app, episode, date(2027, 3, 1))
    away(app, episode, date(2027, 3, 29), date(2027, 4, 3))
    app.clock = FixedClock(_at(29))
    record_measurement(app, episode, "bbs", "40", at=_at(1, 9), appointment_id=evaluation)
    record_measurement(app, episode, "bbs", "41", at=_at(8))
    record_measurement(app, episode, "bbs", "41", at=_at(15))
    record_measurement(app, episode, "bbs", "40", at=_at(29))
    return episode


def _escalations(app: App, kind: str | None = None) -> list[EscalationRow]:
    with transaction(app.engine) as session:
        rows = list(session.exec(select(EscalationRow).order_by(EscalationRow.id)))
    return [row for row in rows if kind is None or row.kind == kind]


def _kinds(report: ReviewReport) -> list[str]:
    return [e.kind for e in report.escalations]


def test_a_stall_gives_one_level_one_escalation_with_a_booked_reassessment(
        app: App, raised: list[EscalationRaised]) -> None:
    """The therapist's reassessment is booked within 5 days and messaging is told once."""
    episode = _stalled_episode(app)
    booker = RecordingBooker()
    first = review_all(app, now=_at(28), book=booker)  # one planned review so far: no stall
    assert _kinds(first) == ["under_scheduled"]
    report = review_all(app, now=_at(29), book=booker)
    [escalation] = _escalations(app, "stall")
    assert (escalation.level, escalation.kind, escalation.status) == (1, "stall", "scheduled")
    assert booker.calls == [{"episode_id": episode, "visit_type": "reevaluation",
                             "not_before": date(2027, 3, 30), "not_after": date(2027, 4, 3),
                             "therapist_id": "chen"}]
    assert escalation.appointment_id is not None
    assert [e for e in raised if e.kind == "stall"] == [
        EscalationRaised(escalation.id or 0, 1, "stall")]
    assert "1 new escalation" in str(report)
    shown = get_escalation(app, escalation.id or 0)
    berg = next(m for m in shown.evidence["measures"] if m["measure_id"] == "bbs")
    assert (berg["baseline"], berg["target"], berg["band_low"], berg["band_high"]) == (
        "40", "43", 37.0, 43.0)


def test_the_escalation_stores_the_reviews_typed_decision(app: App) -> None:
    """What the review decided is what the row stores, read back as the same values."""
    _stalled_episode(app)
    review_all(app, now=_at(28))
    review_all(app, now=_at(29))
    [escalation] = _escalations(app, "stall")
    stored = json.loads(escalation.evidence)
    assert stored["version"] == 2 and stored["opened"]["key"] == escalation.dedupe_key
    decision = get_escalation(app, escalation.id or 0).decision
    assert decision.opened.key == escalation.dedupe_key and decision.opened.level == 1
    assert [type(e) for e in decision.effects] == [NotifyTherapist, BookReassessment]
    assert decision.therapists_to_tell == ("chen",)
    assert decision.reassessment == Reassessment(escalation.appointment_id)


def test_rerunning_the_sweep_escalates_nothing_new(app: App,
                                                   raised: list[EscalationRaised]) -> None:
    """The same stall never escalates twice, however often the sweep runs."""
    _stalled_episode(app)
    booker = RecordingBooker()
    review_all(app, now=_at(29), book=booker)
    again = review_all(app, now=_at(30), book=booker)
    assert again.escalations == [] and len(_escalations(app, "stall")) == 1
    assert len(booker.calls) == 1 and [e.kind for e in raised] == ["stall", "under_scheduled"]


def test_a_stall_persisting_after_the_reassessment_climbs_to_level_two(app: App) -> None:
    """No real change at the reassessment (30 March): a case review, the physician, a
    pathway proposal — not before the reassessment has taken place."""
    episode = _stalled_episode(app)
    review_all(app, now=_at(29))
    [first] = _escalations(app, "stall")
    assert review_all(app, now=_at(29, 18)).escalations == []
    held = _booked(app, first.appointment_id).start_utc  # 30 March, at a time chen is free
    assert held.astimezone(NEW_YORK).date() == date(2027, 3, 30)
    complete(app, first.appointment_id or 0)
    app.clock = FixedClock(_at(43))
    assert review_all(app, now=held - timedelta(hours=1)).escalations == []
    record_measurement(app, episode, "bbs", "41", at=held + timedelta(minutes=30),
                       appointment_id=first.appointment_id)
    review_all(app, now=held + timedelta(hours=2))
    second = _escalations(app, "stall")[1]
    assert (second.level, second.kind, second.status) == (2, "stall", "open")
    assert second.assigned_to == "alvarez" and second.proposed_pathway == "progression-review"
    actions = get_escalation(app, second.id or 0).evidence["actions"]
    assert "wrote to the referring physician" in actions
    assert review_all(app, now=_at(44)).escalations == []


def test_a_dismissed_stall_stays_quiet(app: App) -> None:
    """A clinician's dismissal, with its reason, stops the climb to level 2."""
    episode = _stalled_episode(app)
    review_all(app, now=_at(29))
    [first] = _escalations(app, "stall")
    dismiss_escalation(app, first.id or 0, "plateau expected after this relapse")
    app.clock = FixedClock(_at(43))
    record_measurement(app, episode, "bbs", "41", at=_at(42))
    assert review_all(app, now=_at(43)).escalations == []


def test_when_no_slot_is_free_the_escalation_stays_open_and_says_why(app: App) -> None:
    """A failed booking never loses the escalation: it stays open with the reason."""
    from carepath.errors import NoSlotAvailable

    def full(*_args: object, **_kwargs: object) -> AppointmentRow:
        raise NoSlotAvailable("reevaluation", "no therapist hours free before 2027-03-25")

    _stalled_episode(app)
    review_all(app, now=_at(29), book=full)  # type: ignore[arg-type]
    [escalation] = _escalations(app, "stall")
    assert escalation.status == "open" and escalation.appointment_id is None
    assert "no therapist hours" in get_escalation(app, escalation.id or 0).evidence[
        "booking_failed"]


def test_goal_verdicts_are_saved_by_the_sweep(app: App) -> None:
    """After a sweep each goal row carries its latest verdict."""
    _stalled_episode(app)
    review_all(app, now=_at(29))
    with transaction(app.engine) as session:
        statuses = {g.measure_id: g.status for g in session.exec(select(GoalRow))}
    assert statuses == {"bbs": "no_change", "msws12": "pending", "t25fw": "pending"}


def test_two_hour_rule_failures_hold_progression_without_a_booking(app: App) -> None:
    """Two non-recoveries within a week tell the therapist to hold progression."""
    episode = active_episode(app)
    app.clock = FixedClock(_at(10))
    record_recovery(app, episode, False, at=_at(3))
    record_recovery(app, episode, True, at=_at(5))
    record_recovery(app, episode, False, at=_at(8))
    booker = RecordingBooker()
    review_all(app, now=_at(10), book=booker)
    [escalation] = _escalations(app)
    assert escalation.kind == "two_hour" and booker.calls == []
    assert get_escalation(app, escalation.id or 0).evidence["hold_progression"] is True


def test_reviewing_one_episode_leaves_the_others(app: App) -> None:
    """`carepath review --episode ID` looks at that episode only."""
    stalled = _stalled_episode(app)
    other = active_episode(app, patient="MRN2")
    report = review_all(app, now=_at(29) + timedelta(minutes=1), episode_id=other)
    assert report.episodes == 1 and report.escalations == []
    assert review_all(app, now=_at(29), episode_id=stalled).escalations[0].episode_id == stalled




def _enrol(app: App, pathway: str) -> tuple[int, AppointmentRow]:
    """An enrolment with chen from 2 March (what chen cannot do, aquatic, is wait-listed);
    the first visit."""
    episode = active_episode(app, "MRN7", pathway, date(2027, 3, 2))
    with transaction(app.engine) as session:
        first = session.exec(select(AppointmentRow).where(AppointmentRow.episode_id == episode)
                             .order_by(AppointmentRow.start_utc)).first()  # type: ignore[arg-type]
    assert first is not None
    return episode, first


def _enrolled_worsening(app: App, review_day: int) -> int:
    """Post-relapse with chen; Berg 40 at the evaluation, then 36 the day before review_day:
    a real worsening, which books a reassessment at once."""
    episode, evaluation = _enrol(app, "post-relapse")
    app.clock = FixedClock(_at(review_day))
    record_measurement(app, episode, "bbs", "40", at=evaluation.start_utc,
                       appointment_id=evaluation.id)
    record_measurement(app, episode, "bbs", "36", at=_at(review_day - 1))
    return episode


def _booked(app: App, appointment_id: int | None) -> AppointmentRow:
    with transaction(app.engine) as session:
        booked = session.get(AppointmentRow, appointment_id)
    assert booked is not None and booked.status == "booked"
    return booked


def _local_day(row: AppointmentRow) -> date:
    return row.start_utc.astimezone(NEW_YORK).date()


def test_the_reassessment_is_a_real_appointment_booked_by_scheduling(app: App) -> None:
    """A booster patient's 6MWT drops 10 m: a booster visit with chen within 10 days."""
    episode, first = _enrol(app, "stable-boosters")
    app.clock = FixedClock(_at(8))
    record_measurement(app, episode, "6mwt", "300", at=first.start_utc)
    record_measurement(app, episode, "6mwt", "290", at=_at(7))
    [opened] = review_all(app, now=_at(8)).escalations
    assert (opened.kind, opened.status) == ("worsening", "scheduled")
    booked = _booked(app, opened.appointment_id)
    assert (booked.visit_type, booked.therapist_id) == ("booster", "chen")
    assert booked.id != first.id and date(2027, 3, 9) <= _local_day(booked) <= date(2027, 3, 18)


def test_a_therapist_on_leave_hands_the_reassessment_to_a_colleague(app: App) -> None:
    """Chen is on leave 22–26 March: a colleague sees the patient within the 5 days."""
    _enrolled_worsening(app, review_day=20)
    [opened] = review_all(app, now=_at(20)).escalations
    booked = _booked(app, opened.appointment_id)
    assert booked.therapist_id != "chen" and booked.visit_type == "reevaluation"
    assert date(2027, 3, 21) <= _local_day(booked) <= date(2027, 3, 25)
    [action] = [a for a in get_escalation(app, opened.id).evidence["actions"]
                if a.startswith("booked a reassessment")]
    assert "on leave" in action


def test_a_full_week_reassesses_at_the_next_visit(app: App) -> None:
    """No free day between rest days: the next visit in the window becomes the reassessment."""
    _enrolled_worsening(app, review_day=16)
    [opened] = review_all(app, now=_at(16)).escalations
    assert opened.status == "scheduled"
    booked = _booked(app, opened.appointment_id)
    with transaction(app.engine) as session:
        upcoming = session.exec(select(AppointmentRow).where(col(
            AppointmentRow.start_utc) > _at(16)).order_by(col(AppointmentRow.start_utc))).first()
    assert upcoming is not None and booked.id == upcoming.id
    evidence = get_escalation(app, opened.id).evidence
    assert evidence["reassess_at_visit"] == booked.id


def test_accepting_a_level_two_proposal_enrols_in_the_proposed_pathway(app: App) -> None:
    """`escalations accept` starts a progression-review episode and resolves the escalation."""
    from carepath.adapters.tables import EpisodeRow
    from carepath.services.escalations import accept_escalation

    episode = _stalled_episode(app)
    review_all(app, now=_at(29))
    app.clock = FixedClock(_at(43))
    record_measurement(app, episode, "bbs", "41", at=_at(42))
    review_all(app, now=_at(43))
    second = _escalations(app, "stall")[1]
    new_episode = accept_escalation(app, second.id or 0)
    with transaction(app.engine) as session:
        created = session.get(EpisodeRow, new_episode)
    assert created is not None and created.pathway_id == "progression-review"
    assert get_escalation(app, second.id or 0).status == "resolved"


def test_the_sweep_runs_the_same_on_each_backend(any_app: App) -> None:
    """SQLite and PostgreSQL: one stall, one escalation, verdicts saved, nothing on re-run."""
    episode = _stalled_episode(any_app)
    first = review_all(any_app, now=_at(29))
    again = review_all(any_app, now=_at(30))
    assert [(e.episode_id, e.kind, e.status) for e in first.escalations] == [
        (episode, "stall", "scheduled"), (episode, "under_scheduled", "open")]
    assert again.escalations == [] and first.verdicts["no_change"] == 1


def test_two_sweeps_racing_write_one_escalation(any_app: App) -> None:
    """A sweep that decided before another one wrote the same stall adds nothing."""
    from carepath.domain.goals.review import review_episode
    from carepath.services.review import _apply_one, load_facts

    _stalled_episode(any_app)
    with transaction(any_app.engine) as session:
        [stale] = load_facts(session, any_app)
    decision = review_episode(stale.facts, any_app.config.measures, now=_at(29))
    review_all(any_app, now=_at(29))
    with transaction(any_app.engine) as session:
        late = _apply_one(session, any_app, decision, stale.facts, book_with_scheduling,
                          _at(29))
    assert late == [] and len(_escalations(any_app, "stall")) == 1
