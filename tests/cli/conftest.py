"""The command-line tests' shell: a carepath home with the demo patients imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import invoke
from database_templates import copy_sqlite


@pytest.fixture
def shell(tmp_path: Path, config_dir: Path, sqlite_template: Path,
          monkeypatch: pytest.MonkeyPatch) -> Path:
    """A carepath home (its database fresh, at the newest schema) with the demo patients."""
    copy_sqlite(sqlite_template, tmp_path / "home" / "carepath.db")
    monkeypatch.setenv("CAREPATH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CAREPATH_CONFIG_DIR", str(config_dir))
    assert invoke("patients", "import", str(config_dir / "demo-patients.csv")).exit_code == 0
    return tmp_path
