"""The FHIR export benchmark: the large bench clinic written as one Bundle, streamed.

``python -m bench fhir [--episodes 4000] [--seed 1] [--url postgresql://…]``

The clinic is the goal-review bench's seeded workload (``bench.goals.populate``: 4,000
episodes across the three pathways, their goals, measurement histories and about 12
appointments each). The export runs as ``carepath fhir export -o FILE`` in a fresh process,
so its peak memory (the child's maximum resident set) is the export's alone, not the
workload builder's. Targets from the issue: under 60 s and under 500 MiB, printed as met or
MISSED.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.goals import _app, populate
from carepath.config.resources import bundled_config_dir

TARGET_S, TARGET_MIB = 60.0, 500.0
EXPORT = "from carepath.cli import app; app()"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench fhir")
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", default="", help="a database URL (default: a temp SQLite)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carepath-bench-fhir-") as folder:
        app = _app(Path(folder), args.url)
        began = time.perf_counter()
        counts, _today = populate(app, args.episodes, random.Random(args.seed))
        setup = time.perf_counter() - began
        url = app.settings.database_url
        app.engine.dispose()
        out = Path(folder) / "bundle.json"
        wall, peak_mib = export_in_child(Path(folder), url, out)
        kinds = _kinds(out)
        print(render(counts, setup, wall, peak_mib, kinds, out.stat().st_size))


def export_in_child(folder: Path, url: str, out: Path) -> tuple[float, float]:
    """Wall seconds of ``carepath fhir export -o`` and the child's peak RSS in MiB."""
    env = {**os.environ, "CAREPATH_HOME": str(folder / "home"), "CAREPATH_DATABASE_URL": url,
           "CAREPATH_CONFIG_DIR": str(bundled_config_dir()), "CAREPATH_ACTOR": "bench"}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", EXPORT, "fhir", "export", "-o", str(out)], env=env,
                   check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return wall, peak_kib / 1024


def _kinds(out: Path) -> Counter[str]:
    with out.open(encoding="utf-8") as bundle:
        document = json.load(bundle)
    return Counter(e["resource"]["resourceType"] for e in document["entry"])


def render(counts: dict[str, int], setup: float, wall: float, peak_mib: float,
           kinds: Counter[str], size: int) -> str:
    total = sum(kinds.values())
    rows = [
        f"workload: {counts['episode']:,} episodes, {counts['appointment']:,} appointments, "
        f"{counts['measurement']:,} measurements, {counts['goal']:,} goals "
        f"(built in {setup:.1f} s)",
        f"bundle:   {total:,} resources, {size / 2**20:.1f} MiB — " + ", ".join(
            f"{n:,} {kind}" for kind, n in kinds.most_common()),
        f"export:   {wall:.1f} s wall (fresh process, start-up included) = "
        f"{total / wall:,.0f} resources/s   target < {TARGET_S:.0f} s: "
        + ("met" if wall < TARGET_S else "MISSED"),
        f"memory:   {peak_mib:.0f} MiB peak RSS of the export process   target < "
        f"{TARGET_MIB:.0f} MiB: " + ("met" if peak_mib < TARGET_MIB else "MISSED"),
    ]
    return "\n".join(rows)
