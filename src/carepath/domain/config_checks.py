"""Rules that span fields and files of a configuration, checked after each file's shape.

Each check yields ``Finding``s: which file (``clinic``, ``measures`` or ``pathways/<id>``),
the field path inside it, the bad value, what is wrong and how to fix it. The loader turns
paths into line numbers. Everything here is pure, so every rule has a fast test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

import holidays as holidays_lib

from carepath.domain.config import Clinic, Measure, Pathway, WeeklyHours
from carepath.domain.timeutil import WEEKDAY_NAMES, WEEKDAYS

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    file: str
    path: Path
    value: object
    message: str
    hint: str = ""


def check_all(
    clinic: Clinic | None, measures: dict[str, Measure] | None, pathways: dict[str, Pathway]
) -> list[Finding]:
    """Every cross-field and cross-file problem; empty when the configuration is coherent."""
    findings: list[Finding] = []
    if clinic is not None:
        findings += check_clinic(clinic)
    for name, pathway in pathways.items():
        findings += check_pathway(name, pathway, clinic, measures, set(pathways))
    return findings


def check_clinic(clinic: Clinic) -> Iterator[Finding]:
    yield from _unique_ids("therapists", [t.id for t in clinic.therapists])
    yield from _unique_ids("resources", [r.id for r in clinic.resources])
    yield from _overlapping_hours(("opening_hours",), clinic.opening_hours)
    if clinic.holidays is not None:
        yield from _holiday_calendar(clinic)
    for i, therapist in enumerate(clinic.therapists):
        yield from _overlapping_hours(("therapists", i, "working_hours"), therapist.working_hours)
        for j, leave in enumerate(therapist.leave):
            if leave.to < leave.from_:
                yield Finding(
                    "clinic", ("therapists", i, "leave", j, "to"), str(leave.to),
                    f"leave ends before it starts ({leave.from_})",
                    "swap from and to, or correct the year",
                )
    for i, resource in enumerate(clinic.resources):
        for j, block in enumerate(resource.maintenance):
            if block.to < block.from_:
                yield Finding(
                    "clinic", ("resources", i, "maintenance", j, "to"), str(block.to),
                    f"maintenance ends before it starts ({block.from_})",
                    "swap from and to, or correct the year",
                )


def _unique_ids(section: str, ids: list[str]) -> Iterator[Finding]:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            yield Finding("clinic", (section, i, "id"), ident, "duplicate id",
                          "give every entry its own id")
        seen.add(ident)


def _overlapping_hours(path: Path, hours: WeeklyHours) -> Iterator[Finding]:
    for day in range(7):
        for a, b in combinations(hours.on(day), 2):
            if a.overlaps(b):
                yield Finding(
                    "clinic", (*path, WEEKDAYS[day]), f"{a}, {b}",
                    f"ranges {a} and {b} overlap on {WEEKDAY_NAMES[day]}",
                    "merge them into one range or make them follow each other",
                )


def _holiday_calendar(clinic: Clinic) -> Iterator[Finding]:
    assert clinic.holidays is not None
    try:
        holidays_lib.country_holidays(clinic.holidays.country, subdiv=clinic.holidays.subdivision)
    except NotImplementedError:
        yield Finding("clinic", ("holidays", "country"), clinic.holidays.country,
                      "no public-holiday calendar for this country",
                      "use an ISO 3166 code such as US, CA or GB")
    except (KeyError, ValueError) as error:
        yield Finding("clinic", ("holidays", "subdivision"), clinic.holidays.subdivision,
                      f"unknown subdivision for {clinic.holidays.country}",
                      str(error).strip("'\"")[:160] or "use a code such as NY")


def check_pathway(
    name: str,
    pathway: Pathway,
    clinic: Clinic | None,
    measures: dict[str, Measure] | None,
    known_pathways: set[str],
) -> Iterator[Finding]:
    file = f"pathways/{name}"
    if pathway.id != name:
        yield Finding(file, ("id",), pathway.id, f"the id does not match the file name {name!r}",
                      f"rename the file to {pathway.id}.yaml or set id: {name}")
    yield from _visit_references(file, pathway)
    yield from _pathway_references(file, pathway, measures, known_pathways)
    yield from _cadence_fits_length(file, pathway)
    if clinic is not None:
        yield from _needs_are_provided(file, pathway, clinic)
        yield from _visits_fit_openings(file, pathway, clinic)
        yield from _cadence_fits_week(file, pathway, clinic)


def _visit_references(file: str, pathway: Pathway) -> Iterator[Finding]:
    known = sorted(pathway.visit_types)
    hint = "known visit types: " + ", ".join(known)
    for field in ("first_visit", "last_visit"):
        value = getattr(pathway, field)
        if value is not None and value not in pathway.visit_types:
            yield Finding(file, (field,), value, "unknown visit type", hint)
    for i, cadence in enumerate(pathway.cadence):
        if cadence.visit not in pathway.visit_types:
            yield Finding(file, ("cadence", i, "visit"), cadence.visit, "unknown visit type", hint)
    for i, step in enumerate(pathway.escalation):
        if step.visit is not None and step.visit not in pathway.visit_types:
            yield Finding(file, ("escalation", i, "visit"), step.visit, "unknown visit type", hint)


def _pathway_references(
    file: str, pathway: Pathway, measures: dict[str, Measure] | None, known: set[str]
) -> Iterator[Finding]:
    pathways_hint = "known pathways: " + ", ".join(sorted(known))
    for field in ("on_complete", "on_relapse"):
        value = getattr(pathway.transitions, field)
        if value is not None and value not in known:
            yield Finding(file, ("transitions", field), value, "unknown pathway", pathways_hint)
    for i, step in enumerate(pathway.escalation):
        if step.propose_pathway is not None and step.propose_pathway not in known:
            yield Finding(file, ("escalation", i, "propose_pathway"), step.propose_pathway,
                          "unknown pathway", pathways_hint)
    levels = [step.level for step in pathway.escalation]
    if levels != sorted(set(levels)):
        yield Finding(file, ("escalation",), levels, "escalation levels must rise one by one",
                      "list level 1 first, then 2, without repeats")
    if measures is not None:
        for i, goal in enumerate(pathway.goals.measures):
            if goal.measure not in measures:
                yield Finding(file, ("goals", "measures", i, "measure"), goal.measure,
                              "unknown measure",
                              "known measures: " + ", ".join(sorted(measures)))


def _cadence_fits_length(file: str, pathway: Pathway) -> Iterator[Finding]:
    for i, cadence in enumerate(pathway.cadence):
        if cadence.weeks.last > pathway.length.max_weeks:
            yield Finding(
                file, ("cadence", i, "weeks"), str(cadence.weeks),
                f"reaches week {cadence.weeks.last} but the pathway lasts at most "
                f"{pathway.length.max_weeks} weeks",
                f"end the cadence by week {pathway.length.max_weeks} or raise length.max_weeks",
            )


def _needs_are_provided(file: str, pathway: Pathway, clinic: Clinic) -> Iterator[Finding]:
    tags = {tag for r in clinic.resources for tag in r.provides}
    skills = {skill for t in clinic.therapists for skill in t.skills}
    for type_id, visit in pathway.visit_types.items():
        for j, tag in enumerate(visit.needs.resources):
            if tag not in tags:
                yield Finding(file, ("visit_types", type_id, "needs", "resources", j), tag,
                              "no room or equipment in clinic.yaml provides this",
                              "add it to a resource's provides, or use one of: "
                              + ", ".join(sorted(tags)))
        for j, skill in enumerate(visit.needs.skills):
            if skill not in skills:
                yield Finding(file, ("visit_types", type_id, "needs", "skills", j), skill,
                              "no therapist in clinic.yaml has this skill",
                              "add it to a therapist's skills, or use one of: "
                              + ", ".join(sorted(skills)))


def _visits_fit_openings(file: str, pathway: Pathway, clinic: Clinic) -> Iterator[Finding]:
    longest = max(
        (r.minutes for day in range(7) for r in clinic.opening_hours.on(day)), default=0
    )
    for type_id, visit in pathway.visit_types.items():
        if visit.duration_minutes > longest:
            yield Finding(
                file, ("visit_types", type_id, "duration_minutes"), visit.duration_minutes,
                f"longer than any opening of the clinic (longest is {longest} minutes)",
                "shorten the visit or lengthen the opening hours",
            )


def max_visits_per_week(open_days: list[int], rest_days: int, *, repeating: bool) -> int:
    """Most visits one week can hold with ``rest_days`` free days between any two.

    With ``repeating`` the pattern must also leave the rest before next week's first visit
    (Mon/Wed/Fri/Sun then Monday again is not allowed with one rest day).
    """
    gap = rest_days + 1
    for size in range(len(open_days), 0, -1):
        for combo in combinations(sorted(open_days), size):
            steps = [b - a for a, b in zip(combo, combo[1:], strict=False)]
            if repeating and size > 1:
                steps.append(combo[0] + 7 - combo[-1])
            if all(step >= gap for step in steps):
                return size
    return 0


def weekly_counts(pathway: Pathway) -> dict[int, int]:
    """Visits the cadence asks for in each week of the pathway (1-based)."""
    counts: dict[int, int] = {}
    for cadence in pathway.cadence:
        for week in range(cadence.weeks.first, cadence.weeks.last + 1):
            if cadence.per_week is not None:
                counts[week] = counts.get(week, 0) + cadence.per_week
            elif (week - cadence.weeks.first) % (cadence.every_weeks or 1) == 0:
                counts[week] = counts.get(week, 0) + 1
    return counts


def _cadence_fits_week(file: str, pathway: Pathway, clinic: Clinic) -> Iterator[Finding]:
    open_days = clinic.opening_hours.open_weekdays()
    rest = pathway.min_rest_days
    counts = weekly_counts(pathway)
    repeating = len(counts) > 1
    capacity = max_visits_per_week(open_days, rest, repeating=repeating)
    if pathway.same_day_visits:
        return
    open_names = "/".join(WEEKDAYS[d].title() for d in open_days)
    for i, cadence in enumerate(pathway.cadence):
        weeks = range(cadence.weeks.first, cadence.weeks.last + 1)
        worst = max(counts.get(w, 0) for w in weeks)
        if worst > capacity:
            rest_text = f"with {rest} rest day{'s' if rest != 1 else ''} between them"
            yield Finding(
                file, ("cadence", i, "per_week"), cadence.per_week,
                f"{worst} visits a week {rest_text} cannot fit a clinic open {open_names} "
                f"(at most {capacity})",
                f"ask for at most {capacity} a week, or lower min_rest_days",
            )
