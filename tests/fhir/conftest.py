"""A small clinic lived through by the demo (five weeks, through the engine), exported once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from carepath.demo import DemoResult, run_demo
from fhir_helpers import export_json


@pytest.fixture(scope="package")
def lived(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """Thirty patients enrolled, five weeks of visits, measurements, messages, escalations."""
    home = tmp_path_factory.mktemp("fhir-demo") / "home"
    # five weeks: a stall needs two planned reviews (days 14 and 28) before it escalates
    return run_demo(home, start=date(2027, 3, 1), weeks=5, say=lambda _line: None)


@pytest.fixture(scope="package")
def bundle(lived: DemoResult) -> dict[str, Any]:
    return export_json(lived.app)
