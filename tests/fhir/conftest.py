"""The small clinic lived through by the demo (six weeks, through the engine), exported once."""

from __future__ import annotations

from typing import Any

import pytest

from carepath.demo import DemoResult
from fhir_helpers import export_json


@pytest.fixture(scope="package")
def lived(lived_demo: DemoResult) -> DemoResult:
    """Thirty patients enrolled, six weeks of visits, measurements, messages, escalations
    (the session's demo: a stall needs two planned reviews, days 14 and 28, to escalate)."""
    return lived_demo


@pytest.fixture(scope="package")
def bundle(lived: DemoResult) -> dict[str, Any]:
    return export_json(lived.app)
