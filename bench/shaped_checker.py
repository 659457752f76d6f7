"""A hard-rule checker for the shaped clinic that shares no code with carepath.

It reads the config folder as plain YAML, ``batch.csv`` and a list of appointment records
(``carepath appointments export --format json``, or the greedy's records in the same shape)
and checks every rule on the clinic's wall clock: no therapist, room unit or patient double
booked; unit numbers within capacity; inside opening and working hours, never on a holiday,
closure, leave or maintenance (whole days or hours); the therapist has the visit's skills
and the booking holds a unit of each room or device it needs; one visit a day per patient,
the pathway's rest days inside an episode and the clinic's ``patient_min_rest_days``
between any two of a patient's visits; an episode never has visits without its first.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import yaml

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Findings:
    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, kind: str, record: dict[str, Any], detail: str = "") -> None:
        self.counts[kind] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {record.get('patient_id')} {record.get('visit_type')}"
                                 f" with {record.get('therapist_id')} at {record.get('start')}"
                                 + (f" ({detail})" if detail else ""))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _clock(text: str) -> int:
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def _ranges(items: list[str] | None) -> list[tuple[int, int]]:
    out = []
    for item in items or []:
        first, last = item.split("-")
        out.append((_clock(first), _clock(last)))
    return out


def _inside(lo: int, hi: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a <= lo and hi <= b for a, b in ranges)


def _period_hits(periods: list[dict[str, Any]] | None, day: date, lo: int, hi: int) -> str:
    for period in periods or []:
        first, last = period["from"], period["to"]
        first = first if isinstance(first, date) else date.fromisoformat(str(first))
        last = last if isinstance(last, date) else date.fromisoformat(str(last))
        if not first <= day <= last:
            continue
        if "hours" not in period:
            return str(period.get("reason", "whole day"))
        a, b = _ranges([period["hours"]])[0]
        if a < hi and lo < b:
            return f"{period.get('reason', '')} {period['hours']}"
    return ""


def check(folder: Path, records: list[dict[str, Any]]) -> Findings:
    """Every broken hard rule among ``records`` (active ones) for the clinic in ``folder``."""
    config = folder / "config"
    clinic = yaml.safe_load((config / "clinic.yaml").read_text(encoding="utf-8"))
    pathways = {}
    for path in sorted((config / "pathways").glob("*.yaml")):
        pathway = yaml.safe_load(path.read_text(encoding="utf-8"))
        pathways[pathway["id"]] = pathway
    visit_types = {k: v for p in pathways.values() for k, v in p["visit_types"].items()}
    zone = ZoneInfo(clinic["timezone"])
    therapists = {t["id"]: t for t in clinic["therapists"]}
    resources = {r["id"]: r for r in clinic["resources"]}
    closures = {date.fromisoformat(str(c["date"])) for c in clinic.get("closures") or []}
    spec = clinic.get("holidays")
    public = holidays_lib.country_holidays(spec["country"], subdiv=spec.get("subdivision"),
                                           years=range(2020, 2040)) if spec else {}
    rest_all = int(clinic.get("patient_min_rest_days", 0))
    found = Findings()
    active = [r for r in records if r.get("status", "booked") in ("booked", "completed")]
    by_therapist: dict[str, list[tuple[datetime, datetime, dict[str, Any]]]] = defaultdict(list)
    by_unit: dict[str, list[tuple[datetime, datetime, dict[str, Any]]]] = defaultdict(list)
    by_patient: dict[str, list[tuple[datetime, datetime, dict[str, Any]]]] = defaultdict(list)
    for record in active:
        start = _local(record["start"], zone)
        end = start + _minutes(record)
        day, lo, hi = start.date(), start.hour * 60 + start.minute, end.hour * 60 + end.minute
        if end.date() != day:
            found.add("crosses_midnight", record)
            continue
        therapist = therapists.get(record["therapist_id"])
        visit = visit_types.get(record["visit_type"], {})
        needs = visit.get("needs", {})
        if therapist is None:
            found.add("unknown_therapist", record)
            continue
        if day in closures or day in public:
            found.add("closed_day", record)
        if not _inside(lo, hi, _ranges(clinic["opening_hours"].get(DAYS[day.weekday()]))):
            found.add("clinic_hours", record)
        if not _inside(lo, hi, _ranges(therapist["working_hours"].get(DAYS[day.weekday()]))):
            found.add("therapist_hours", record)
        if why := _period_hits(therapist.get("leave"), day, lo, hi):
            found.add("leave", record, why)
        missing = set(needs.get("skills", [])) - set(therapist.get("skills", []))
        if missing:
            found.add("skill", record, ", ".join(sorted(missing)))
        held = [u for u in (record.get("resources") or "").split(";") if u]
        provided = set()
        for unit in held:
            resource_id, _, number = unit.partition("#")
            resource = resources.get(resource_id)
            if resource is None or not 0 <= int(number) < int(resource.get("capacity", 1)):
                found.add("unit_unknown", record, unit)
                continue
            provided |= set(resource["provides"])
            if why := _period_hits(resource.get("maintenance"), day, lo, hi):
                found.add("maintenance", record, f"{unit}: {why}")
            by_unit[unit].append((start, end, record))
        if set(needs.get("resources", [])) - provided:
            found.add("resource_need", record)
        by_therapist[record["therapist_id"]].append((start, end, record))
        by_patient[record["patient_id"]].append((start, end, record))
    for kind, groups in (("therapist_overlap", by_therapist), ("unit_overlap", by_unit),
                         ("patient_overlap", by_patient)):
        for spans in groups.values():
            spans.sort(key=lambda s: s[0])
            for (_, end_a, _), (start_b, _, record_b) in zip(spans, spans[1:], strict=False):
                if start_b < end_a:
                    found.add(kind, record_b)
    _patient_days(by_patient, rest_all, found)
    _episodes(folder, active, pathways, zone, found)
    return found


def _patient_days(by_patient: dict[str, list[tuple[datetime, datetime, dict[str, Any]]]],
                  rest_all: int, found: Findings) -> None:
    """One visit a day, and ``patient_min_rest_days`` between any two new visits of a patient
    (visits carried over from the previous system are not the clinic's to space)."""
    for spans in by_patient.values():
        days = sorted((s.date(), r) for s, _, r in spans)
        for (day_a, rec_a), (day_b, rec_b) in zip(days, days[1:], strict=False):
            if day_a == day_b:
                found.add("same_day", rec_b)
            elif (day_b - day_a).days <= rest_all and not (rec_a.get("fixed")
                                                            or rec_b.get("fixed")):
                found.add("patient_rest_days", rec_b, f"after {day_a}")


def _episodes(folder: Path, active: list[dict[str, Any]], pathways: dict[str, Any],
              zone: ZoneInfo, found: Findings) -> None:
    """The pathway's rest days inside each episode; never visits without the first one."""
    episodes: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for record in active:
        if not record.get("fixed") and record.get("episode_id") is not None:
            episodes[record["episode_id"]].append(record)
    for visits in episodes.values():
        visits.sort(key=lambda r: r["start"])
        if min(int(r["seq"]) for r in visits) != 1:
            found.add("no_first_visit", visits[0], "later visits booked without the first")
        if min(visits, key=lambda r: int(r["seq"]))["start"] != visits[0]["start"]:
            found.add("first_not_first", visits[0])
        rest = _rest_of(visits[0]["visit_type"], pathways)
        days = [_local(r["start"], zone).date() for r in visits]
        for (a, b, record) in zip(days, days[1:], visits[1:], strict=False):
            if (b - a).days <= rest:
                found.add("episode_rest_days", record, f"after {a}")


def _rest_of(visit_type: str, pathways: dict[str, Any]) -> int:
    rests = [int(p.get("min_rest_days", 0)) for p in pathways.values()
             if visit_type in p["visit_types"]]
    return min(rests, default=0)


def _local(text: str, zone: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def _minutes(record: dict[str, Any]) -> Any:
    from datetime import timedelta

    if record.get("end"):
        return datetime.fromisoformat(record["end"]) - datetime.fromisoformat(record["start"])
    return timedelta(minutes=int(record["minutes"]))


def requested_visits(folder: Path) -> int:
    """How many visits ``batch.csv`` asks for (from the pathways' cadence, as written)."""
    from bench.workload_shaped import VISITS

    with (folder / "batch.csv").open(encoding="utf-8") as handle:
        return sum(VISITS[row["pathway_id"]] for row in csv.DictReader(handle))
