"""The shaped bench's checker finds what it must: a clean greedy schedule passes, and each
kind of broken rule planted in it is counted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.greedy import load, read_existing, schedule
from bench.shaped_checker import check
from bench.workload_shaped import generate


def test_the_greedy_passes_and_planted_violations_are_found(tmp_path: Path) -> None:
    generate("small", 1, date(2027, 3, 1), tmp_path)
    config, diaries, _ = load(tmp_path)
    existing = read_existing(tmp_path, config, diaries)
    records, requested = schedule(tmp_path, config, diaries)
    assert records and len(records) <= requested
    assert check(tmp_path, existing + records).total == 0
    visit = dict(records[0])
    twin = {**visit, "patient_id": "SOMEONE", "episode_id": "other", "seq": 1,
            "resources": ""}
    assert check(tmp_path, [visit, twin]).counts["therapist_overlap"] == 1
    night = {**visit, "start": visit["start"][:11] + "20:00"}
    assert check(tmp_path, [night]).counts["clinic_hours"] == 1
    later = [dict(r) for r in records if r["episode_id"] == visit["episode_id"]][1:]
    assert check(tmp_path, later).counts["no_first_visit"] == 1
