"""What the suite asks of its own property tests, where Hypothesis's check cannot be trusted.

Hypothesis warns when the global ``random`` state changes while it draws an example (a
strategy using ``random`` makes failures unreproducible). A background thread of a shared
fixture can change it too, so pyproject.toml silences that warning; this test keeps the
property that the warning guarded: no file with a Hypothesis strategy uses ``random``.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
USES_HYPOTHESIS = re.compile(r"^\s*(from hypothesis|import hypothesis)", re.MULTILINE)
USES_RANDOM = re.compile(r"^\s*(import random\b|from random import)", re.MULTILINE)


def test_no_file_with_a_strategy_uses_the_random_module() -> None:
    offenders = sorted(str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
                       if USES_HYPOTHESIS.search(text := path.read_text(encoding="utf-8"))
                       and USES_RANDOM.search(text))
    assert offenders == [], f"draw with st.randoms() or st.sampled_from() instead: {offenders}"


def test_the_check_finds_a_strategy_that_imports_random() -> None:
    sample = "from hypothesis import given\nimport random\n"
    assert USES_HYPOTHESIS.search(sample) and USES_RANDOM.search(sample)
