"""One visit at a time: the next free slots, the best slot in a window, one exact time.

``place_visit`` books a reassessment within N days (goal escalation) or moves a visit off a
therapist's leave; ``check_slot`` re-checks every hard constraint for an exact time chosen
by a person (a reschedule), including rest days and the week's cadence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Clinic, VisitType
from carepath.domain.scheduling.availability import (
    ClinicCalendar,
    fitting_starts,
    from_minute,
    set_bits,
    to_minute,
)
from carepath.domain.scheduling.diagnosis import alternatives, explain
from carepath.domain.scheduling.episode import best_of, calendar_for, mixed_options
from carepath.domain.scheduling.finder import Candidate, Finder, Wishes, rest_days
from carepath.domain.scheduling.planning import VisitRequirement
from carepath.domain.scheduling.types import (
    Busy,
    Placement,
    Slot,
    Unit,
    Unplaced,
    VisitRequest,
)
from carepath.domain.timeutil import minutes_of


def requirement_for(visit: VisitType, visit_type: str, first: date, last: date,
                    seq: int = 0, week: int = 1) -> VisitRequirement:
    """A requirement for one visit of ``visit`` between ``first`` and ``last``."""
    return VisitRequirement(
        seq=seq, visit_type=visit_type, name=visit.name,
        duration_minutes=visit.duration_minutes, week=week, earliest=first, latest=last,
        resources=tuple(visit.needs.resources), skills=tuple(visit.needs.skills),
        caregiver_invited=visit.caregiver_invited)


class DiaryReader(Protocol):
    """Adds bookings to the ``Busy`` being searched, when the search needs them: a database
    adapter reads a large clinic's diary a few days, and only the needed part, at a time."""

    def rooms(self, start: datetime, end: datetime) -> None:
        """The bookings of the rooms and devices the visit needs, meeting ``[start, end)``."""

    def therapists(self, start: datetime, end: datetime) -> None:
        """The bookings of the therapists who could take the visit, meeting ``[start, end)``."""


def free_slots(visit: VisitType, clinic: Clinic, busy: Busy, *, zone: ZoneInfo,
               not_before: datetime, therapist_id: str | None = None, limit: int = 10,
               horizon_days: int = 28, patient_id: str = "",
               diary: DiaryReader | None = None) -> list[Slot]:
    """The next ``limit`` free slots for ``visit``, with one therapist or any qualified one.

    The horizon is searched 1, 2, 4, 8, then 14 days at a time: first when the rooms and devices
    the visit needs have a free unit, then, only for those stretches, which therapist is
    free. With a ``diary``, each step reads just what it needs into ``busy`` (without one,
    ``busy`` must hold every booking of the horizon; a patient's visits always must).
    """
    finder = Finder(calendar_for(clinic, zone), busy)
    first = not_before.astimezone(zone).date()
    req = requirement_for(visit, "", first, first + timedelta(days=horizon_days))
    wishes = Wishes(patient_id=patient_id, not_before=to_minute(not_before))
    qualified = [t.id for t in finder.qualified(req.skills)]
    # A named therapist without the visit's skills has no slot for it, however free.
    therapists = [t for t in qualified if t == therapist_id] if therapist_id else qualified
    found: list[Slot] = []
    for days in _chunks(first, horizon_days + 1):
        days = [d for d in days
                if finder.cal.open_spans(d) and finder.patient_free_day(wishes, d)]
        if diary and days:
            diary.rooms(from_minute(finder.cal.day_bounds(days[0])[0]),
                        from_minute(finder.cal.day_bounds(days[-1])[1]))
        allowed = {d: bits for d in days if (bits := _allowed_starts(req, d, finder, wishes))}
        if diary and allowed:
            diary.therapists(*_bits_reach(allowed, req.duration_minutes, finder.cal))
        for day, starts in allowed.items():
            found += _day_slots(req, day, starts, therapists, finder, wishes, limit - len(found))
            if len(found) >= limit:
                return found[:limit]
    return found


def _chunks(first: date, days: int) -> Iterator[list[date]]:
    """The days from ``first`` in runs of 1, 2, 4, 8, then 14: most answers need only
    today's or tomorrow's bookings, and each read from a database has a fixed cost."""
    offset, length = 0, 1
    while offset < days:
        yield [first + timedelta(days=offset + i) for i in range(min(length, days - offset))]
        offset += length
        length = min(length * 2, 14)


def _allowed_starts(req: VisitRequirement, day: date, finder: Finder, wishes: Wishes) -> int:
    """The starts on ``day`` that the rooms and devices, the slot grid and ``not_before``
    allow, as bits from local midnight (see ``availability.span_mask``)."""
    cal = finder.cal
    origin = cal.day_bounds(day)[0]
    allowed = fitting_starts(finder.rooms_mask(req.resources, day), req.duration_minutes)
    allowed &= cal.start_grid(day)
    if wishes.not_before > origin:
        allowed &= ~((1 << (wishes.not_before - origin)) - 1)
    return allowed


