"""The shaped clinic, end to end: ``python -m bench shaped [--size small|medium|large]
[--seeds 1,2,3] [--skip-cli] [--cpsat [--cpsat-seconds 60]]``.

For each seed a fresh clinic is written (``bench.workload_shaped``) and scored three ways,
each in its own process so that time and peak memory are its own:

- **greedy**: each visit at the earliest feasible slot with any qualified therapist
  (``bench.greedy``), the baseline to beat;
- **engine**: ``schedule_batch(partial=True)`` on the same diaries, in process: the batch
  scheduling time alone;
- **CP-SAT** (``--cpsat``, ``bench.cpsat``): the same visits, slots and hard rules as one
  OR-Tools model maximising the booked visits within a time limit, a quality reference;
- **CLI**: what a clinic admin runs, as new processes on a fresh SQLite home —
  ``patients import``, ``appointments import``, ``enroll --batch --partial``,
  ``appointments export`` — timed one by one with each one's peak memory.

Bookings are graded by ``bench.shaped_checker``, which shares no code with the engine.
Figures, not a test: nothing asserts; the issue's floors are printed as met or MISSED.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import cpsat
from bench.shaped_checker import check, requested_visits
from bench.workload_shaped import SIZES, generate
from carepath.adapters.clock import SystemClock

CLI_FLOOR_S = 60.0  # enrolment end to end, large
MEMORY_FLOOR_MIB = 500.0  # every command
BATCH_FACTOR = 2.0  # the engine's batch time against the greedy's


def first_monday(today: date) -> date:
    """The first Monday at least three days ahead: every batch start lies in the future."""
    day = today + timedelta(days=3)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench shaped")
    parser.add_argument("--size", choices=[*SIZES, "all"], default="small")
    parser.add_argument("--seeds", default="1", help="comma-separated, e.g. 1,2,3")
    parser.add_argument("--skip-cli", action="store_true", help="greedy and engine only")
    parser.add_argument("--keep", type=Path, default=None, help="keep the files here")
    parser.add_argument("--cpsat", action="store_true",
                        help="also solve a CP-SAT model of the same visits (needs ortools)")
    parser.add_argument("--cpsat-seconds", type=float, default=120.0,
                        help="the CP-SAT time limit per clinic")
    parser.add_argument("--optimize-seconds", type=float, default=0.0, metavar="S",
                        help="also run the improvement phase after the batch, for at most S s")
    parser.add_argument("--import-rows", type=int, default=0, metavar="N",
                        help="also time `appointments import` of N bookings on a fresh home")
    args = parser.parse_args(argv)
    if args.cpsat and not cpsat.available():
        print(cpsat.INSTALL, file=sys.stderr)
        raise SystemExit(2)
    reference = args.cpsat_seconds if args.cpsat else None
    sizes = list(SIZES) if args.size == "all" else [args.size]
    for size in sizes:
        for seed in (int(s) for s in args.seeds.split(",")):
            figures = measure(size, seed, args.skip_cli, args.keep, reference, args.import_rows,
                              args.optimize_seconds)
            print(render(size, seed, figures), flush=True)


def measure(size: str, seed: int, skip_cli: bool, keep: Path | None,
            cpsat_seconds: float | None = None, import_rows: int = 0,
            optimize_seconds: float = 0.0) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"shaped-{size}-{seed}-"))
    try:
        shaped = generate(size, seed, first_monday(SystemClock().now().date()), root,
                          import_rows)
        figures: dict[str, Any] = {"requested": requested_visits(root),
                                   "existing": shaped.existing, "episodes": shaped.requests}
        figures["greedy"] = apart(greedy_figures, root)
        figures["engine"] = apart(engine_figures, root, optimize_seconds)
        if cpsat_seconds is not None:
            figures["cpsat"] = apart(cpsat.cpsat_figures, root, cpsat_seconds)
        for name in [n for n in ("greedy", "engine", "cpsat") if n in figures]:
            result = figures[name]
            print(f"[shaped] {size} seed {seed} {name}: booked {result['booked']} of "
                  f"{figures['requested']}, {result['violations']} violations, "
                  f"{result['seconds']:.2f} s wall, {result['cpu']:.2f} s CPU",
                  file=sys.stderr, flush=True)
        if not skip_cli:
            figures["cli"] = cli_figures(root)
        if import_rows:
            figures["bulk"] = bulk_import_figures(root)
        if keep is not None:
            shutil.copytree(root, keep / f"{size}-{seed}", dirs_exist_ok=True)
        return figures
    finally:
        shutil.rmtree(root, ignore_errors=True)


def apart(function: Any, root: Path, *args: Any) -> dict[str, Any]:
    print(f"[shaped] {root.name}: {function.__name__}…", file=sys.stderr, flush=True)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(function, root, *args).result()
    return result


def greedy_figures(root: Path) -> dict[str, Any]:
    from bench.greedy import load, read_existing, schedule

    config, diaries, _ = load(root)
    existing = read_existing(root, config, diaries)
    began, cpu = time.perf_counter(), time.process_time()
    records, _ = schedule(root, config, diaries)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    found = check(root, existing + records)
    return {"booked": len(records), "seconds": seconds, "cpu": cpu,
            "violations": found.total, "kinds": dict(found.counts),
            "examples": found.examples[:3]}


def engine_figures(root: Path, optimize_seconds: float = 0.0) -> dict[str, Any]:
    """``schedule_batch`` on the diaries the CLI would read, timed alone; with
    ``optimize_seconds``, then the improvement phase within that budget, timed alone."""
    from zoneinfo import ZoneInfo

    from bench.greedy import load, read_existing
    from carepath.domain.scheduling import schedule_batch
    from carepath.domain.scheduling.planning import plan_episode
    from carepath.domain.scheduling.types import Busy, EpisodeRequest
    from carepath.domain.timeutil import local_datetime

    config, diaries, _ = load(root)
    zone = ZoneInfo(config.clinic.timezone)
    busy = Busy()
    for record in read_existing(root, config, diaries):
        start = local_datetime(date.fromisoformat(record["start"][:10]),
                               time_of(record["start"]), zone)
        units = [(u.partition("#")[0], int(u.partition("#")[2]))
                 for u in record["resources"].split(";") if u]
        busy.add(start, start + timedelta(minutes=record["minutes"]),
                 therapist_id=record["therapist_id"], units=units,
                 patient_id=record["patient_id"])
    preferences = _preferences(root)
    requests = []
    with (root / "batch.csv").open(encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            plan = plan_episode(config.pathway(row["pathway_id"]),
                                date.fromisoformat(row["start"]), preferences[row["patient_id"]])
            requests.append(EpisodeRequest(str(line), row["patient_id"], plan))
    first = min(r.plan.start for r in requests)
    from datetime import time as clock

    began, cpu = time.perf_counter(), time.process_time()
    schedules = schedule_batch(requests, config.clinic, busy, zone=zone,
                               not_before=local_datetime(first, clock(0), zone), partial=True)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    figures = graded(root, schedules, seconds, cpu)
    if optimize_seconds > 0:
        from carepath.domain.scheduling.improve import improve

        began, cpu = time.perf_counter(), time.process_time()
        deadline = began + optimize_seconds
        better, report = improve(schedules, config.clinic, busy, zone=zone,
                                 not_before=local_datetime(first, clock(0), zone),
                                 stop=lambda: time.perf_counter() > deadline)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        figures["improved"] = {**graded(root, better, seconds, cpu), "moved": report.moved,
                               "swapped": report.swapped,
                               "out_of_time": report.out_of_time, "limit": optimize_seconds}
    return figures


def graded(root: Path, schedules: list[Any], seconds: float, cpu: float) -> dict[str, Any]:
    """The engine's bookings as the checker sees them, with the time they took."""
    records = [{"patient_id": s.patient_id, "episode_id": s.key, "seq": p.requirement.seq,
                "visit_type": p.requirement.visit_type, "therapist_id": p.therapist_id,
                "start": p.start.isoformat(), "end": p.end.isoformat(), "status": "booked",
                "fixed": False, "resources": ";".join(f"{r}#{n}" for r, n in p.resources)}
               for s in schedules if s.booked for p in s.placements]
    found = check(root, records)
    return {"booked": len(records), "seconds": seconds, "cpu": cpu,
            "violations": found.total, "kinds": dict(found.counts),
            "examples": found.examples[:3], **soft(schedules)}


