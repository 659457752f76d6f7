"""The CP-SAT reference is optional: without OR-Tools the bench says how to install it and
stops; with it, a model of a few episodes books them within the checker's rules."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from datetime import date
from pathlib import Path

from availability import unavailable
from bench.workload_shaped import generate

ROOT = Path(__file__).resolve().parents[2]
HIDE_ORTOOLS = ("import sys; sys.modules['ortools'] = None; from bench.__main__ import main; "
                "main(['shaped', '--size', 'small', '--cpsat'])")


def test_without_ortools_it_says_how_to_install_and_exits_non_zero() -> None:
    result = subprocess.run([sys.executable, "-c", HIDE_ORTOOLS], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "pip install -e '.[bench]'" in result.stderr and "Traceback" not in result.stderr


def test_a_few_episodes_are_booked_without_breaking_a_rule(tmp_path: Path) -> None:
    if importlib.util.find_spec("ortools") is None:
        unavailable("OR-Tools is not installed: pip install -e '.[bench]' (CI installs it)")
    from bench.cpsat import cpsat_figures

    generate("small", 2, date(2027, 3, 1), tmp_path)
    batch = tmp_path / "batch.csv"
    with batch.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kept = [r for r in rows if r["pathway_id"] in ("boosters-monthly", "progression-review")][:4]
    with batch.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    figures = cpsat_figures(tmp_path, seconds=20)
    assert figures["status"] == "OPTIMAL" and figures["violations"] == 0
    assert figures["booked"] == figures["bound"] > 0
