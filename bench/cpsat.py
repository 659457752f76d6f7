"""A quality reference for the shaped clinic: the same visits, slots and hard rules as one
CP-SAT model (OR-Tools), solved for the most booked visits within a time limit.

``python -m bench shaped --size small --cpsat [--cpsat-seconds 120]`` prints its booked
share beside the greedy's and the engine's; ``python -m bench cpsat`` is the same without
the CLI run. OR-Tools is an optional extra: ``pip install -e '.[bench]'``.

The model keeps the hard rules only (wishes and continuity are the engine's, not scored
here): each visit at most once, inside the days of its week as planned or stretched to the
pathway's longest (the engine may stretch too), on the slot grid, with one qualified
therapist and one free unit of each room or device it needs — each a ``NoOverlap`` with the
time that is not free (hours, leave, maintenance, holidays, the bookings imported first); a
patient's visits on different days, the pathway's rest days inside an episode and the
clinic's ``patient_min_rest_days`` between any two new visits; an episode's visits in their
order, never without its first. Its bookings are graded by ``bench.shaped_checker`` like the
others'. It shares the plan of visits (``plan_episode``) and the greedy's diaries (free
minutes per therapist and unit per day) with the rest of the bench, nothing of the engine.
"""

from __future__ import annotations

import csv
import importlib.util
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

INSTALL = ("the CP-SAT reference needs OR-Tools, an optional extra: "
           "pip install -e '.[bench]' (or pip install ortools)")
DAY_MINUTES = 1440


def available() -> bool:
    return importlib.util.find_spec("ortools") is not None


@dataclass
class Visit:
    """One visit to place: who, what, and the starts (minutes from day 0) it may take."""

    patient_id: str
    episode: str
    seq: int
    visit_type: str
    minutes: int
    skills: tuple[str, ...]
    tags: tuple[str, ...]
    starts: list[int] = field(default_factory=list)


def run(argv: list[str]) -> None:
    """``python -m bench cpsat``: the shaped bench with the reference, without the CLI run."""
    from bench import shaped

    shaped.run([*argv, "--cpsat", "--skip-cli"])


def cpsat_figures(root: Path, seconds: float = 120.0) -> dict[str, Any]:
    """Build, solve and grade the model for the clinic in ``root``."""
    from bench.greedy import load, read_existing
    from bench.shaped_checker import check

    config, diaries, _ = load(root)
    existing = read_existing(root, config, diaries)
    day0 = min(date.fromisoformat(row["start"]) for row in _batch(root))
    visits, gaps = _visits(root, config, diaries, existing, day0)
    began, cpu = time.perf_counter(), time.process_time()
    solved = _solve(visits, gaps, config, diaries, day0, seconds)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    records = [_record(visit, *choice, day0) for visit, choice in solved["chosen"]]
    found = check(root, existing + records)
    return {"booked": len(records), "seconds": wall, "cpu": cpu, "status": solved["status"],
            "bound": solved["bound"], "violations": found.total, "kinds": dict(found.counts),
            "examples": found.examples[:3], "limit": seconds}


def _batch(root: Path) -> list[dict[str, str]]:
    with (root / "batch.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _visits(root: Path, config: Any, diaries: Any, existing: list[dict[str, Any]],
            day0: date) -> tuple[list[Visit], dict[tuple[int, int], int]]:
    """Every requested visit with its feasible starts, and the least days between pairs."""
    from carepath.domain.scheduling.planning import plan_episode, stretch

    fixed_days: dict[str, set[date]] = {}
    for record in existing:
        fixed_days.setdefault(record["patient_id"], set()).add(
            date.fromisoformat(record["start"][:10]))
    visits: list[Visit] = []
    rest_of: dict[str, int] = {}
    for line, row in enumerate(_batch(root), start=2):
        pathway = config.pathway(row["pathway_id"])
        plan = plan_episode(pathway, date.fromisoformat(row["start"]))
        longest = {r.seq: r for r in stretch(plan, plan.max_weeks).requirements}
        rest_of[str(line)] = pathway.min_rest_days
        for req in plan.requirements:
            visit = Visit(row["patient_id"], str(line), req.seq, req.visit_type,
                          req.duration_minutes, req.skills, req.resources)
            last = max(req.latest, longest[req.seq].latest)
            visit.starts = _starts(visit, diaries, req.earliest, last, day0,
                                   fixed_days.get(row["patient_id"], set()))
            visits.append(visit)
    return visits, _gaps(visits, rest_of, config.clinic.patient_min_rest_days)