def soft(schedules: list[Any]) -> dict[str, Any]:
    from carepath.domain.scheduling.improve import lead_of

    placed = [p for s in schedules for p in s.placements]
    single = [s for s in schedules if s.placements]
    with_lead = sum(sum(p.therapist_id == lead for p in s.placements)
                    for s, lead in ((s, lead_of(s)) for s in single))
    return {"in_wishes": sum(s.in_preferences for s in schedules) / max(len(placed), 1),
            "one_therapist": sum(s.single_therapist for s in single) / max(len(single), 1),
            "with_lead": with_lead / max(len(placed), 1)}


def time_of(text: str) -> Any:
    from datetime import time as clock

    hours, minutes = text[11:16].split(":")
    return clock(int(hours), int(minutes))


def _preferences(root: Path) -> dict[str, Any]:
    from carepath.domain.patients import parse_patient

    with (root / "patients.csv").open(encoding="utf-8") as handle:
        out = {}
        for row in csv.DictReader(handle):
            patient, _ = parse_patient(row)
            assert patient is not None
            out[patient.id] = patient.preferences
        return out


def cli_figures(root: Path) -> dict[str, Any]:
    """The admin's four commands as new processes, each timed with its peak memory."""
    steps = {
        "patients import": ["patients", "import", str(root / "patients.csv")],
        "appointments import": ["appointments", "import", str(root / "existing.csv")],
        "enroll --batch --partial": ["enroll", "--batch", str(root / "batch.csv"), "--partial",
                                     "--format", "json"],
        "appointments export": ["appointments", "export", "--format", "json", "-o",
                                str(root / "export.json")],
    }
    out: dict[str, Any] = run_commands(root, root / "home", steps)
    records = json.loads((root / "export.json").read_text(encoding="utf-8")) \
        if (root / "export.json").exists() else []
    new = [r for r in records if not r["fixed"]]
    found = check(root, records)
    out["booked"] = sum(1 for r in new if r["status"] == "booked")
    out["violations"], out["kinds"] = found.total, dict(found.counts)
    out["examples"] = found.examples[:3]
    return out


