"""Soft figures of a schedule, computed by the bench from the bookings alone.

The engine scores itself too, but a benchmark must not take a scheduler's word for its own
quality: every figure here is recomputed from the workload and the bookings, the same way
for carepath and for the baseline.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bench.model import Booking, Enrolment, Workload
from carepath.domain.scheduling.planning import PatientPreferences
from carepath.domain.timeutil import minutes_of


@dataclass(frozen=True)
class Quality:
    booked: int
    booked_pct: float  # of the visits the plans ask for
    in_preferences_pct: float  # of booked visits: weekday, time window and heat all met
    one_therapist_pct: float  # of episodes with at least one visit booked
    therapists_per_episode: float  # mean, same episodes
    days_to_first_visit: float  # mean, over episodes with at least one visit booked
    load_spread: float  # stdev / mean of booked minutes per therapist, whole diary


def quality(workload: Workload, bookings: Sequence[Booking]) -> Quality:
    """The soft figures of ``bookings`` (new visits) against ``workload``."""
    by_episode: dict[str, list[Booking]] = defaultdict(list)
    for booking in bookings:
        by_episode[booking.episode_id].append(booking)
    enrolments = {e.id: e for e in workload.enrolments}
    heat_minute = minutes_of(workload.clinic.heat_safe_before)
    zone = workload.grid.zone
    pleasing = sum(
        1 for b in bookings
        if in_preferences(b, enrolments[b.episode_id].preferences, heat_minute, zone))
    episodes = [(enrolments[k], v) for k, v in by_episode.items()]
    return Quality(
        booked=len(bookings),
        booked_pct=_pct(len(bookings), workload.required_visits),
        in_preferences_pct=_pct(pleasing, len(bookings)),
        one_therapist_pct=_pct(sum(1 for _, v in episodes if len({b.therapist_id for b in v}) == 1),
                               len(episodes)),
        therapists_per_episode=_mean([len({b.therapist_id for b in v}) for _, v in episodes]),
        days_to_first_visit=_mean([_days_to_first(e, v, zone) for e, v in episodes]),
        load_spread=load_spread(workload, bookings),
    )


def in_preferences(
    booking: Booking, wishes: PatientPreferences, heat_minute: int, zone: ZoneInfo
) -> bool:
    """The visit is on a preferred weekday, inside a window, and cool if the patient needs it."""
    start = booking.start.astimezone(zone)
    begin = start.hour * 60 + start.minute
    end = begin + booking.minutes
    if wishes.weekdays and start.weekday() not in wishes.weekdays:
        return False
    if wishes.windows and not any(minutes_of(w.start) <= begin and end <= minutes_of(w.end)
                                  for w in wishes.windows):
        return False
    return not (wishes.heat_sensitive and end > heat_minute)


def load_spread(workload: Workload, bookings: Sequence[Booking]) -> float:
    """Coefficient of variation of booked minutes per therapist (existing visits included)."""
    minutes = {t.id: 0 for t in workload.clinic.therapists}
    for booking in (*workload.existing, *bookings):
        minutes[booking.therapist_id] = minutes.get(booking.therapist_id, 0) + booking.minutes
    values = list(minutes.values())
    mean = statistics.fmean(values) if values else 0.0
    return statistics.pstdev(values) / mean if mean else 0.0


def _days_to_first(enrolment: Enrolment, visits: list[Booking], zone: ZoneInfo) -> int:
    first = min(b.start for b in visits).astimezone(zone)
    return (first.date() - enrolment.start).days


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _mean(values: list[int]) -> float:
    return statistics.fmean(values) if values else 0.0
