"""The scheduling benchmark: carepath's engine against a naive baseline, on one workload.

``python -m bench scheduling [--size small|medium|large|all] [--seed N]`` (``make bench``).

Each (size, scheduler) runs in a fresh process, so wall time and peak memory belong to that
scheduler alone: the process builds the seeded workload, schedules it once (timed), then the
bench's own checker counts hard-constraint violations and its metrics score the soft ones.
Figures, not a test: nothing here asserts; the floors of the issue are printed as met or
MISSED under each table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from bench.baseline import schedule_naive
from bench.checker import check
from bench.engine import load_engine, schedule_engine, time_free_slots
from bench.metrics import quality
from bench.workload import SIZES, generate

SCHEDULERS = ("baseline", "carepath")
WALL_FLOOR_S = 60.0  # large, on a 2-core machine
MEMORY_FLOOR_MIB = 1024.0
SLOTS_FLOOR_MS = 50.0


def run(argv: list[str]) -> None:
    """Parse ``argv``, measure each size with both schedulers and print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench scheduling")
    parser.add_argument("--size", choices=[*SIZES, "all"], default="all")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = list(SIZES) if args.size == "all" else [args.size]
    for size in sizes:
        results = {name: measure_apart(size, args.seed, name) for name in SCHEDULERS}
        print(render(size, args.seed, results))


def measure_apart(size: str, seed: int, scheduler: str) -> dict[str, Any]:
    """``measure`` in a fresh interpreter: its peak memory is this scheduler's alone."""
    print(f"[scheduling] {size}: {scheduler}…", file=sys.stderr, flush=True)
    # Not a multiprocessing.Pool: its workers are daemons, and ``measure`` starts one more
    # process to time ``carepath slots``.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(measure, size, seed, scheduler).result()
    return result


def measure(size: str, seed: int, scheduler: str) -> dict[str, Any]:
    """Generate the workload, schedule it once (timed) and grade the result."""
    workload = generate(size, seed)
    figures: dict[str, Any] = {"required": workload.required_visits,
                               "existing": len(workload.existing)}
    engine, why = load_engine() if scheduler == "carepath" else (None, "")
    if scheduler == "carepath" and engine is None:
        return figures | {"unavailable": why}
    began, cpu_began = time.perf_counter(), time.process_time()
    outcome = schedule_engine(engine, workload) if engine is not None else None
    bookings = outcome.bookings if outcome is not None else schedule_naive(workload)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    if engine is not None and outcome is not None:
        figures["stretched"] = outcome.stretched
        figures["slots"] = asdict(time_free_slots(engine, workload, outcome.busy, seed))
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if outcome is not None:  # after the memory figure: the database is not the engine's
        from bench.slots_service import time_find_slots  # imports the storage stack

        figures["service_slots"] = asdict(time_find_slots(workload, bookings, seed))
    violations = check(workload, bookings, outcome.plans if outcome is not None else None)
    return figures | {
        "wall_s": wall, "cpu_s": cpu, "per_s": len(bookings) / wall if wall else 0.0,
        "violations": violations.total, "violation_kinds": dict(violations.counts),
        "examples": violations.examples, **asdict(quality(workload, bookings)),
    }


ROWS = (
    ("wall time (s)", "wall_s", "{:.2f}"),
    ("CPU time (s)", "cpu_s", "{:.2f}"),
    ("visits booked per second", "per_s", "{:,.0f}"),
    ("peak memory (MiB, process RSS)", "peak_rss_mib", "{:.0f}"),
    ("hard-constraint violations", "violations", "{:d}"),
    ("required visits booked (%)", "booked_pct", "{:.1f}"),
    ("inside patient preferences (%)", "in_preferences_pct", "{:.1f}"),
    ("episodes with one therapist (%)", "one_therapist_pct", "{:.1f}"),
    ("therapists per episode (mean)", "therapists_per_episode", "{:.2f}"),
    ("mean days enrolment → first visit", "days_to_first_visit", "{:.2f}"),
    ("therapist load spread (stdev/mean min)", "load_spread", "{:.3f}"),
)


def render(size: str, seed: int, results: dict[str, dict[str, Any]]) -> str:
    """One Markdown table for ``size``: a row per figure, a column per scheduler."""
    spec, base, ours = SIZES[size], results["baseline"], results["carepath"]
    lines = [
        f"### {size}: {spec.therapists} therapists, {spec.enrolments:,} enrolments "
        f"({base['required']:,} visits required), {base['existing']:,} existing bookings, "
        f"seed {seed}", "",
        "| figure | baseline | carepath |", "|---|---:|---:|",
    ]
    for label, key, fmt in ROWS:
        lines.append(f"| {label} | {_cell(base, key, fmt)} | {_cell(ours, key, fmt)} |")
    if "slots" in ours:
        slots = ours["slots"]
        lines.append(f"| free_slots p50 / p99 (ms, {slots['queries']} queries) | — | "
                     f"{slots['p50_ms']:.1f} / {slots['p99_ms']:.1f} |")
    if "service_slots" in ours:
        slots = ours["service_slots"]
        lines.append(f"| `carepath slots` service p50 / p99 / max (ms, SQLite, "
                     f"{slots['queries']:,} queries) | — | {slots['p50_ms']:.1f} / "
                     f"{slots['p99_ms']:.1f} / {slots['max_ms']:.1f} |")
        lines.append(f"| `carepath slots` service, first answer of a fresh process (ms) | — "
                     f"| {slots['first_ms']:.1f} |")
    if "stretched" in ours:
        lines.append(f"| episodes stretched toward max weeks | — | {ours['stretched']:,} |")
    lines.append("")
    lines.extend(_notes(size, base, ours))
    return "\n".join(lines)


def _cell(figures: dict[str, Any], key: str, fmt: str) -> str:
    return fmt.format(figures[key]) if key in figures else "—"


def _notes(size: str, base: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    notes = [f"violations ({name}): {figures['violation_kinds']}; e.g. {figures['examples'][:3]}"
             for name, figures in (("baseline", base), ("carepath", ours))
             if figures.get("violations")]
    if "unavailable" in ours:
        return [*notes, f"carepath: not measured — {ours['unavailable']}", ""]
    return [*notes, "floors: " + "; ".join(_floors(size, base, ours)), ""]


def _floors(size: str, base: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    checks = [
        ("0 violations", ours["violations"] == 0),
        ("books ≥ baseline", ours["booked"] >= base["booked"]),
        ("preferences > baseline", ours["in_preferences_pct"] > base["in_preferences_pct"]),
        ("continuity > baseline", ours["one_therapist_pct"] > base["one_therapist_pct"]),
    ]
    if size == "large":
        checks += [
            (f"< {WALL_FLOOR_S:.0f} s", ours["wall_s"] < WALL_FLOOR_S),
            (f"< {MEMORY_FLOOR_MIB / 1024:.0f} GiB", ours["peak_rss_mib"] < MEMORY_FLOOR_MIB),
            (f"free_slots p99 < {SLOTS_FLOOR_MS:.0f} ms",
             ours["slots"]["p99_ms"] < SLOTS_FLOOR_MS),
            (f"`carepath slots` service p99 < {SLOTS_FLOOR_MS:.0f} ms",
             ours["service_slots"]["p99_ms"] < SLOTS_FLOOR_MS),
        ]
    return [f"{label} {'met' if ok else 'MISSED'}" for label, ok in checks]