def bulk_import_figures(root: Path) -> dict[str, Any]:
    """``appointments import`` of ``bulk.csv`` (``--import-rows``) on a fresh home of its own,
    after its patients are imported: the time and peak memory of the import alone."""
    steps = {
        "patients import (bulk)": ["patients", "import", str(root / "bulk-patients.csv")],
        "appointments import (bulk)": ["appointments", "import", str(root / "bulk.csv")],
    }
    out = run_commands(root, root / "bulk-home", steps)
    with (root / "bulk.csv").open(encoding="utf-8") as handle:
        out["rows"] = sum(1 for _ in handle) - 1
    return out


def run_commands(root: Path, home: Path, steps: dict[str, list[str]]) -> dict[str, Any]:
    """Each command as a new process on ``home``: wall and CPU seconds, peak memory, exit."""
    env = {**os.environ, "CAREPATH_HOME": str(home),
           "CAREPATH_CONFIG_DIR": str(root / "config"), "COLUMNS": "200"}
    env.pop("CAREPATH_DATABASE_URL", None)
    carepath = [str(Path(sys.executable).with_name("carepath"))]  # the installed command
    out: dict[str, Any] = {}
    for name, args in steps.items():
        print(f"[shaped] {root.name}: carepath {name}…", file=sys.stderr, flush=True)
        began = time.perf_counter()
        sink_path = root / f"{name.split()[0]}{'-bulk' if 'bulk' in name else ''}.out"
        with open(sink_path, "wb") as sink:
            process = subprocess.Popen([*carepath, *args], env=env, stdout=sink,
                                       stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        out[name] = {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                     "peak_mib": usage.ru_maxrss / 1024,
                     "status": os.waitstatus_to_exitcode(status)}
        if out[name]["status"] not in (0, 4):
            out[name]["error"] = sink_path.read_text(errors="replace")[-600:]
    return out


def render(size: str, seed: int, figures: dict[str, Any]) -> str:
    therapists, patients = SIZES[size]
    requested = figures["requested"]
    lines = [f"\n{size} (seed {seed}): {therapists} therapists, {patients} patients, "
             f"{figures['episodes']} episodes, {requested} visits requested, "
             f"{figures['existing']} existing bookings imported",
             "| scheduler | booked | hard violations | wall (s) | CPU (s) |",
             "|---|---|---|---|---|"]
    greedy, engine = figures["greedy"], figures["engine"]
    for name, result in (("greedy", greedy), ("engine (schedule_batch)", engine)):
        lines.append(f"| {name} | {100 * result['booked'] / requested:.1f} % | "
                     f"{result['violations']} | {result['seconds']:.2f} | "
                     f"{result['cpu']:.2f} |")
    reference = figures.get("cpsat")
    if reference:
        solved = reference["status"] in ("OPTIMAL", "FEASIBLE")
        bound = f", at most {reference['bound']} bookable" if solved else ", no answer yet"
        lines.append(f"| CP-SAT reference ({reference['limit']:g} s limit, "
                     f"{reference['status']}{bound}) | "
                     f"{100 * reference['booked'] / requested:.1f} % | "
                     f"{reference['violations']} | {reference['seconds']:.2f} | "
                     f"{reference['cpu']:.2f} |")
    improved = engine.get("improved")
    if improved:
        spent = "budget spent" if improved["out_of_time"] else "every episode looked at"
        lines.append(f"| engine + improvement ({improved['limit']:g} s limit, {spent}, "
                     f"{improved['moved']} visits moved, {improved['swapped']} pairs traded) | "
                     f"{100 * improved['booked'] / requested:.1f} % | "
                     f"{improved['violations']} | {improved['seconds']:.2f} | "
                     f"{improved['cpu']:.2f} |")
    lines.append(f"engine soft: {100 * engine['in_wishes']:.1f} % of visits inside the "
                 f"patient's wishes, {100 * engine['one_therapist']:.1f} % of episodes with "
                 f"one therapist, {100 * engine['with_lead']:.1f} % of visits with their "
                 "episode's lead")
    if improved:
        lines.append(f"after the improvement: {100 * improved['in_wishes']:.1f} % inside the "
                     f"wishes, {100 * improved['one_therapist']:.1f} % with one therapist, "
                     f"{100 * improved['with_lead']:.1f} % of visits with the lead")
    for result in (greedy, engine, *([reference] if reference else []),
                   *([improved] if improved else [])):
        for example in result["examples"]:
            lines.append(f"  e.g. {example}")
    verdicts = [
        ("engine booked ≥ greedy", engine["booked"] >= greedy["booked"]),
        ("engine 0 hard violations", engine["violations"] == 0
         and (not improved or improved["violations"] == 0)),
        (f"batch ≤ {BATCH_FACTOR:g}× greedy CPU time",
         engine["cpu"] <= BATCH_FACTOR * greedy["cpu"]),
    ]
    cli = figures.get("cli")
    if cli:
        lines += ["| CLI command | wall (s) | CPU (s) | peak MiB | exit |",
                  "|---|---|---|---|---|"]
        for name, step in cli.items():
            if isinstance(step, dict) and "seconds" in step:
                lines.append(f"| carepath {name} | {step['seconds']:.1f} | "
                             f"{step['cpu']:.1f} | {step['peak_mib']:.0f} | {step['status']} |")
                if "error" in step:
                    lines.append("  " + step["error"].strip().replace("\n", "\n  "))
        lines.append(f"CLI booked {100 * cli['booked'] / requested:.1f} %, "
                     f"{cli['violations']} hard violations {cli['kinds'] or ''}")
        for example in cli["examples"]:
            lines.append(f"  e.g. {example}")
        steps = [s for s in cli.values() if isinstance(s, dict) and "seconds" in s]
        verdicts += [
            ("CLI 0 hard violations", cli["violations"] == 0),
            ("CLI booked ≥ greedy", cli["booked"] >= greedy["booked"]),
            (f"enrolment ≤ {CLI_FLOOR_S:g} s wall",
             cli["enroll --batch --partial"]["seconds"] <= CLI_FLOOR_S),
            (f"enrolment ≤ {CLI_FLOOR_S:g} s CPU",
             cli["enroll --batch --partial"]["cpu"] <= CLI_FLOOR_S),
            (f"import ≤ {CLI_FLOOR_S:g} s CPU",
             cli["appointments import"]["cpu"] <= CLI_FLOOR_S),
            (f"every command < {MEMORY_FLOOR_MIB:g} MiB",
             all(s["peak_mib"] < MEMORY_FLOOR_MIB for s in steps)),
        ]
    bulk = figures.get("bulk")
    if bulk:
        lines += [f"bulk import of {bulk['rows']:,} bookings on a fresh home:",
                  "| CLI command | wall (s) | CPU (s) | peak MiB | exit |", "|---|---|---|---|---|"]
        for name, step in bulk.items():
            if isinstance(step, dict):
                lines.append(f"| carepath {name} | {step['seconds']:.1f} | "
                             f"{step['cpu']:.1f} | {step['peak_mib']:.0f} | {step['status']} |")
                if "error" in step:
                    lines.append("  " + step["error"].strip().replace("\n", "\n  "))
        step = bulk["appointments import (bulk)"]
        verdicts += [
            (f"bulk import ≤ {CLI_FLOOR_S:g} s CPU", step["cpu"] <= CLI_FLOOR_S),
            (f"bulk import ≤ {CLI_FLOOR_S:g} s wall", step["seconds"] <= CLI_FLOOR_S),
            (f"bulk import < {MEMORY_FLOOR_MIB:g} MiB", step["peak_mib"] < MEMORY_FLOOR_MIB),
        ]
    lines.append("floors: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}"
                                       for name, ok in verdicts))
    return "\n".join(lines)
