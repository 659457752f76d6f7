"""One Prefect server for the whole session, started on 127.0.0.1 by Prefect's test harness."""

from collections.abc import Iterator

import pytest

from availability import unavailable


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A real, temporary Prefect API server; when it cannot start, the tests skip with the
    reason (fail in CI)."""
    try:
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
        from prefect.testing.utilities import prefect_test_harness
    except ImportError as error:  # pragma: no cover - prefect is a core dependency
        unavailable(f"prefect test harness unavailable: {error}")
    try:
        harness = prefect_test_harness(server_startup_timeout=90)
        harness.__enter__()
    except Exception as error:  # noqa: BLE001 - any start-up failure is a reason to skip
        unavailable(f"a Prefect server could not start on 127.0.0.1: {error}")
    try:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield
    finally:
        harness.__exit__(None, None, None)
