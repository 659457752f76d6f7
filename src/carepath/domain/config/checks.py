"""Rules that span fields and files of a configuration, checked after each file's shape.

Each check yields ``Finding``s: which file (``clinic``, ``measures`` or ``pathways/<id>``),
the field path inside it, the bad value, what is wrong and how to fix it. The loader turns
paths into line numbers. Everything here is pure, so every rule has a fast test.

When ``clinic.yaml`` has a shape error the checks run on the sections that passed
(``ClinicParts``), so one typo does not hide the problems of the rest.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from itertools import combinations

import holidays as holidays_lib

from carepath.domain.config.findings import ClinicParts, Finding, Path, clinic_parts
from carepath.domain.config.models import Clinic, Holidays, Pathway, Period, WeeklyHours
from carepath.domain.config.pathway_checks import (
    check_pathway,
    max_visits_per_week,
    timeline_checks,
    weekly_counts,
)
from carepath.domain.timeutil import WEEKDAY_NAMES, WEEKDAYS

__all__ = [
    "ClinicParts", "Finding", "Path", "check_all", "check_clinic", "check_pathway",
    "clinic_parts", "max_visits_per_week", "weekly_counts",
]


def check_all(
    clinic: Clinic | ClinicParts | None,
    measures: Collection[str] | None,
    pathways: Mapping[str, Pathway],
    known_pathways: Collection[str] | None = None,
) -> list[Finding]:
    """Every cross-field and cross-file problem; empty when the configuration is coherent.

    ``measures`` are the measure ids (a dict of measures will do); ``known_pathways`` every
    pathway file's id, including files that failed their shape check (default: ``pathways``).
    """
    parts = ClinicParts.of(clinic) if isinstance(clinic, Clinic) else clinic
    known = set(known_pathways if known_pathways is not None else pathways)
    findings: list[Finding] = []
    if parts is not None:
        findings += check_clinic(parts)
    for name, pathway in pathways.items():
        findings += check_pathway(name, pathway, parts, measures, known)
        findings += timeline_checks(name, pathway, pathways)
    return findings


def check_clinic(clinic: Clinic | ClinicParts) -> Iterator[Finding]:
    parts = ClinicParts.of(clinic) if isinstance(clinic, Clinic) else clinic
    yield from _unique_ids("therapists", {i: t.id for i, t in parts.therapists.items()})
    yield from _unique_ids("resources", {i: r.id for i, r in parts.resources.items()})
    if parts.opening_hours is not None:
        yield from _overlapping_hours(("opening_hours",), parts.opening_hours)
    if parts.holidays is not None:
        yield from _holiday_calendar(parts.holidays)
    for i, therapist in parts.therapists.items():
        yield from _overlapping_hours(("therapists", i, "working_hours"), therapist.working_hours)
        yield from _periods_in_order(("therapists", i, "leave"), therapist.leave, "leave")
    for i, resource in parts.resources.items():
        yield from _periods_in_order(("resources", i, "maintenance"), resource.maintenance,
                                     "maintenance")


def _unique_ids(section: str, ids: Mapping[int, str]) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for i, ident in ids.items():
        if ident in first:
            yield Finding("clinic", (section, i, "id"), ident, "duplicate id",
                          f"{section}[{first[ident]}] already uses it; give every entry "
                          "its own id")
        first.setdefault(ident, i)


def _periods_in_order(path: Path, periods: list[Period], what: str) -> Iterator[Finding]:
    for j, period in enumerate(periods):
        if period.to < period.from_:
            yield Finding("clinic", (*path, j, "to"), str(period.to),
                          f"{what} ends before it starts ({period.from_})",
                          "swap from and to, or correct the year")


def _overlapping_hours(path: Path, hours: WeeklyHours) -> Iterator[Finding]:
    for day in range(7):
        for a, b in combinations(hours.on(day), 2):
            if a.overlaps(b):
                yield Finding(
                    "clinic", (*path, WEEKDAYS[day]), f"{a}, {b}",
                    f"ranges {a} and {b} overlap on {WEEKDAY_NAMES[day]}",
                    "merge them into one range or make them follow each other",
                )


def _holiday_calendar(chosen: Holidays) -> Iterator[Finding]:
    supported: dict[str, list[str]] = holidays_lib.list_supported_countries()
    if chosen.country not in supported:
        yield Finding("clinic", ("holidays", "country"), chosen.country,
                      "no public-holiday calendar for this country",
                      "use an ISO 3166 code such as US, CA or GB")
        return
    subdivisions = supported[chosen.country]
    if chosen.subdivision is not None and chosen.subdivision not in subdivisions:
        yield Finding("clinic", ("holidays", "subdivision"), chosen.subdivision,
                      f"not a subdivision of {chosen.country} in the holiday calendar",
                      _subdivision_hint(chosen.subdivision, subdivisions))


def _subdivision_hint(wrong: str, known: list[str]) -> str:
    if not known:
        return "this country has no subdivisions: remove the subdivision line"
    same = [code for code in known if code.lower() == wrong.lower()]
    if same:
        return f"did you mean {same[0]!r}?"
    shown = ", ".join(known[:60]) + (", …" if len(known) > 60 else "")
    return f"use one of: {shown}"
