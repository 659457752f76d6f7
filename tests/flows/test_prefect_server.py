"""Flows run under a real Prefect server and leave a carepath run record."""

from prefect.client.orchestration import get_client

from carepath.services import App
from carepath.services.runs import list_runs
from flows.care import extend_boosters
from flows.context import using_app


def test_a_flow_runs_on_a_prefect_server_and_is_recorded(app: App, prefect_server: None) -> None:
    """The booster sweep runs as a Prefect flow; both Prefect and carepath record it."""
    with using_app(app):
        summary = extend_boosters()
    assert summary == "0 booster series continued"
    assert [(r.flow, r.status) for r in list_runs(app)] == [("extend_boosters", "succeeded")]

    # Prefect's own sync client: asyncio.run() fails when an earlier flow in this worker left
    # an event loop marked as running in this thread.
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=200)
    assert [run.state.type.value for run in runs
            if run.name == "extend-boosters" and run.state is not None] == ["COMPLETED"]
