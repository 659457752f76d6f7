"""The scaled clinic of a workload: therapists, rooms, leave, maintenance, existing bookings.

Therapists are copies of the example clinic's six (same skills and working hours, in turn),
so a larger clinic keeps the example's skill mix: half can do aquatic therapy, half gait
training, a third family education. Rooms scale with the staff; the pool and the gait
trainer stay the scarce ones, since that is where ordering matters.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date, datetime, timedelta

from bench.grid import ClinicGrid, lowest, runs
from bench.ledger import Ledger
from bench.model import Booking
from carepath.domain.config.models import Clinic, Period, Resource, Therapist

LEAVE_WEEK_SHARE = 0.2  # therapists with a week of leave somewhere in the first 12 weeks
LEAVE_DAY_SHARE = 0.15  # therapists with one day off
MAINTENANCE_SHARE = 0.15  # resources blocked for 1-3 days
EXISTING_WEEKS = 8
EXISTING_PER_WEEK = (1, 4)  # fixed visits per therapist and week, from the previous system
# What an existing visit needs (resource tags, skills): the example's own visit types.
EXISTING_NEEDS = {"evaluation": (("treatment-room",), ("evaluation",)), "treatment": (("gym",), ())}


def build_clinic(base: Clinic, therapists: int, first_day: date, rng: random.Random) -> Clinic:
    """``base`` with ``therapists`` therapists (leave drawn at random) and rooms to match."""
    staff = [_therapist(base.therapists[i % len(base.therapists)], i, first_day, rng)
             for i in range(therapists)]
    return base.model_copy(update={"therapists": staff,
                                   "resources": _resources(therapists, first_day, rng)})


def _therapist(template: Therapist, index: int, first_day: date, rng: random.Random) -> Therapist:
    copy = index // 6
    ident = template.id if copy == 0 else f"{template.id}-{copy + 1}"
    user, _, domain = template.email.partition("@")
    leave: list[Period] = []
    if rng.random() < LEAVE_WEEK_SHARE:
        monday = first_day + timedelta(weeks=rng.randrange(12))
        leave.append(_period(monday, monday + timedelta(days=4), "Annual leave"))
    if rng.random() < LEAVE_DAY_SHARE:
        day = first_day + timedelta(days=rng.randrange(70))
        leave.append(_period(day, day, "Day off"))
    return template.model_copy(update={
        "id": ident, "name": f"{template.name} {copy + 1}" if copy else template.name,
        "email": f"{user}{copy + 1 if copy else ''}@{domain}", "leave": leave,
    })


def _period(first: date, last: date, reason: str) -> Period:
    return Period.model_validate({"from": first, "to": last, "reason": reason})


def _resources(therapists: int, first_day: date, rng: random.Random) -> list[Resource]:
    gyms = max(1, therapists // 25)
    treatment_rooms = max(2, therapists // 20)
    plan = [
        ("gym", "Gym", "room", ["gym"], gyms, math.ceil(0.8 * therapists / gyms)),
        ("treatment", "Treatment suite", "room", ["treatment-room"], treatment_rooms,
         math.ceil(0.3 * therapists / treatment_rooms)),
        ("family-room", "Family consultation room", "room", ["treatment-room", "family-room"],
         max(1, therapists // 20), 1),
        ("pool", "Hydrotherapy pool", "room", ["pool"], max(1, therapists // 20), 2),
        ("gait-trainer", "Robotic gait trainer", "equipment", ["gait-trainer"],
         max(1, therapists // 15), 1),
    ]
    resources = []
    for prefix, name, kind, provides, count, capacity in plan:
        for n in range(1, count + 1):
            resources.append(Resource(
                id=f"{prefix}-{n}", name=f"{name} {n}", kind=kind, provides=provides,
                capacity=min(50, capacity), maintenance=_maintenance(first_day, rng),
            ))
    return resources


def _maintenance(first_day: date, rng: random.Random) -> list[Period]:
    if rng.random() >= MAINTENANCE_SHARE:
        return []
    first = first_day + timedelta(days=rng.randrange(70))
    return [_period(first, first + timedelta(days=rng.randrange(3)), "Maintenance")]


def existing_bookings(grid: ClinicGrid, first_day: date, rng: random.Random) -> tuple[Booking, ...]:
    """Fixed visits already in the diary, each valid on its own (they come from the old system)."""
    ledger = Ledger(grid)
    bookings: list[Booking] = []
    for therapist in grid.clinic.therapists:
        for week in range(EXISTING_WEEKS):
            for _ in range(rng.randint(*EXISTING_PER_WEEK)):
                day = first_day + timedelta(weeks=week, days=rng.randrange(5))
                booking = _existing_visit(ledger, therapist, day, len(bookings) + 1, rng)
                if booking is not None:
                    bookings.append(booking)
    return tuple(with_units(bookings))


def with_units(bookings: list[Booking]) -> list[Booking]:
    """Name the unit of each resource a booking holds: the lowest free, in time order.

    Greedy colouring of intervals by start time never needs more units than the most
    bookings overlapping at once, so bookings that respect capacity always get a unit.
    """
    unit_ends: dict[str, list[datetime]] = {}
    named: list[Booking] = []
    for booking in sorted(bookings, key=lambda b: b.start):
        units = []
        for resource_id in booking.resources:
            ends = unit_ends.setdefault(resource_id, [])
            unit = next((i for i, end in enumerate(ends) if end <= booking.start), len(ends))
            if unit == len(ends):
                ends.append(booking.end)
            ends[unit] = booking.end
            units.append(unit)
        named.append(replace(booking, units=tuple(units)))
    return named


def _existing_visit(
    ledger: Ledger, therapist: Therapist, day: date, number: int, rng: random.Random
) -> Booking | None:
    evaluation = "evaluation" in therapist.skills and rng.random() < 0.2
    visit_type, minutes = ("evaluation", 60) if evaluation else ("treatment", 45)
    tags = EXISTING_NEEDS[visit_type][0]
    grid = ledger.grid
    length = grid.slots_for(minutes)
    starts = runs(ledger.therapist_free(therapist.id, day), length)
    starts &= ledger.needs_runs(tags, day, length)
    if not starts:
        return None
    choices = [i for i in range(starts.bit_length()) if starts >> i & 1]
    start = rng.choice(choices) if choices else lowest(starts)
    resources = ledger.pick_resources(tags, day, start, length)
    ledger.book(therapist.id, resources, day, start, length)
    return Booking(
        patient_id=f"prev-{number:05d}", episode_id="existing", seq=0, visit_type=visit_type,
        therapist_id=therapist.id, start=grid.instant(day, start),
        end=grid.instant(day, start + length), resources=resources, fixed=True,
    )