def _starts(visit: Visit, diaries: Any, first: date, last: date, day0: date,
            taken: set[date]) -> list[int]:
    """Grid starts on open days of the window where some qualified therapist and a unit of
    each need are free for the whole visit (a patient's imported visits keep their days)."""
    from bench.greedy import DAY

    if visit.skills not in diaries.qualified:
        diaries.qualified[visit.skills] = [t.id for t in diaries.config.clinic.therapists
                                           if set(visit.skills) <= set(t.skills)]
    starts = []
    day = first
    while day <= last:
        if day not in diaries.closed and day not in taken:
            rooms = DAY
            for tag in visit.tags:
                rooms &= diaries.room_fit(tag, day, visit.minutes)
            people = 0
            for therapist_id in diaries.qualified[visit.skills]:
                people |= diaries.fit(therapist_id, day, visit.minutes)
            offset = (day - day0).days * DAY_MINUTES
            starts += [offset + m for m in _set_bits(rooms & people)]
        day += timedelta(days=1)
    return starts


def _set_bits(bits: int) -> list[int]:
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


def _gaps(visits: list[Visit], rest_of: dict[str, int],
          patient_rest: int) -> dict[tuple[int, int], int]:
    """(a, b) → least days from visit a to visit b: ordered inside an episode (b after a),
    apart either way between a patient's episodes."""
    by_patient: dict[str, list[int]] = {}
    for index, visit in enumerate(visits):
        by_patient.setdefault(visit.patient_id, []).append(index)
    gaps = {}
    for indices in by_patient.values():
        for i, a in enumerate(indices):
            for b in indices[i + 1:]:
                va, vb = visits[a], visits[b]
                if va.episode == vb.episode:
                    gaps[(a, b)] = max(rest_of[va.episode], patient_rest) + 1
                else:
                    gaps[(a, b)] = -(patient_rest + 1)  # negative: either order
    return gaps


def _solve(visits: list[Visit], gaps: dict[tuple[int, int], int], config: Any, diaries: Any,
           day0: date, seconds: float) -> dict[str, Any]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    horizon = max((s for v in visits for s in v.starts), default=0) // DAY_MINUTES + 1
    present, start, day = [], [], []
    therapist_of: dict[str, list[tuple[Any, int]]] = {}
    units_of: dict[tuple[str, int], list[tuple[Any, int]]] = {}
    choices: list[tuple[list[tuple[Any, str]], list[tuple[Any, tuple[str, int]]]]] = []
    for index, visit in enumerate(visits):
        p = model.NewBoolVar(f"p{index}")
        if not visit.starts:
            model.Add(p == 0)
        domain = cp_model.Domain.FromValues(visit.starts or [0])
        s = model.NewIntVarFromDomain(domain, f"s{index}")
        d = model.NewIntVar(0, horizon, f"d{index}")
        model.AddDivisionEquality(d, s, DAY_MINUTES)
        who = _assign(model, p, s, visit.minutes, diaries.qualified[visit.skills], index,
                      therapist_of, lambda t: t)
        held: list[tuple[Any, tuple[str, int]]] = []
        for tag in visit.tags:
            units = [(r.id, n) for r in config.clinic.resources if tag in r.provides
                     for n in range(r.capacity)]
            held += _assign(model, p, s, visit.minutes, units, index, units_of, lambda u: u)
        present.append(p)
        start.append(s)
        day.append(d)
        choices.append((who, held))
    _first_and_order(model, visits, present, day, gaps)
    for therapist_id, intervals in therapist_of.items():
        blocked = _blocked(lambda d, t=therapist_id: diaries.therapist(t, d), day0, horizon)
        model.AddNoOverlap([iv for iv, _ in intervals] + _fixed(model, blocked))
    for (resource_id, number), intervals in units_of.items():
        blocked = _blocked(lambda d, r=resource_id, n=number: diaries.unit(r, n, d), day0,
                           horizon)
        model.AddNoOverlap([iv for iv, _ in intervals] + _fixed(model, blocked))
    model.Maximize(sum(present))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    status = solver.Solve(model)
    chosen = []
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for index, visit in enumerate(visits):
            if solver.Value(present[index]):
                who, held = choices[index]
                therapist_id = next(t for x, t in who if solver.Value(x))
                units = [u for y, u in held if solver.Value(y)]
                chosen.append((visit, (solver.Value(start[index]), therapist_id, units)))
    return {"status": solver.StatusName(status), "bound": int(solver.BestObjectiveBound()),
            "chosen": chosen}


