"""Flows run under a real Prefect server and leave a carepath run record."""

import asyncio

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

    async def booster_run_states() -> list[str]:
        async with get_client() as client:
            runs = await client.read_flow_runs(limit=200)
        return [run.state.type.value for run in runs
                if run.name == "extend-boosters" and run.state is not None]

    assert asyncio.run(booster_run_states()) == ["COMPLETED"]
