"""What is still free while the bench books: therapist-day masks and resource use per slot.

Used by the workload generator (existing bookings) and by the naive baseline. A resource
with capacity ``c`` is free in a slot while fewer than ``c`` bookings hold it there.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from bench.grid import ClinicGrid, runs, span
from carepath.domain.config.models import Resource, Therapist


class Ledger:
    """Free time of every therapist and resource, one day at a time, updated by ``book``."""

    def __init__(self, grid: ClinicGrid) -> None:
        clinic = grid.clinic
        self.grid = grid
        self.therapists: dict[str, Therapist] = {t.id: t for t in clinic.therapists}
        self.resources: dict[str, Resource] = {r.id: r for r in clinic.resources}
        self.providers: dict[str, list[Resource]] = {}
        for resource in clinic.resources:
            for tag in resource.provides:
                self.providers.setdefault(tag, []).append(resource)
        self._therapist_free: dict[tuple[str, date], int] = {}
        self._therapist_runs: dict[tuple[str, date, int], int] = {}
        self._qualified: dict[tuple[str, ...], list[str]] = {}
        self._run_lengths: set[int] = set()
        self._resource_full: dict[tuple[str, date], int] = {}
        self._resource_use: dict[tuple[str, date], Counter[int]] = {}

    def therapist_free(self, therapist_id: str, day: date) -> int:
        key = (therapist_id, day)
        free = self._therapist_free.get(key)
        if free is None:
            free = self.grid.therapist_mask(self.therapists[therapist_id], day)
            self._therapist_free[key] = free
        return free

    def therapist_runs(self, therapist_id: str, day: date, length: int) -> int:
        """Start slots of ``length`` free slots for the therapist (cached until they book)."""
        key = (therapist_id, day, length)
        fitting = self._therapist_runs.get(key)
        if fitting is None:
            fitting = runs(self.therapist_free(therapist_id, day), length)
            self._therapist_runs[key] = fitting
            self._run_lengths.add(length)
        return fitting

    def qualified(self, skills: tuple[str, ...]) -> list[str]:
        """Therapists with every skill in ``skills``, in config order."""
        found = self._qualified.get(skills)
        if found is None:
            wanted = set(skills)
            found = [t.id for t in self.therapists.values() if wanted <= set(t.skills)]
            self._qualified[skills] = found
        return found

    def resource_free(self, resource: Resource, day: date) -> int:
        full = self._resource_full.get((resource.id, day), 0)
        return self.grid.resource_mask(resource, day) & ~full

    def needs_runs(self, tags: tuple[str, ...], day: date, length: int) -> int:
        """Start slots where every needed tag has some resource free for ``length`` slots."""
        fitting = runs(self.grid.clinic_mask(day), length)
        for tag in tags:
            tag_fit = 0
            for resource in self.providers.get(tag, ()):
                tag_fit |= runs(self.resource_free(resource, day), length)
            fitting &= tag_fit
        return fitting

    def pick_resources(
        self, tags: tuple[str, ...], day: date, start: int, length: int
    ) -> tuple[str, ...]:
        """The first resource per tag that is free for the whole visit from ``start``."""
        picked: list[str] = []
        wanted = span(start, length)
        for tag in tags:
            for resource in self.providers[tag]:
                if self.resource_free(resource, day) & wanted == wanted:
                    picked.append(resource.id)
                    break
        return tuple(picked)

    def book(
        self, therapist_id: str, resource_ids: tuple[str, ...], day: date, start: int,
        length: int,
    ) -> None:
        taken = span(start, length)
        self._therapist_free[(therapist_id, day)] = self.therapist_free(therapist_id, day) & ~taken
        for run_length in self._run_lengths:
            self._therapist_runs.pop((therapist_id, day, run_length), None)
        for resource_id in resource_ids:
            key = (resource_id, day)
            use = self._resource_use.setdefault(key, Counter())
            capacity = self.resources[resource_id].capacity
            for slot in range(start, start + length):
                use[slot] += 1
                if use[slot] >= capacity:
                    self._resource_full[key] = self._resource_full.get(key, 0) | (1 << slot)