def _bits_reach(allowed: dict[date, int], length: int,
                cal: ClinicCalendar) -> tuple[datetime, datetime]:
    """From the first allowed start of the first day to the end of a visit at the last
    allowed start of the last day."""
    first, last = min(allowed), max(allowed)
    return (from_minute(_reach(allowed[first], cal.day_bounds(first)[0], length)[0]),
            from_minute(_reach(allowed[last], cal.day_bounds(last)[0], length)[1]))


def _reach(allowed: int, origin: int, length: int) -> tuple[int, int]:
    """The minutes a visit of ``length`` at any ``allowed`` start (bits from ``origin``)
    may take: from the first start to the end of a visit at the last."""
    return (origin + (allowed & -allowed).bit_length() - 1,
            origin + allowed.bit_length() - 1 + length)


def _day_slots(req: VisitRequirement, day: date, allowed: int, therapists: list[str],
               finder: Finder, wishes: Wishes, limit: int) -> list[Slot]:
    """The first ``limit`` slots of ``day`` among the ``allowed`` starts, in time order.

    Minutes are bits here: each therapist costs a few operations on 1,440-bit numbers
    instead of a loop over their bookings, and only the part of the day that the rooms
    allow is looked at.
    """
    cal, length = finder.cal, req.duration_minutes
    origin = cal.day_bounds(day)[0]
    reach = _reach(allowed, origin, length)
    lowest = reach[0] - origin
    taken = 0
    if wishes.patient_id:
        taken = finder.busy.patient(wishes.patient_id).mask(*reach) << lowest
    starts: list[tuple[int, str]] = []
    for therapist_id in therapists:
        if not cal.working_fit(therapist_id, day, length) & allowed:
            continue  # not at work when the rooms are free: the diary need not be read
        busy = finder.busy.therapist(therapist_id).mask(*reach) << lowest
        free = cal.working_mask(therapist_id, day) & ~(busy | taken)
        fitting = fitting_starts(free, length) & allowed
        starts += [(origin + bit, therapist_id) for bit in set_bits(fitting, limit)]
    slots: list[Slot] = []
    # Rooms and devices do not depend on the therapist: look each start up once, not once
    # per therapist free then (hundreds of therapists share the same quarter-hours).
    units_at: dict[int, tuple[Unit, ...] | None] = {}
    for start, therapist_id in sorted(starts):
        end = start + length
        if start not in units_at:
            units_at[start] = finder.units_for(req.resources, start, end, day)
        units = units_at[start]
        if units is not None:
            slots.append(Slot(from_minute(start), from_minute(end), therapist_id, units))
            if len(slots) >= limit:
                break
    return slots


def place_visit(request: VisitRequest, clinic: Clinic, busy: Busy, *, zone: ZoneInfo,
                not_before: datetime) -> Placement | Unplaced:
    """The best slot for one visit inside its window, booked into ``busy``; or why not."""
    requirement, therapist_id = request.requirement, request.therapist_id
    finder = Finder(calendar_for(clinic, zone), busy)
    prefer = request.prefer_time
    wishes = Wishes(patient_id=request.patient_id, preferences=request.preferences,
                    primary=therapist_id or request.primary_therapist,
                    prefer_minute=minutes_of(prefer) if prefer else None,
                    not_before=to_minute(not_before), same_day=request.same_day_visits,
                    blocked_days=rest_days(request.episode_days, request.min_rest_days))
    options = [therapist_id] if therapist_id else mixed_options(finder, wishes.primary)(
        requirement)
    best: Candidate | None = None
    for day in finder.window_days(requirement, wishes):
        if not finder.patient_free_day(wishes, day):
            continue
        found = best_of(requirement, day, options, finder, wishes)
        if found is not None and (best is None or found.cost < best.cost):
            best = found
    if best is None:
        return explain(requirement, finder, wishes, therapist_id)
    busy.add_minutes(best.start, best.end, therapist_id=best.therapist_id, units=best.units,
                     patient_id=request.patient_id or None)
    return Placement(requirement, best.therapist_id, from_minute(best.start),
                     from_minute(best.end), best.units, best.penalties)


def check_slot(request: VisitRequest, clinic: Clinic, busy: Busy, *, zone: ZoneInfo,
               start: datetime, patient_rest: bool = True) -> Placement | Unplaced:
    """Every hard constraint for ``request`` at exactly ``start`` with its ``therapist_id``.

    ``patient_rest=False`` leaves out the clinic's rest days between a patient's visits:
    bookings imported from a previous system are facts, not choices.

    A ``Placement`` (booked into ``busy``) when it holds, else an ``Unplaced`` naming the
    first broken rule; ``taken`` is set when only other bookings are in the way.
    """
    requirement, therapist_id = request.requirement, request.therapist_id
    if therapist_id is None:
        raise ValueError("check_slot needs the request's therapist_id")
    finder = Finder(calendar_for(clinic, zone), busy)
    wishes = exact_wishes(request, start, patient_rest=patient_rest)
    problem, taken, units = fit_at(request, finder, wishes, start, zone)
    if problem:
        near = alternatives(requirement, finder, replace_not_before(wishes, start, zone),
                            therapist_id)
        return Unplaced(requirement, problem, near, taken)
    begin, end = to_minute(start), to_minute(start) + requirement.duration_minutes
    busy.add_minutes(begin, end, therapist_id=therapist_id, units=units,
                     patient_id=request.patient_id or None)
    return Placement(requirement, therapist_id, from_minute(begin), from_minute(end), units)


