"""The naive baseline carepath is measured against; it lives in the bench, not the product.

First come, first served: enrolments in the order they arrive, each visit in plan order at
the earliest free slot inside its week (after the rest days since the previous visit), with
the first qualified therapist free then. It keeps every hard rule, ignores every soft one
(patient weekdays, windows, heat, continuity, balance) and never looks ahead: this is what a
receptionist with a paper diary does, and what a scheduler has to beat.
"""

from __future__ import annotations

from datetime import date, timedelta

from bench.grid import ClinicGrid, lowest
from bench.ledger import Ledger
from bench.model import Booking, Enrolment, Workload
from carepath.domain.scheduling.planning import VisitRequirement


def schedule_naive(workload: Workload) -> list[Booking]:
    """Book every enrolment of ``workload`` visit by visit; visits that do not fit are skipped."""
    ledger = Ledger(workload.grid)
    for fixed in workload.existing:
        _hold(ledger, fixed)
    bookings: list[Booking] = []
    for enrolment in workload.enrolments:
        bookings.extend(_book_enrolment(ledger, enrolment))
    return bookings


def _hold(ledger: Ledger, booking: Booking) -> None:
    grid = ledger.grid
    local = booking.start.astimezone(grid.zone)
    slot = (local.hour * 60 + local.minute) // grid.step
    ledger.book(booking.therapist_id, booking.resources, local.date(), slot,
                grid.slots_for(booking.minutes))


def _book_enrolment(ledger: Ledger, enrolment: Enrolment) -> list[Booking]:
    plan = enrolment.plan
    gap = max(plan.min_rest_days + 1, 0 if plan.same_day_visits else 1)
    booked: list[Booking] = []
    previous: date | None = None
    for req in plan.requirements:
        first = req.earliest if previous is None else max(req.earliest, previous + timedelta(gap))
        booking = _earliest(ledger, enrolment, req, first)
        if booking is not None:
            booked.append(booking)
            previous = booking.start.astimezone(ledger.grid.zone).date()
    return booked


def _earliest(
    ledger: Ledger, enrolment: Enrolment, req: VisitRequirement, first: date
) -> Booking | None:
    grid = ledger.grid
    length = grid.slots_for(req.duration_minutes)
    qualified = ledger.qualified(req.skills)
    day = first
    while day <= req.latest:
        fits = ledger.needs_runs(req.resources, day, length)
        found = _first_therapist(ledger, qualified, day, length, fits) if fits else None
        if found is not None:
            therapist_id, start = found
            resources = ledger.pick_resources(req.resources, day, start, length)
            ledger.book(therapist_id, resources, day, start, length)
            return _booking(grid, enrolment, req, therapist_id, resources, day, start, length)
        day += timedelta(days=1)
    return None


def _first_therapist(
    ledger: Ledger, qualified: list[str], day: date, length: int, fits: int
) -> tuple[str, int] | None:
    """The earliest start any qualified therapist can take; ties go to the first listed."""
    best: tuple[str, int] | None = None
    floor = lowest(fits)
    for therapist_id in qualified:
        starts = ledger.therapist_runs(therapist_id, day, length) & fits
        if starts:
            start = lowest(starts)
            if best is None or start < best[1]:
                best = (therapist_id, start)
            if start == floor:
                break
    return best


def _booking(
    grid: ClinicGrid, enrolment: Enrolment, req: VisitRequirement, therapist_id: str,
    resources: tuple[str, ...], day: date, start: int, length: int,
) -> Booking:
    return Booking(
        patient_id=enrolment.patient_id, episode_id=enrolment.id, seq=req.seq,
        visit_type=req.visit_type, therapist_id=therapist_id,
        start=grid.instant(day, start), end=grid.instant(day, start) + timedelta(
            minutes=req.duration_minutes), resources=resources,
    )
