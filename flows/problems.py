"""The automation's target: a Failed, Crashed or Late run lands in carepath's run list."""

from __future__ import annotations

from uuid import UUID

from prefect import flow

from carepath.services.runs import record_problem
from flows.context import current_app


def _flow_run_name(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    try:  # the sync client: inside a flow an event loop is already running here
        with get_client(sync_client=True) as client:
            return str(client.read_flow_run(UUID(flow_run_id)).name)
    except Exception:  # noqa: BLE001 - the report must not fail for want of a name
        return flow_run_id


@flow(name="report_problem", flow_run_name="report-problem")
def report_problem(flow_run_id: str, state: str) -> str:
    """Record another deployment's Failed, Crashed or Late run (from its event)."""
    run_id = flow_run_id.removeprefix("prefect.flow-run.")
    what = state.removeprefix("prefect.flow-run.")
    row = record_problem(current_app(), run_id, what, _flow_run_name(run_id))
    return row.error
