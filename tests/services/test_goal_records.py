"""Goals and measurements through the services, on a real SQLite (and PostgreSQL) database."""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import GoalRow, MeasurementRow
from carepath.errors import InputError, NotFound
from carepath.services import App
from carepath.services.goals import (
    import_measurements,
    list_goals,
    record_measurement,
    set_goal,
)
from goal_helpers import NEW_YORK, active_episode, visit


def test_goals_come_from_the_pathway_with_the_evaluation_as_baseline(app: App) -> None:
    """Post-relapse goals are T25FW, Berg and MSWS-12; the evaluation value is the baseline."""
    episode = active_episode(app, start=date(2027, 2, 22))
    evaluation = visit(app, episode, date(2027, 2, 22))
    record_measurement(app, episode, "bbs", "38", at=datetime(2027, 2, 20, 9, tzinfo=NEW_YORK))
    record_measurement(app, episode, "bbs", "40", at=datetime(2027, 2, 22, 9, tzinfo=NEW_YORK),
                       appointment_id=evaluation)
    goals = {g.measure: g for g in list_goals(app, episode)}
    assert sorted(goals) == ["bbs", "msws12", "t25fw"]
    assert (goals["bbs"].baseline, goals["bbs"].target) == ("40", "43")
    assert goals["t25fw"].verdict == "pending"


def test_recording_a_value_reclassifies_its_goal(app: App) -> None:
    """Berg 40 → 42 is no change; → 43 reaches the MCID target."""
    episode = active_episode(app)
    record_measurement(app, episode, "bbs", 40, at=datetime(2027, 2, 22, 9, tzinfo=NEW_YORK))
    no_change = record_measurement(app, episode, "bbs", 42,
                                   at=datetime(2027, 2, 26, 9, tzinfo=NEW_YORK))
    achieved = record_measurement(app, episode, "bbs", 43)
    assert no_change is not None and no_change.verdict == "no_change"
    assert achieved is not None and achieved.verdict == "achieved"


def test_a_typo_is_refused_and_nothing_is_stored(app: App) -> None:
    """A T25FW of 900 s, a future time or another episode's visit stores nothing."""
    episode = active_episode(app)
    other = active_episode(app, patient="MRN2", start=date(2027, 2, 22))
    elsewhere = visit(app, other, date(2027, 2, 22))
    with pytest.raises(InputError, match="outside the valid range"):
        record_measurement(app, episode, "t25fw", "900")
    with pytest.raises(InputError, match="future"):
        record_measurement(app, episode, "bbs", "40", at=app.clock.now() + timedelta(hours=1))
    with pytest.raises(NotFound):
        record_measurement(app, episode, "bbs", "40", appointment_id=elsewhere)
    with pytest.raises(NotFound):
        record_measurement(app, episode, "walk", "40")
    with transaction(app.engine) as session:
        assert session.exec(select(MeasurementRow)).all() == []


def test_a_therapist_sets_a_target_and_a_due_date(app: App) -> None:
    """`goals set` takes a value in the measure's terms, ordinal levels included."""
    episode = active_episode(app)
    record_measurement(app, episode, "mas", "2", at=datetime(2027, 2, 22, 9, tzinfo=NEW_YORK))
    goal = set_goal(app, episode, "mas", target="1", due=date(2027, 4, 1))
    assert (goal.baseline, goal.target, goal.due) == ("2", "1", date(2027, 4, 1))
    maintain = set_goal(app, episode, "bbs", target="maintain")
    assert maintain.target == "maintain"
    with pytest.raises(InputError):
        set_goal(app, episode, "bbs", target="57")


def test_csv_import_is_all_or_nothing_with_line_numbers(app: App, tmp_path: Path) -> None:
    """One bad row names its line and stores nothing; the fixed file imports every row."""
    episode = active_episode(app)
    bad = tmp_path / "m.csv"
    bad.write_text("episode,measure,value,at\n"
                   f"{episode},bbs,40,2027-02-22T09:00\n"
                   f"{episode},t25fw,0,2027-02-22\n"
                   f"{episode},mas,1+,2027-02-22\n"
                   f"99,bbs,40,2027-02-22\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        import_measurements(app, bad)
    assert "line 3" in str(error.value) and "line 5" in str(error.value)
    assert "line 2" not in str(error.value)
    with transaction(app.engine) as session:
        assert session.exec(select(MeasurementRow)).all() == []
    good = tmp_path / "ok.csv"
    good.write_text("episode,measure,value,at\n"
                    f"{episode},bbs,40,2027-02-22T09:00\n"
                    f"{episode},mas,1+,2027-02-22\n", encoding="utf-8")
    assert import_measurements(app, good) == 2
    with transaction(app.engine) as session:
        berg = session.exec(select(GoalRow).where(GoalRow.measure_id == "bbs")).one()
    assert berg.baseline == 40 and berg.baseline_at == datetime(2027, 2, 22, 9, tzinfo=NEW_YORK)


def test_measurements_keep_their_instant_on_each_backend(any_app: App) -> None:
    """A value taken at 09:00 New York is stored in UTC and reads back the same instant."""
    any_app.clock = FixedClock(datetime(2027, 3, 10, 12, tzinfo=NEW_YORK))
    episode = active_episode(any_app)
    record_measurement(any_app, episode, "t25fw", "10.0",
                       at=datetime(2027, 3, 8, 9, tzinfo=NEW_YORK))
    goal = next(g for g in list_goals(any_app, episode) if g.measure == "t25fw")
    assert (goal.baseline, goal.target) == ("10", "8")


def test_enrolment_creates_the_pathways_goals_at_once(app: App) -> None:
    """Goals exist as soon as the episode is booked, before any measurement."""
    from datetime import date

    from carepath.services.goals import list_goals
    from carepath.services.patients import add_patient
    from carepath.services.scheduling import enroll

    add_patient(app, {"id": "MRN77", "name": "Goal Keeper", "email": "gk@example.org"})
    enrolment = enroll(app, "MRN77", "post-relapse", date(2027, 3, 2), partial=True)
    goals = list_goals(app, enrolment.episode_id)
    assert sorted(g.measure for g in goals) == ["bbs", "msws12", "t25fw"]
