"""An independent hard-constraint checker: counts what no schedule may ever contain.

It reads only the workload (config values and plans) and the bookings, and checks each rule
directly on aware datetimes converted to the clinic's wall clock — no slot grid, no code
from carepath's scheduling engine, and none from the bench's baseline either, so a bug in
one of them cannot hide itself. Existing (fixed) bookings are checked with the new ones:
a new visit that overlaps a fixed one is a double booking like any other.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from bench.model import Booking, Workload
from bench.workload_clinic import EXISTING_NEEDS
from carepath.domain.config.models import Clinic, Resource, Therapist
from carepath.domain.scheduling.planning import EpisodePlan, VisitRequirement
from carepath.domain.timeutil import ClockRange

KINDS = (
    "therapist_overlap", "resource_over_capacity", "unit_overlap", "patient_overlap",
    "clinic_hours", "therapist_hours", "holiday", "closure", "leave", "maintenance",
    "resource_need", "skill", "rest_days", "same_day", "cadence",
)


@dataclass
class Violations:
    """How many times each hard rule is broken, with a few examples to debug from."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, kind: str, booking: Booking, detail: str = "") -> None:
        self.counts[kind] += 1
        if len(self.examples) < 8:
            when = booking.start.isoformat()
            self.examples.append(f"{kind}: {booking.patient_id} visit {booking.seq} "
                                 f"{booking.visit_type} with {booking.therapist_id} at {when}"
                                 + (f" ({detail})" if detail else ""))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def check(
    workload: Workload, bookings: Sequence[Booking],
    plans: Mapping[str, EpisodePlan] | None = None,
) -> Violations:
    """Every hard-constraint violation in ``bookings`` plus the workload's fixed bookings.

    ``plans`` overrides an enrolment's plan when the scheduler stretched it (by enrolment id).
    """
    clinic = workload.clinic
    every = [*workload.existing, *bookings]
    found = Violations()
    requirements = _requirements(workload, plans or {})
    _check_each(clinic, every, requirements, found)
    _check_overlaps(every, lambda b: b.therapist_id, "therapist_overlap", found)
    _check_overlaps(every, lambda b: b.patient_id, "patient_overlap", found)
    _check_capacity(clinic.resources, every, found)
    _check_units(clinic.resources, every, found)
    episode_plans = {e.id: (plans or {}).get(e.id, e.plan) for e in workload.enrolments}
    _check_episodes(ZoneInfo(clinic.timezone), bookings, episode_plans, found)
    return found


def _requirements(
    workload: Workload, plans: Mapping[str, EpisodePlan]
) -> dict[tuple[str, int], VisitRequirement]:
    out = {}
    for enrolment in workload.enrolments:
        for req in plans.get(enrolment.id, enrolment.plan).requirements:
            out[(enrolment.id, req.seq)] = req
    return out


def _inside(ranges: Iterable[ClockRange], start: datetime, end: datetime) -> bool:
    """Both ends on one local day, within one wall-clock range."""
    if start.date() != end.date() or end <= start:
        return False
    return any(r.start <= start.time() and end.time() <= r.end for r in ranges)


def _check_each(
    clinic: Clinic, bookings: Sequence[Booking],
    requirements: Mapping[tuple[str, int], VisitRequirement], found: Violations,
) -> None:
    zone = ZoneInfo(clinic.timezone)
    years = {b.start.astimezone(zone).year for b in bookings}
    public: set[date] = set()
    if clinic.holidays is not None and years:
        public = set(holidays_lib.country_holidays(
            clinic.holidays.country, subdiv=clinic.holidays.subdivision, years=sorted(years)))
    closures = {c.date for c in clinic.closures}
    therapists = {t.id: t for t in clinic.therapists}
    resources = {r.id: r for r in clinic.resources}
    for booking in bookings:
        start, end = booking.start.astimezone(zone), booking.end.astimezone(zone)
        day = start.date()
        if day in public:
            found.add("holiday", booking, str(day))
        if day in closures:
            found.add("closure", booking, str(day))
        if not _inside(clinic.opening_hours.on(day.weekday()), start, end):
            found.add("clinic_hours", booking, f"{start:%a %H:%M}-{end:%H:%M}")
        therapist = therapists.get(booking.therapist_id)
        if therapist is None:
            found.add("skill", booking, "unknown therapist")
            continue
        _check_therapist(therapist, booking, start, end, found)
        tags, skills = _needs(booking, requirements)
        _check_needs(therapist, tags, skills, booking, resources, day, found)


def _check_therapist(
    therapist: Therapist, booking: Booking, start: datetime, end: datetime, found: Violations
) -> None:
    if not _inside(therapist.working_hours.on(start.weekday()), start, end):
        found.add("therapist_hours", booking, f"{start:%a %H:%M}-{end:%H:%M}")
    if any(period.covers(start.date()) for period in therapist.leave):
        found.add("leave", booking, str(start.date()))


