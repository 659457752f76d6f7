"""The goal-review benchmark: the sweep over N active episodes beside the bare reads it needs.

``python -m bench goals [--episodes 4000] [--seed 1] [--url postgresql://…]`` (``make bench``).

The workload is seeded and realistic: a mix of post-relapse (60 %), booster (30 %) and
progression-review (10 %) episodes, each with its pathway's goals, a baseline at the
evaluation and 1–6 reviews per goal drifting up, flat or down; about 12 appointments per
episode (a few missed or cancelled) and a handful of two-hour-rule reports. Three figures:

- *bare reads*: the six queries the sweep issues, rows fetched and nothing else — the floor;
- *load facts*: the same reads as the sweep runs them, grouped into per-episode facts;
- *first sweep*: classify every goal, save verdicts, open every escalation (reassessments are
  written by a minimal booker here: the scheduling engine's cost is the scheduling bench's);
- *steady sweep*: the same again with nothing new — what a daily run costs.

Figures, not a test: the issue's floor (< 10 s for 4,000 episodes) is printed as met or MISSED.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    GoalRow,
    MeasurementRow,
    PatientRow,
    RecoveryReportRow,
    TherapistRow,
)
from carepath.bootstrap import open_app
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir
from carepath.config.settings import Settings
from carepath.domain.config.models import Pathway
from carepath.domain.goals.progress import TargetKind, default_target, improvement_threshold
from carepath.domain.scheduling.planning import plan_episode
from carepath.services import App
from carepath.services.events import EscalationRaised
from carepath.services.review import ReviewReport, load_facts, review_all

FLOOR_S = 10.0
# Alarm fatigue before the clinical-review changes (one escalation per measure, every value
# a review, no trend, no worsening from the best value): escalations opened by the backlog
# and daily sweeps together, by kind and level, measured on this same seeded history with
# `python -m bench goals --episodes N --seed 1` at commit 48225c7.
BEFORE: dict[tuple[int, int], dict[str, int]] = {
    (4000, 1): {"multi_worsening L2": 34, "no_show L1": 91, "stall L1": 886,
                "two_hour L1": 242, "under_scheduled L1": 534, "worsening L1": 539},
    (1000, 1): {"multi_worsening L2": 14, "no_show L1": 24, "stall L1": 194,
                "two_hour L1": 51, "under_scheduled L1": 123, "worsening L1": 144},
}
NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
YESTERDAY = NOW - timedelta(days=1)
MIX = (("post-relapse", 0.6), ("stable-boosters", 0.3), ("progression-review", 0.1))
# Past visits: 3 % missed; 4 % cancelled, most of them rebooked (an extra visit later).
MISSED, CANCELLED, REBOOKED = 0.03, 0.04, 0.8


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench goals")
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", default="", help="a database URL (default: a temp SQLite)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carepath-bench-goals-") as folder:
        app = _app(Path(folder), args.url)
        began = time.perf_counter()
        counts, today = populate(app, args.episodes, random.Random(args.seed))
        setup = time.perf_counter() - began
        figures = measure(app, today)
        print(render(counts, setup, figures))
        print(alarm_table(figures["by_kind"], args.episodes,
                          BEFORE.get((args.episodes, args.seed))))
        app.engine.dispose()


def _app(folder: Path, url: str) -> App:
    config_dir = bundled_config_dir()
    settings = Settings(home=folder / "home", config_dir=config_dir,
                        database_url=url or f"sqlite:///{folder / 'bench.db'}", actor="bench")
    return open_app(settings, FixedClock(NOW), config=load_config(config_dir))


def _timed(step: Callable[[], Any]) -> tuple[Any, float, float]:
    """The step's result, wall seconds and CPU seconds of this process (the machine is shared:
    CPU time says what the sweep costs, wall time what a user waits)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def measure(app: App, today: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Time the bare reads and the fact loading, then three sweeps: the backlog (yesterday,
    every escalation the history holds, review alone), the daily one (today's new values,
    with every subscriber — the messaging side writes its emails in the same transaction)
    and a re-run that must open nothing."""
    def reads() -> int:
        with transaction(app.engine) as session:
            return _bare_reads(session)

    def loading() -> int:
        with transaction(app.engine) as session:
            return len(load_facts(session, app))

    rows, *bare = _timed(reads)
    _, *load = _timed(loading)
    with _subscribers_detached(app, EscalationRaised):
        backlog, *first = _timed(lambda: review_all(app, now=YESTERDAY, book=_minimal_booker))
    _insert(app, today)
    daily, *day = _timed(lambda: review_all(app, now=NOW, book=_minimal_booker))
    again, *rerun = _timed(lambda: review_all(app, now=NOW + timedelta(hours=1),
                                              book=_minimal_booker))
    return {"rows": rows, "bare": bare, "load": load, "first": first, "daily": day,
            "rerun": rerun, "episodes": daily.episodes, "goals": daily.goals,
            "verdicts": daily.verdicts, "backlog": _kinds(backlog), "new": _kinds(daily),
            "by_kind": Counter(f"{e.kind} L{e.level}"
                               for e in backlog.escalations + daily.escalations),
            "today": len(today["measurement"]) + len(today["recovery"]),
            "again": len(again.escalations)}


def _kinds(report: ReviewReport) -> str:
    kinds = Counter(f"{e.kind} L{e.level}" for e in report.escalations)
    return f"{len(report.escalations)} " + str(dict(sorted(kinds.items())))


@contextmanager
def _subscribers_detached(app: App, event_type: type) -> Iterator[None]:
    """The review's own cost, without what other areas do when it publishes."""
    saved = app.handlers
    app.handlers = {kind: handlers for kind, handlers in saved.items() if kind is not event_type}
    try:
        yield
    finally:
        app.handlers = saved


def _bare_reads(session: Session) -> int:
    """The sweep's queries, rows fetched as tuples, no work on them."""
    active = "SELECT id FROM episode WHERE state = 'active'"
    queries = [
        "SELECT e.id, e.pathway_id, e.therapist_id, p.physician_email FROM episode e "
        "JOIN patient p ON p.id = e.patient_id WHERE e.state = 'active'",
        f"SELECT * FROM goal WHERE episode_id IN ({active})",
        "SELECT episode_id, measure_id, value, taken_at, id FROM measurement "
        f"WHERE episode_id IN ({active})",
        f"SELECT episode_id, recovered, reported_at, id FROM recovery_report "
        f"WHERE episode_id IN ({active})",
        "SELECT episode_id, id, status, start_utc, updated_at, visit_type FROM appointment "
        f"WHERE episode_id IN ({active})",
        f"SELECT * FROM escalation WHERE episode_id IN ({active})",
    ]
    connection = session.connection()
    return sum(len(connection.exec_driver_sql(q).fetchall()) for q in queries)


def _minimal_booker(session: Session, app: App, *, episode_id: int, visit_type: str,
                    not_before: date, not_after: date,
                    therapist_id: str | None) -> AppointmentRow:
    episode = session.get(EpisodeRow, episode_id)
    assert episode is not None
    start = datetime.combine(not_before, datetime.min.time(), UTC) + timedelta(hours=14)
    row = AppointmentRow(uid=f"bench-re-{episode_id}", episode_id=episode_id,
                         patient_id=episode.patient_id,
                         therapist_id=therapist_id or episode.therapist_id or "chen",
                         visit_type=visit_type, visit_name=visit_type, start_utc=start,
                         end_utc=start + timedelta(hours=1), created_at=NOW, updated_at=NOW)
    session.add(row)
    session.flush()
    return row


def populate(app: App, episodes: int,
             rng: random.Random) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
    """Write the seeded workload up to yesterday with bulk inserts: the row counts, and
    today's new measurements and reports (for the daily sweep)."""
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "patient", "therapist", "episode", "goal", "measurement", "appointment", "recovery")}
    therapists = [t.id for t in app.config.clinic.therapists]
    for n in range(1, episodes + 1):
        pathway = app.config.pathway(rng.choices([p for p, _ in MIX], [w for _, w in MIX])[0])
        start = NOW - timedelta(days=rng.uniform(1, 7 * pathway.length.max_weeks))
        rows["patient"].append({"id": f"P{n:05d}", "name": f"Patient {n}",
                                "physician_email": "dr@example.org", "created_at": NOW,
                                "updated_at": NOW})
        # Each episode's visits get a calendar of their own: thousands of patients on six
        # therapists would overlap, which PostgreSQL's exclusion constraint rightly refuses
        # (the review reads visits per episode and never their therapist).
        rows["therapist"].append({"id": f"bench-{n:05d}", "name": f"Bench {n}",
                                  "email": f"bench{n}@example.org", "skills": "",
                                  "senior": False, "active": False})
        rows["episode"].append({"id": n, "patient_id": f"P{n:05d}", "pathway_id": pathway.id,
                                "pathway_version": 1, "state": "active",
                                "start_date": start.date(), "therapist_id": rng.choice(
                                    therapists), "note": "", "created_at": NOW,
                                "updated_at": NOW})
        for template in pathway.goals.measures:
            _goal_history(app, rows, n, template.measure, template.target,
                          start, pathway.goals.review_every_weeks, rng)
        _visits(rows, n, pathway, start, rng)
    today = {"measurement": [r for r in rows["measurement"] if r["taken_at"] > YESTERDAY],
             "recovery": [r for r in rows["recovery"] if r["reported_at"] > YESTERDAY]}
    rows["measurement"] = [r for r in rows["measurement"] if r["taken_at"] <= YESTERDAY]
    rows["recovery"] = [r for r in rows["recovery"] if r["reported_at"] <= YESTERDAY]
    _insert(app, rows)
    return {k: len(v) for k, v in rows.items()}, today


