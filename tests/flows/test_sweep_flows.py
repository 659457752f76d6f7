"""Sweep flows under a real Prefect server: partitions fan out as tasks; problems are listed."""

from __future__ import annotations

from carepath.services import App
from carepath.services.runs import list_runs
from flows.context import using_app
from flows.problems import report_problem
from flows.sweeps import review_goals
from goal_helpers import active_episode


def test_review_fans_out_over_partitions_as_prefect_tasks(any_app: App,
                                                         prefect_server: None) -> None:
    """Side by side on PostgreSQL, one after the other on SQLite: the same two parts."""
    app = any_app
    for number in range(4):
        active_episode(app, patient=f"MRN{number}")
    with using_app(app):
        summary = review_goals(partitions=2)
    assert summary.count("2 episode") == 2, summary  # two parts of two episodes each
    runs = list_runs(app)
    assert sorted(r.name.rsplit(" ", 1)[1] for r in runs) == ["1/2", "2/2"]
    assert all(r.flow_run_id for r in runs)  # each run names the Prefect flow run it was in


def test_a_reported_problem_is_listed_with_the_failed_runs(app: App,
                                                           prefect_server: None) -> None:
    """What the automation hands over (the event's resource id and name) becomes a failed run."""
    with using_app(app):
        report_problem("prefect.flow-run.00000000-0000-0000-0000-000000000001",
                       "prefect.flow-run.Late")
    [problem] = list_runs(app, status="failed")
    assert problem.flow == "prefect_problem" and problem.name.startswith("Late ")
    assert problem.flow_run_id == "00000000-0000-0000-0000-000000000001"