def _needs(
    booking: Booking, requirements: Mapping[tuple[str, int], VisitRequirement]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if booking.fixed:
        return EXISTING_NEEDS.get(booking.visit_type, ((), ()))
    req = requirements.get((booking.episode_id, booking.seq))
    return (req.resources, req.skills) if req is not None else ((), ())


def _check_needs(
    therapist: Therapist, tags: tuple[str, ...], skills: tuple[str, ...], booking: Booking,
    resources: Mapping[str, Resource], day: date, found: Violations,
) -> None:
    missing_skills = set(skills) - set(therapist.skills)
    if missing_skills:
        found.add("skill", booking, ", ".join(sorted(missing_skills)))
    held = [resources.get(r) for r in booking.resources]
    provided = {tag for r in held if r is not None for tag in r.provides}
    if None in held or set(tags) - provided:
        found.add("resource_need", booking, f"needs {tags}, holds {booking.resources}")
    for resource in held:
        if resource is not None and any(p.covers(day) for p in resource.maintenance):
            found.add("maintenance", booking, resource.id)


def _check_overlaps(
    bookings: Sequence[Booking], key: Callable[[Booking], str], kind: str, found: Violations
) -> None:
    """One violation for every booking that starts before an earlier one (same key) ends."""
    groups: dict[str, list[Booking]] = defaultdict(list)
    for booking in bookings:
        groups[key(booking)].append(booking)
    for group in groups.values():
        group.sort(key=lambda b: b.start)
        latest_end: datetime | None = None
        for booking in group:
            if latest_end is not None and booking.start < latest_end:
                found.add(kind, booking)
            latest_end = booking.end if latest_end is None else max(latest_end, booking.end)


def _check_capacity(
    resources: Sequence[Resource], bookings: Sequence[Booking], found: Violations
) -> None:
    """One violation for every booking that takes a resource already at capacity."""
    capacity = {r.id: r.capacity for r in resources}
    events: dict[str, list[tuple[datetime, int, Booking]]] = defaultdict(list)
    for booking in bookings:
        for resource_id in booking.resources:
            events[resource_id].append((booking.start, 1, booking))
            events[resource_id].append((booking.end, 0, booking))  # ends sort before starts
    for resource_id, timeline in events.items():
        timeline.sort(key=lambda e: (e[0], e[1]))
        holding = 0
        for _, is_start, booking in timeline:
            holding += 1 if is_start else -1
            if is_start and holding > capacity.get(resource_id, 0):
                found.add("resource_over_capacity", booking, resource_id)


def _check_units(
    resources: Sequence[Resource], bookings: Sequence[Booking], found: Violations
) -> None:
    """Where the scheduler names units: each unit within capacity and held by one at a time."""
    capacity = {r.id: r.capacity for r in resources}
    held: list[Booking] = []
    for booking in bookings:
        for resource_id, unit in zip(booking.resources, booking.units, strict=False):
            if not 0 <= unit < capacity.get(resource_id, 0):
                found.add("unit_overlap", booking, f"{resource_id} has no unit {unit}")
        if booking.units:
            held.append(booking)
    by_unit = [(f"{r}#{u}", b) for b in held for r, u in zip(b.resources, b.units, strict=False)]
    timelines: dict[str, list[Booking]] = defaultdict(list)
    for key, booking in by_unit:
        timelines[key].append(booking)
    for timeline in timelines.values():
        _check_overlaps(timeline, _one_group, "unit_overlap", found)


def _one_group(_booking: Booking) -> str:
    return ""


def _check_episodes(
    zone: ZoneInfo, bookings: Sequence[Booking], plans: Mapping[str, EpisodePlan],
    found: Violations,
) -> None:
    by_episode: dict[str, list[Booking]] = defaultdict(list)
    for booking in bookings:
        by_episode[booking.episode_id].append(booking)
    for episode_id, visits in by_episode.items():
        plan = plans.get(episode_id)
        if plan is None:
            for booking in visits:
                found.add("cadence", booking, "no such enrolment")
            continue
        _check_cadence(zone, plan, visits, found)
        _check_rest(zone, plan, visits, found)


def _check_cadence(
    zone: ZoneInfo, plan: EpisodePlan, visits: list[Booking], found: Violations
) -> None:
    """Each visit in its own week's window, once, with its type and length, in order."""
    requirements = {r.seq: r for r in plan.requirements}
    seen: set[int] = set()
    previous: datetime | None = None
    for booking in sorted(visits, key=lambda b: b.seq):
        req = requirements.get(booking.seq)
        day = booking.start.astimezone(zone).date()
        if req is None or booking.seq in seen or req.visit_type != booking.visit_type:
            found.add("cadence", booking, "not a visit of the plan, or booked twice")
        elif not req.earliest <= day <= req.latest:
            found.add("cadence", booking, f"outside week {req.week} ({req.earliest}..{req.latest})")
        elif booking.minutes != req.duration_minutes:
            found.add("cadence", booking, f"{booking.minutes} min, not {req.duration_minutes}")
        elif previous is not None and booking.start < previous:
            found.add("cadence", booking, "before the visit that precedes it in the plan")
        seen.add(booking.seq)
        previous = booking.start


def _check_rest(
    zone: ZoneInfo, plan: EpisodePlan, visits: list[Booking], found: Violations
) -> None:
    """Consecutive visits at least ``min_rest_days`` free days apart; one a day at most."""
    ordered = sorted(visits, key=lambda b: b.start)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        gap = (later.start.astimezone(zone).date() - earlier.start.astimezone(zone).date()).days
        if gap == 0 and not plan.same_day_visits:
            found.add("same_day", later)
        elif 0 < gap <= plan.min_rest_days:
            found.add("rest_days", later, f"{gap} day(s) after the previous visit")
