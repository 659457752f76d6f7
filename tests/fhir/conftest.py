"""A small clinic lived through by the demo (four weeks, through the engine), exported once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from carepath.demo import DemoResult, run_demo
from fhir_helpers import export_json


@pytest.fixture(scope="package")
def lived(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """Thirty patients enrolled, four weeks of visits, measurements, messages, escalations.

    Four, not three: goals are reviewed on the pathway's two-week cadence, so the first
    escalations open at the second planned review."""
    home = tmp_path_factory.mktemp("fhir-demo") / "home"
    return run_demo(home, start=date(2027, 3, 1), weeks=4, say=lambda _line: None)


@pytest.fixture(scope="package")
def bundle(lived: DemoResult) -> dict[str, Any]:
    return export_json(lived.app)
