"""One Prefect server for the whole session, started on 127.0.0.1 by Prefect's test harness."""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A real, temporary Prefect API server; skips with the reason when it cannot start."""
    try:
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
        from prefect.testing.utilities import prefect_test_harness
    except ImportError as error:  # pragma: no cover - prefect is a core dependency
        pytest.skip(f"prefect test harness unavailable: {error}")
    try:
        harness = prefect_test_harness(server_startup_timeout=90)
        harness.__enter__()
    except Exception as error:  # noqa: BLE001 - any start-up failure is a reason to skip
        pytest.skip(f"a Prefect server could not start on 127.0.0.1: {error}")
    try:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield
    finally:
        harness.__exit__(None, None, None)
