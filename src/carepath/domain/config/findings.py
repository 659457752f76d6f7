"""What a configuration check reports, and what of ``clinic.yaml`` it can rely on.

``ClinicParts`` holds the sections of ``clinic.yaml`` that passed their shape check, so a
shape error in one section does not hide the problems of the rest. Rules that need a
section run only when it is there; a "nobody provides this" rule only when *every* entry
was readable, so that a typo in one room does not raise a false alarm in a pathway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from carepath.domain.config.models import Clinic, Holidays, Resource, Therapist, WeeklyHours

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """One problem: file (``clinic``, ``measures``, ``pathways/<id>``), field path, value, fix."""

    file: str
    path: Path
    value: object
    message: str
    hint: str = ""


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ClinicParts:
    """The sections of ``clinic.yaml`` that passed their shape check, by original index.

    ``resource_tags`` and ``therapist_skills`` are every tag and skill the file names, read
    from the broken entries too; None when some entry's list cannot be read, so that a
    "nobody provides this" finding is only ever made when it is certain.
    """

    opening_hours: WeeklyHours | None = None
    holidays: Holidays | None = None
    resources: Mapping[int, Resource] = field(default_factory=dict)
    therapists: Mapping[int, Therapist] = field(default_factory=dict)
    all_resources: bool = False
    all_therapists: bool = False
    resource_tags: frozenset[str] | None = None
    therapist_skills: frozenset[str] | None = None

    @classmethod
    def of(cls, clinic: Clinic) -> ClinicParts:
        return cls(clinic.opening_hours, clinic.holidays, dict(enumerate(clinic.resources)),
                   dict(enumerate(clinic.therapists)), True, True,
                   frozenset(tag for r in clinic.resources for tag in r.provides),
                   frozenset(skill for t in clinic.therapists for skill in t.skills))


def clinic_parts(data: Mapping[str, Any]) -> ClinicParts:
    """Validate each section of a raw ``clinic.yaml`` mapping on its own.

    Used when the clinic as a whole failed, so the cross-checks can still run on the rest.
    """
    resources, all_resources = _valid_entries(data.get("resources"), Resource)
    therapists, all_therapists = _valid_entries(data.get("therapists"), Therapist)
    return ClinicParts(
        opening_hours=_valid_or_none(data.get("opening_hours"), WeeklyHours),
        holidays=_valid_or_none(data.get("holidays"), Holidays),
        resources=resources, therapists=therapists,
        all_resources=all_resources, all_therapists=all_therapists,
        resource_tags=_named(data.get("resources"), "provides", required=True),
        therapist_skills=_named(data.get("therapists"), "skills", required=False),
    )


def _named(entries: object, key: str, *, required: bool) -> frozenset[str] | None:
    """Every string listed under ``key`` in the raw entries; None if any list is unreadable."""
    if not isinstance(entries, list) or not entries:
        return None
    names: set[str] = set()
    for entry in entries:
        value = entry.get(key, None if required else []) if isinstance(entry, dict) else None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        names.update(v.strip() for v in value)
    return frozenset(names)


def _valid_or_none(value: object, model: type[M]) -> M | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _valid_entries(value: object, model: type[M]) -> tuple[dict[int, M], bool]:
    if not isinstance(value, list):
        return {}, False
    valid = {i: entry for i, item in enumerate(value)
             if (entry := _valid_or_none(item, model)) is not None}
    return valid, bool(value) and len(valid) == len(value)
