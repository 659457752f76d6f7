"""Small clinics and pathways built in code, and an independent hard-constraint checker.

The checker re-derives every hard rule from the config with plain datetime arithmetic —
none of the engine's code — so a scheduling test can fail when the engine is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from carepath.domain.config.models import Clinic, Pathway
from carepath.domain.scheduling.planning import EpisodePlan
from carepath.domain.scheduling.types import Placement

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def make_clinic(*, zone: str = "America/New_York", therapists: Sequence[dict[str, Any]] = (),
                resources: Sequence[dict[str, Any]] = (), **extra: Any) -> Clinic:
    """A Mon–Fri 08:00–17:00 clinic; one therapist and a gym unless told otherwise."""
    hours = {d: ["08:00-17:00"] for d in WEEKDAYS}
    data: dict[str, Any] = {
        "name": "Test clinic", "timezone": zone, "organizer_email": "s@clinic.example",
        "address": "1 Road", "opening_hours": hours,
        "resources": list(resources) or [{"id": "gym", "name": "Gym", "provides": ["gym"]}],
        "therapists": list(therapists) or [therapist("t1")],
    }
    data.update(extra)
    return Clinic.model_validate(data)


def therapist(ident: str, skills: Sequence[str] = (), hours: str = "08:00-17:00",
              days: Sequence[str] = WEEKDAYS, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "name": f"Therapist {ident}", "email": f"{ident}@clinic.example",
            "skills": list(skills), "working_hours": {d: [hours] for d in days}, **extra}


def make_pathway(cadence: Sequence[dict[str, Any]], *, rest: int = 0, weeks: int = 1,
                 max_weeks: int | None = None, minutes: int = 45,
                 needs: dict[str, Any] | None = None, **extra: Any) -> Pathway:
    """A pathway with one visit type, ``visit``, and the given cadence."""
    return Pathway.model_validate({
        "id": "test", "name": "Test pathway", "version": 1,
        "length": {"min_weeks": weeks, "max_weeks": max_weeks or weeks},
        "visit_types": {"visit": {"name": "Visit", "duration_minutes": minutes,
                                  "needs": needs or {"resources": ["gym"]}}},
        "cadence": list(cadence), "min_rest_days": rest, **extra,
    })


def hard_violations(placements: Sequence[tuple[str, EpisodePlan, Placement]], clinic: Clinic,
                    ) -> list[str]:
    """Every broken hard rule among ``(patient_id, plan, placement)`` triples."""
    zone = ZoneInfo(clinic.timezone)
    found = []
    for patient, plan, p in placements:
        found += [f"{patient} {p.requirement.label}: {v}" for v in _alone(p, plan, clinic, zone)]
    for (pa, plan_a, a), (pb, _, b) in combinations(placements, 2):
        if a.start < b.end and b.start < a.end:
            if a.therapist_id == b.therapist_id:
                found.append(f"therapist {a.therapist_id} double-booked at {a.start}")
            if set(a.resources) & set(b.resources):
                found.append(f"unit {set(a.resources) & set(b.resources)} double-booked")
            if pa == pb:
                found.append(f"patient {pa} double-booked at {a.start}")
        same_day = a.start.astimezone(zone).date() == b.start.astimezone(zone).date()
        if pa == pb and same_day and not plan_a.same_day_visits:
            found.append(f"patient {pa} has two visits on {a.start.astimezone(zone).date()}")
    found += _rest_days(placements, zone)
    return found


def _alone(p: Placement, plan: EpisodePlan, clinic: Clinic, zone: ZoneInfo) -> list[str]:
    local_start, local_end = p.start.astimezone(zone), p.end.astimezone(zone)
    day = local_start.date()
    bad = []
    if not p.requirement.earliest <= day <= p.requirement.latest:
        bad.append(f"outside its week {p.requirement.earliest}–{p.requirement.latest}")
    if not _inside(clinic.opening_hours.on(day.weekday()), local_start, local_end):
        bad.append("outside opening hours")
    therapist = next(t for t in clinic.therapists if t.id == p.therapist_id)
    if not _inside(therapist.working_hours.on(day.weekday()), local_start, local_end):
        bad.append("outside the therapist's hours")
    if any(period.covers(day) for period in therapist.leave):
        bad.append("during leave")
    if not set(p.requirement.skills) <= set(therapist.skills):
        bad.append("therapist lacks a skill")
    if clinic.holidays and day in holidays.country_holidays(
            clinic.holidays.country, subdiv=clinic.holidays.subdivision, years=day.year):
        bad.append("on a public holiday")
    if any(c.date == day for c in clinic.closures):
        bad.append("on a closure")
    bad += _resources(p, clinic, day)
    return bad


def _inside(ranges: Sequence[Any], start: datetime, end: datetime) -> bool:
    return start.date() == end.date() and any(
        r.start <= start.time() and end.time() <= r.end for r in ranges)


def _resources(p: Placement, clinic: Clinic, day: date) -> list[str]:
    by_id = {r.id: r for r in clinic.resources}
    bad = []
    for tag in p.requirement.resources:
        if not any(tag in by_id[r].provides for r, _ in p.resources):
            bad.append(f"no {tag}")
    for resource_id, unit in p.resources:
        resource = by_id[resource_id]
        if unit >= resource.capacity or any(m.covers(day) for m in resource.maintenance):
            bad.append(f"{resource_id}#{unit} unavailable")
    return bad


def _rest_days(placements: Sequence[tuple[str, EpisodePlan, Placement]],
               zone: ZoneInfo) -> list[str]:
    bad = []
    episodes: dict[int, list[tuple[EpisodePlan, Placement]]] = {}
    for _, plan, p in placements:
        episodes.setdefault(id(plan), []).append((plan, p))
    for visits in episodes.values():
        days = sorted(p.start.astimezone(zone).date() for _, p in visits)
        rest = visits[0][0].min_rest_days
        for a, b in zip(days, days[1:], strict=False):
            if rest and (b - a).days <= rest:
                bad.append(f"only {(b - a).days - 1} rest day(s) between {a} and {b}")
    return bad
