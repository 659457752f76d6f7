"""Rules for one pathway against the rest of the configuration.

References (visit types, measures, pathways), the clinic's ability to provide what a visit
needs, and whether the cadence fits the weeks and the open days at all: a 3/week cadence
with a rest day between visits fits a Mon–Fri clinic (Mon/Wed/Fri), 4/week does not.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from itertools import combinations

from carepath.domain.config.findings import ClinicParts, Finding
from carepath.domain.config.models import Pathway, Therapist, VisitType
from carepath.domain.timeutil import WEEKDAYS


def check_pathway(
    name: str,
    pathway: Pathway,
    clinic: ClinicParts | None,
    measures: Collection[str] | None,
    known_pathways: Collection[str],
) -> Iterator[Finding]:
    """Every problem of ``pathways/<name>.yaml`` that needs more than its own shape."""
    file = f"pathways/{name}"
    if pathway.id != name:
        yield Finding(file, ("id",), pathway.id, f"the id does not match the file name {name!r}",
                      f"rename the file to {pathway.id}.yaml or set id: {name}")
    yield from _visit_references(file, pathway)
    yield from _pathway_references(file, pathway, known_pathways)
    if measures is not None:
        yield from _measure_references(file, pathway, measures)
    yield from _cadence_fits_length(file, pathway)
    if clinic is None:
        return
    if clinic.resource_tags is not None:
        yield from _resources_are_provided(file, pathway, clinic.resource_tags)
    if clinic.therapist_skills is not None:
        therapists = list(clinic.therapists.values()) if clinic.all_therapists else None
        yield from _skills_are_provided(file, pathway, clinic.therapist_skills, therapists)
    if clinic.opening_hours is not None:
        yield from _visits_fit_openings(file, pathway, clinic)
        yield from _cadence_fits_week(file, pathway, clinic.opening_hours.open_weekdays())


def timeline_checks(name: str, pathway: Pathway,
                    pathways: Mapping[str, Pathway]) -> Iterator[Finding]:
    """A pathway that runs on through a relapse must not share an exclusive group with the
    pathway a relapse starts: that relapse could never be recorded."""
    target = pathway.transitions.on_relapse
    if pathway.timeline.relapse != "keep" or target is None or target not in pathways:
        return
    shared = ({pathway.id, *pathway.timeline.exclusive}
              & {target, *pathways[target].timeline.exclusive})
    if shared:
        yield Finding(f"pathways/{name}", ("timeline", "relapse"), "keep",
                      f"runs on through a relapse but shares {', '.join(sorted(shared))} with "
                      f"{target}, which a relapse starts",
                      "use relapse: hold, or take the group out of one of them")


def _visit_references(file: str, pathway: Pathway) -> Iterator[Finding]:
    hint = "known visit types: " + ", ".join(sorted(pathway.visit_types))
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


def _pathway_references(file: str, pathway: Pathway, known: Collection[str]) -> Iterator[Finding]:
    hint = "known pathways: " + ", ".join(sorted(known))
    for field in ("on_complete", "on_relapse"):
        value = getattr(pathway.transitions, field)
        if value is not None and value not in known:
            yield Finding(file, ("transitions", field), value, "unknown pathway", hint)
    for i, group in enumerate(pathway.timeline.exclusive):
        if group in known:
            yield Finding(file, ("timeline", "exclusive", i), group,
                          "names a pathway, not a group",
                          "every pathway is already exclusive with itself; name a group such "
                          "as series")
    for i, step in enumerate(pathway.escalation):
        if step.propose_pathway is not None and step.propose_pathway not in known:
            yield Finding(file, ("escalation", i, "propose_pathway"), step.propose_pathway,
                          "unknown pathway", hint)
    levels = [step.level for step in pathway.escalation]
    if levels != list(range(1, len(levels) + 1)):
        yield Finding(file, ("escalation",), levels, "escalation levels must rise one by one",
                      "list level 1 first, then 2, without gaps or repeats")


def _measure_references(
    file: str, pathway: Pathway, measures: Collection[str]
) -> Iterator[Finding]:
    for i, goal in enumerate(pathway.goals.measures):
        if goal.measure not in measures:
            yield Finding(file, ("goals", "measures", i, "measure"), goal.measure,
                          "unknown measure", "known measures: " + ", ".join(sorted(measures)))


def _cadence_fits_length(file: str, pathway: Pathway) -> Iterator[Finding]:
    for i, cadence in enumerate(pathway.cadence):
        if cadence.weeks.last > pathway.length.max_weeks:
            yield Finding(
                file, ("cadence", i, "weeks"), str(cadence.weeks),
                f"reaches week {cadence.weeks.last} but the pathway lasts at most "
                f"{pathway.length.max_weeks} weeks",
                f"end the cadence by week {pathway.length.max_weeks} or raise length.max_weeks",
            )


def _resources_are_provided(
    file: str, pathway: Pathway, tags: frozenset[str]
) -> Iterator[Finding]:
    for type_id, visit in pathway.visit_types.items():
        for j, tag in enumerate(visit.needs.resources):
            if tag not in tags:
                yield Finding(file, ("visit_types", type_id, "needs", "resources", j), tag,
                              "no room or equipment in clinic.yaml provides this",
                              "add it to a resource's provides, or use one of: "
                              + ", ".join(sorted(tags)))


def _skills_are_provided(
    file: str, pathway: Pathway, skills: frozenset[str], therapists: list[Therapist] | None
) -> Iterator[Finding]:
    """Each skill is someone's; with every therapist readable, one of them has them all."""
    for type_id, visit in pathway.visit_types.items():
        path = ("visit_types", type_id, "needs", "skills")
        missing = False
        for j, skill in enumerate(visit.needs.skills):
            if skill not in skills:
                missing = True
                yield Finding(file, (*path, j), skill, "no therapist in clinic.yaml has this skill",
                              "add it to a therapist's skills, or use one of: "
                              + ", ".join(sorted(skills)))
        if not missing and therapists is not None:
            yield from _one_therapist_can_do(file, type_id, visit, therapists)