def exact_wishes(request: VisitRequest, start: datetime, *, patient_rest: bool = True) -> Wishes:
    """What ``fit_at`` checks of the patient for a visit at exactly ``start``."""
    return Wishes(patient_id=request.patient_id, not_before=to_minute(start),
                  same_day=request.same_day_visits,
                  blocked_days=rest_days(request.episode_days, request.min_rest_days),
                  patient_rest=patient_rest)


def fit_at(request: VisitRequest, finder: Finder, wishes: Wishes, start: datetime,
           zone: ZoneInfo) -> tuple[str, bool, tuple[Unit, ...]]:
    """The first hard rule ``request`` breaks at exactly ``start`` with its therapist ('' when
    none), whether only other bookings are in the way, and the units it would hold."""
    begin = to_minute(start)
    end = begin + request.requirement.duration_minutes
    day = start.astimezone(zone).date()
    problem, taken = _first_problem(request, finder, wishes, begin, day)
    if problem:
        return problem, taken, ()
    units = finder.units_for(request.requirement.resources, begin, end, day)
    if units is None:
        return "no free " + "/".join(request.requirement.resources) + " at that time", True, ()
    return "", False, units


def replace_not_before(wishes: Wishes, start: datetime, zone: ZoneInfo) -> Wishes:
    """Alternatives are searched from the start of the day asked for."""
    midnight = datetime.combine(start.astimezone(zone).date(), time(0), tzinfo=zone)
    return replace(wishes, not_before=to_minute(midnight))


def _first_problem(request: VisitRequest, finder: Finder, wishes: Wishes, begin: int,
                   day: date) -> tuple[str, bool]:
    req, therapist_id = request.requirement, str(request.therapist_id)
    episode_days, min_rest_days = request.episode_days, request.min_rest_days
    cal, end = finder.cal, begin + req.duration_minutes
    therapist = cal.therapists.get(therapist_id)
    if not req.earliest <= day <= req.latest:
        return (f"{req.label} belongs to {req.earliest:%a %b %d}–{req.latest:%a %b %d}; "
                f"{day:%a %b %d} would break the week's cadence"), False
    if therapist is None:
        return f"no therapist {therapist_id!r} in the clinic", False
    if not set(req.skills) <= set(therapist.skills):
        return f"{therapist.name} lacks the {' and '.join(req.skills)} skill", False
    if reason := cal.closed_reason(day):
        return f"the clinic is {reason} on {day:%a %b %d}", False
    if reason := cal.off_reason(therapist, day):
        return f"{reason} on {day:%a %b %d}", False
    for period in therapist.leave:
        hours = period.blocks(day)
        if hours is not None and any(lo < end and begin < hi
                                     for lo, hi in cal.blocked([period], day)):
            why = f" ({period.reason})" if period.reason else ""
            return f"{therapist.name} is away {hours} on {day:%a %b %d}{why}", False
    if not any(lo <= begin and end <= hi for lo, hi in cal.working_spans(therapist_id, day)):
        return f"outside the clinic's or {therapist.name}'s hours", False
    near = [d for d in episode_days if abs((d - day).days) <= min_rest_days]
    if near:
        return (f"the episode needs {min_rest_days} rest day(s) between visits "
                f"(another visit on {', '.join(f'{d:%a %b %d}' for d in near)})"), False
    for tag in req.resources:
        if all(cal.resource_down(r, day) or any(lo < end and begin < hi for lo, hi
                                                in cal.resource_blocked(r, day))
               for r in finder.providers(tag)):
            return f"no {tag} is available on {day:%a %b %d} at that time (maintenance)", False
    if finder.busy.therapist(therapist_id).overlaps(begin, end):
        return f"{therapist.name} is already booked at that time", True
    if not finder.patient_free_day(wishes, day):
        rest = finder.patient_rest if wishes.patient_rest else 0
        if rest:
            return (f"the patient already has a visit within {rest} day(s) of "
                    f"{day:%a %b %d} (patient_min_rest_days)"), True
        return f"the patient already has a visit on {day:%a %b %d}", True
    if wishes.patient_id and finder.busy.patient(wishes.patient_id).overlaps(begin, end):
        return "the patient already has a visit at that time", True
    return "", False
