"""The episode flows under a real Prefect server: thin wrappers over carepath services."""

from datetime import date

import pytest
from sqlmodel import col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow
from carepath.errors import InvalidTransition
from carepath.services import App
from carepath.services.patient_refs import ref_for
from carepath.services.patients import add_patient
from carepath.services.runs import list_runs
from flows.care import complete_episode, enroll_episode, report_relapse
from flows.context import using_app


def _patient(app: App) -> int:
    add_patient(app, {"id": "MRN1", "name": "Jane Doe", "email": "jane@example.org"})
    return ref_for(app, "MRN1")


def test_enrol_then_relapse_pauses_boosters_and_starts_post_relapse(
    app: App, prefect_server: None
) -> None:
    """enroll_episode books boosters; report_relapse holds them and books post-relapse care."""
    ref = _patient(app)
    with using_app(app):
        enroll_episode(ref, "stable-boosters", date(2027, 3, 2))
        report_relapse(ref)
    with transaction(app.engine) as session:
        episodes = session.exec(select(EpisodeRow).order_by(col(EpisodeRow.id))).all()
        cancelled = session.exec(select(AppointmentRow).where(
            AppointmentRow.status == "cancelled")).all()
    assert [(e.pathway_id, e.state) for e in episodes] == [
        ("stable-boosters", "on_hold"), ("post-relapse", "active")]
    assert episodes[1].previous_episode_id == episodes[0].id
    assert cancelled and {c.episode_id for c in cancelled} == {episodes[0].id}
    assert [r.flow for r in list_runs(app)] == ["report_relapse", "enroll_episode"]


def test_a_failing_flow_leaves_a_failed_run_for_the_admin(app: App, prefect_server: None) -> None:
    """Completing an episode twice is refused, and the refusal is on record."""
    ref = _patient(app)
    with using_app(app):
        enroll_episode(ref, "progression-review", date(2027, 3, 2))
        with transaction(app.engine) as session:
            episode_id = session.exec(select(EpisodeRow.id)).one()
        complete_episode(episode_id)
        with pytest.raises(InvalidTransition, match="finished"):
            complete_episode(episode_id)
    latest = list_runs(app)[0]
    assert (latest.flow, latest.status) == ("complete_episode", "failed")
    assert "finished" in latest.error


def test_prefect_keeps_no_mrn_in_parameters_or_run_names(app: App, prefect_server: None) -> None:
    """What the Prefect server stores of a patient's flows is a reference number, not the MRN."""
    from prefect.client.orchestration import get_client

    ref = _patient(app)
    with using_app(app):
        enroll_episode(ref, "stable-boosters", date(2027, 3, 2))
        report_relapse(ref)

    with get_client(sync_client=True) as client:  # no asyncio.run: a loop may be running
        runs = client.read_flow_runs(limit=200)
    seen = " ".join(f"{run.name} {run.parameters}" for run in runs)
    assert f"report-relapse-{ref}" in seen
    assert "MRN1" not in seen and "Jane" not in seen
