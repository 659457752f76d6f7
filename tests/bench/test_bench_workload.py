"""The bench's workload generator: seeded, shaped like the issue asks, valid to start from."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bench.checker import check
from bench.model import Workload
from bench.workload import generate


@pytest.fixture(scope="module")
def medium() -> Workload:
    return generate("medium", 7)


def test_the_same_seed_gives_the_same_workload() -> None:
    """Two runs with one seed build equal enrolments and existing bookings."""
    first, second = generate("small", 3), generate("small", 3)
    assert first.enrolments == second.enrolments
    assert first.existing == second.existing
    assert first.clinic == second.clinic


def test_another_seed_gives_another_workload() -> None:
    """A different seed changes what is generated."""
    assert generate("small", 3).enrolments != generate("small", 4).enrolments


def test_sizes_have_the_therapists_and_enrolments_the_issue_names() -> None:
    """Small is 5 therapists and 40 enrolments."""
    small = generate("small", 1)
    assert (len(small.clinic.therapists), len(small.enrolments)) == (5, 40)
    assert len({t.id for t in small.clinic.therapists}) == 5


def test_pathway_mix_is_about_sixty_thirty_ten(medium: Workload) -> None:
    """About 60 % post-relapse, 30 % boosters and 10 % progression reviews."""
    mix = Counter(e.pathway_id for e in medium.enrolments)
    share = {k: v / len(medium.enrolments) for k, v in mix.items()}
    assert share["post-relapse"] == pytest.approx(0.6, abs=0.08)
    assert share["stable-boosters"] == pytest.approx(0.3, abs=0.08)
    assert share["progression-review"] == pytest.approx(0.1, abs=0.05)


def test_about_a_third_of_patients_are_heat_sensitive(medium: Workload) -> None:
    """About 30 % heat-sensitive patients; some restrict weekdays or time windows."""
    prefs = [e.preferences for e in medium.enrolments]
    assert sum(p.heat_sensitive for p in prefs) / len(prefs) == pytest.approx(0.3, abs=0.08)
    assert any(p.weekdays for p in prefs) and any(p.windows for p in prefs)


def test_visits_need_the_pool_and_the_gait_trainer(medium: Workload) -> None:
    """Plans ask for pool and gait-trainer visits, and the clinic has both."""
    tags = {tag for e in medium.enrolments for r in e.plan.requirements for tag in r.resources}
    provided = {tag for r in medium.clinic.resources for tag in r.provides}
    assert {"pool", "gait-trainer"} <= tags <= provided


def test_some_therapists_are_on_leave(medium: Workload) -> None:
    """Leave is part of the workload."""
    assert any(t.leave for t in medium.clinic.therapists)


def test_the_horizon_crosses_a_daylight_saving_change(medium: Workload) -> None:
    """Some episode runs across a change of the clinic's UTC offset."""
    zone = ZoneInfo(medium.clinic.timezone)

    def offset(day: object) -> object:
        return datetime.combine(day, time(12), tzinfo=zone).utcoffset()  # type: ignore[arg-type]

    assert any(offset(e.plan.start) != offset(e.plan.end) for e in medium.enrolments)


def test_existing_bookings_keep_every_hard_rule(medium: Workload) -> None:
    """The diary the schedulers start from is itself valid."""
    assert medium.existing
    no_enrolments = dataclasses.replace(medium, enrolments=())
    assert check(no_enrolments, []).total == 0