def _assign(model: Any, present: Any, start: Any, minutes: int, options: list[Any],
            index: int, per_option: dict[Any, list[tuple[Any, int]]],
            key: Any) -> list[tuple[Any, Any]]:
    """Exactly one of ``options`` when the visit is booked, each an optional interval."""
    chosen = []
    for option in options:
        x = model.NewBoolVar(f"x{index}_{option}")
        interval = model.NewOptionalFixedSizeIntervalVar(start, minutes, x, f"i{index}_{option}")
        per_option.setdefault(key(option), []).append((interval, index))
        chosen.append((x, option))
    model.Add(sum(x for x, _ in chosen) == present)
    return chosen


def _first_and_order(model: Any, visits: list[Visit], present: list[Any], day: list[Any],
                     gaps: dict[tuple[int, int], int]) -> None:
    """Never a visit without its episode's first; the days between a patient's visits."""
    first_of: dict[str, int] = {}
    for index, visit in enumerate(visits):
        if visit.seq == 1:
            first_of[visit.episode] = index
    for index, visit in enumerate(visits):
        lead = first_of.get(visit.episode)
        if lead is not None and lead != index:
            model.AddImplication(present[index], present[lead])
    for (a, b), gap in gaps.items():
        both = [present[a], present[b]]
        if gap > 0:  # same episode: b after a
            model.Add(day[b] - day[a] >= gap).OnlyEnforceIf(both)
            continue
        after = model.NewBoolVar(f"o{a}_{b}")
        model.Add(day[b] - day[a] >= -gap).OnlyEnforceIf([*both, after])
        model.Add(day[a] - day[b] >= -gap).OnlyEnforceIf([*both, after.Not()])


def _blocked(free_of: Any, day0: date, horizon: int) -> list[tuple[int, int]]:
    """The minutes that are not free, as (start, end) runs from day 0's midnight."""
    runs = []
    for offset in range(horizon + 1):
        free = free_of(day0 + timedelta(days=offset))
        base = offset * DAY_MINUTES
        minute = 0
        while minute < DAY_MINUTES:
            if free >> minute & 1:
                minute += 1
                continue
            end = minute
            while end < DAY_MINUTES and not free >> end & 1:
                end += 1
            runs.append((base + minute, base + end))
            minute = end
    return runs


def _fixed(model: Any, runs: list[tuple[int, int]]) -> list[Any]:
    return [model.NewIntervalVar(lo, hi - lo, hi, f"b{lo}") for lo, hi in runs]


def _record(visit: Visit, start: int, therapist_id: str, units: list[tuple[str, int]],
            day0: date) -> dict[str, Any]:
    day = day0 + timedelta(days=start // DAY_MINUTES)
    minute = start % DAY_MINUTES
    return {"patient_id": visit.patient_id, "episode_id": visit.episode, "seq": visit.seq,
            "visit_type": visit.visit_type, "therapist_id": therapist_id,
            "start": f"{day}T{minute // 60:02d}:{minute % 60:02d}", "minutes": visit.minutes,
            "status": "booked", "fixed": False,
            "resources": ";".join(f"{r}#{n}" for r, n in units)}
