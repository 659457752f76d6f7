"""The lifecycle table in README.md and docs/timeline.md is the engine's own table; the
README stays a front door."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from timeline_table import PAGES, render  # noqa: E402


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_lifecycle_table_matches_the_domain_table(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "<!-- lifecycle-table:start -->" in text
    assert render(text) == text, f"{page.name} is stale: run python scripts/timeline_table.py"


def test_the_readme_stays_a_front_door() -> None:
    """The README is a few screens (under 8 KB); the reference lives in the manual."""
    size = len((ROOT / "README.md").read_bytes())
    assert size < 8 * 1024, f"README.md is {size} bytes: move the detail into docs/"