def _one_therapist_can_do(
    file: str, type_id: str, visit: VisitType, therapists: list[Therapist]
) -> Iterator[Finding]:
    able = [t for t in therapists if set(visit.needs.skills) <= set(t.skills)]
    if not able:
        yield Finding(file, ("visit_types", type_id, "needs", "skills"),
                      ", ".join(visit.needs.skills), "no one therapist has all these skills",
                      "split the visit type, or add the missing skill to a therapist")
        return
    longest = max((r.minutes for t in able for day in range(7) for r in t.working_hours.on(day)),
                  default=0)
    if visit.duration_minutes > longest:
        yield Finding(file, ("visit_types", type_id, "duration_minutes"), visit.duration_minutes,
                      f"no therapist who can give this visit works that long in one stretch "
                      f"(longest is {longest} minutes)",
                      "shorten the visit or lengthen a therapist's working hours")


def _visits_fit_openings(file: str, pathway: Pathway, clinic: ClinicParts) -> Iterator[Finding]:
    assert clinic.opening_hours is not None
    hours = clinic.opening_hours
    longest = max((r.minutes for day in range(7) for r in hours.on(day)), default=0)
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


def _cadence_fits_week(file: str, pathway: Pathway, open_days: list[int]) -> Iterator[Finding]:
    """One finding per run of weeks that asks for more visits than the week can hold."""
    if pathway.same_day_visits:
        return
    counts = weekly_counts(pathway)
    rest = pathway.min_rest_days
    capacity = max_visits_per_week(open_days, rest, repeating=len(counts) > 1)
    for first, last, count in _overloaded_runs(counts, capacity):
        weeks = f"{first}-{last}" if first != last else str(first)
        index = next(i for i, c in enumerate(pathway.cadence)
                     if c.weeks.first <= first <= c.weeks.last)
        field = "per_week" if pathway.cadence[index].per_week is not None else "every_weeks"
        rest_text = (f"{rest} rest day{'s' if rest != 1 else ''} between visits" if rest
                     else "one visit a day")
        yield Finding(
            file, ("cadence", index, field), None,
            f"weeks {weeks} ask for {count} visits a week; with {rest_text} a clinic open "
            f"{day_names(open_days)} fits at most {capacity}",
            f"ask for at most {capacity} a week in weeks {weeks}"
            + (", or lower min_rest_days" if rest else ", or open the clinic on more days"),
        )


def _overloaded_runs(counts: dict[int, int], capacity: int) -> list[tuple[int, int, int]]:
    """(first week, last week, count) for each run of consecutive weeks above ``capacity``."""
    runs: list[tuple[int, int, int]] = []
    for week in sorted(counts):
        count = counts[week]
        if count <= capacity:
            continue
        if runs and runs[-1][1] == week - 1 and runs[-1][2] == count:
            runs[-1] = (runs[-1][0], week, count)
        else:
            runs.append((week, week, count))
    return runs


def day_names(days: list[int]) -> str:
    """Open days as people write them: "Mon–Fri", "Mon/Wed/Fri", "Mon–Wed/Sat"."""
    groups: list[list[int]] = []
    for day in sorted(days):
        if groups and groups[-1][-1] == day - 1:
            groups[-1].append(day)
        else:
            groups.append([day])
    parts = []
    for group in groups:
        names = [WEEKDAYS[d].title() for d in group]
        parts.append(f"{names[0]}–{names[-1]}" if len(group) >= 3 else "/".join(names))
    return "/".join(parts) if parts else "no day"