def _insert(app: App, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = {"patient": PatientRow, "therapist": TherapistRow, "episode": EpisodeRow,
              "goal": GoalRow,
              "measurement": MeasurementRow, "appointment": AppointmentRow,
              "recovery": RecoveryReportRow}
    with transaction(app.engine) as session:
        for key, batch in rows.items():
            if batch:
                session.execute(insert(tables[key]), batch)


def _goal_history(app: App, rows: dict[str, list[dict[str, Any]]], n: int, measure_id: str,
                  kind: TargetKind, start: datetime, every_weeks: int,
                  rng: random.Random) -> None:
    """A baseline at the start, then one value per review (the pathway's cadence) to now.

    Improvement goals: 60 % respond (about 0.7 of the real-change threshold per review),
    30 % plateau, 10 % decline; maintain goals hold steady, 5 % decline. Noise on top.
    """
    measure = app.config.measures[measure_id]
    low, high = measure.min or 0.0, measure.max or 1.0
    value = round(rng.uniform(low + (high - low) * 0.3, low + (high - low) * 0.7), 1)
    trend = rng.choices((0.7, 0.0, -0.8), (0.6, 0.3, 0.1))[0] if kind == "mcid" else (
        rng.choices((0.0, -0.8), (0.95, 0.05))[0])
    sign = 1 if measure.better == "higher" else -1
    rows["goal"].append({"episode_id": n, "measure_id": measure_id, "baseline": value,
                         "target": default_target(measure, value, kind), "target_kind": kind,
                         "baseline_at": start, "status": "pending", "created_at": NOW,
                         "updated_at": NOW})
    at = start
    while True:
        rows["measurement"].append({"episode_id": n, "measure_id": measure_id,
                                    "value": round(value, 1), "raw": "", "taken_at": at,
                                    "recorded_by": "bench"})
        at += timedelta(weeks=every_weeks)
        if at > NOW:
            return
        step = improvement_threshold(measure, value) or (high - low) * 0.05
        value += sign * step * (trend + rng.gauss(0, 0.25))
        value = min(max(value, low), high)


def _visits(rows: dict[str, list[dict[str, Any]]], n: int, pathway: Pathway, start: datetime,
            rng: random.Random) -> None:
    planned = len(plan_episode(pathway, start.date()).requirements)
    gap = timedelta(days=7 * pathway.length.min_weeks / planned)
    extra = 0
    for k in range(planned):
        when = start + gap * k
        status = "booked"
        if when <= NOW:
            roll = rng.random()
            status = "no_show" if roll < MISSED else (
                "cancelled" if roll < MISSED + CANCELLED else "completed")
        if status == "cancelled" and rng.random() < REBOOKED:
            extra += 1
        _appointment(rows, n, k, when, status)
    for k in range(extra):
        when = start + gap * (planned + k)
        _appointment(rows, n, planned + k, when, "booked" if when > NOW else "completed")
    if pathway.id == "post-relapse":
        for k in range(min(k for k in (planned, int((NOW - start) / gap) + 1))):
            rows["recovery"].append({"episode_id": n, "recovered": rng.random() > 0.08,
                                     "reported_at": start + gap * k + timedelta(hours=2)})


def _appointment(rows: dict[str, list[dict[str, Any]]], n: int, k: int, when: datetime,
                 status: str) -> None:
    rows["appointment"].append({
        "uid": f"bench-{n}-{k}", "episode_id": n, "patient_id": f"P{n:05d}",
        "therapist_id": f"bench-{n:05d}", "visit_type": "treatment", "visit_name": "Treatment",
        "seq": k + 1, "start_utc": when, "end_utc": when + timedelta(minutes=45),
        "status": status, "sequence": 0, "fixed": False, "caregiver_invited": False,
        "created_at": NOW, "updated_at": when - timedelta(days=2)})


def alarm_table(after: Counter[str], episodes: int, before: dict[str, int] | None) -> str:
    """Escalations per 100 episodes by kind and level (backlog and daily sweeps together),
    before the clinical-review changes and now, on the same seeded history."""
    per = 100 / max(episodes, 1)
    kinds = sorted(set(after) | set(before or {}))
    lines = ["escalations per 100 episodes (backlog + daily sweep)",
             f"{'kind':<24}{'before':>10}{'after':>10}"]
    for kind in kinds:
        was = f"{before.get(kind, 0) * per:.1f}" if before is not None else "—"
        lines.append(f"{kind:<24}{was:>10}{after.get(kind, 0) * per:>10.1f}")
    total_before = f"{sum(before.values()) * per:.1f}" if before is not None else "—"
    lines.append(f"{'total':<24}{total_before:>10}{sum(after.values()) * per:>10.1f}")
    if before is None:
        lines.append("(no 'before' recorded for this --episodes/--seed: use 4000 or 1000, seed 1)")
    return "\n".join(lines)


def render(counts: dict[str, int], setup: float, figures: dict[str, Any]) -> str:
    episodes = int(figures["episodes"]) or 1

    def line(name: str, wall_cpu: list[float]) -> str:
        wall, cpu = wall_cpu
        return f"{name:<44}{wall:>8.2f}{cpu:>8.2f}{wall * 1000 / episodes:>12.3f}"

    daily_wall = figures["daily"][0]
    verdict = "met" if daily_wall < FLOOR_S else "MISSED"
    return "\n".join([
        f"workload: {counts['episode']} active episodes, {counts['goal']} goals, "
        f"{counts['measurement']} measurements, {counts['appointment']} appointments, "
        f"{counts['recovery']} two-hour reports (written in {setup:.1f} s); "
        f"{figures['today']} new values today",
        f"{'step':<44}{'wall s':>8}{'cpu s':>8}{'ms/episode':>12}",
        line(f"bare reads (6 queries, {figures['rows']} rows)", figures["bare"]),
        line("load facts (the reads + grouping)", figures["load"]),
        line("backlog sweep (review alone)", figures["first"]),
        line("daily sweep (with messaging)", figures["daily"]),
        line("re-run (nothing new)", figures["rerun"]),
        f"verdicts: {figures['verdicts']}",
        f"escalations: backlog {figures['backlog']}; daily {figures['new']}; "
        f"re-run {figures['again']}",
        f"floor: daily sweep < {FLOOR_S:.0f} s wall for 4,000 episodes — {verdict}",
    ])
