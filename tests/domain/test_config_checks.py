"""Cross-checks of a configuration: the rules behind the corpus messages, one at a time."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from carepath.config.loader import load_config
from carepath.domain.config.checks import (
    ClinicParts,
    check_all,
    clinic_parts,
    max_visits_per_week,
)
from carepath.domain.config.models import Clinic, Config
from carepath.domain.config.pathway_checks import day_names
from carepath.errors import ConfigError

MON_FRI = [0, 1, 2, 3, 4]
CORPUS_BASE = Path(__file__).resolve().parents[1] / "config_corpus" / "base"


def test_three_visits_a_week_with_a_rest_day_fit_a_monday_to_friday_clinic() -> None:
    """Mon/Wed/Fri, then Monday again after a two-day weekend: three fit."""
    assert max_visits_per_week(MON_FRI, 1, repeating=True) == 3


def test_four_visits_a_week_with_a_rest_day_do_not_fit_a_monday_to_friday_clinic() -> None:
    """Four visits need seven days with a rest between each: Mon–Fri holds at most three."""
    assert max_visits_per_week(MON_FRI, 1, repeating=False) == 3


def test_a_repeating_week_keeps_its_rest_before_next_monday() -> None:
    """Open every day, one rest day: Mon/Wed/Fri/Sun fits one week but not week after week."""
    every_day = list(range(7))
    assert max_visits_per_week(every_day, 1, repeating=False) == 4
    assert max_visits_per_week(every_day, 1, repeating=True) == 3


def test_without_rest_days_every_open_day_can_hold_a_visit() -> None:
    """With no rest rule the limit is the number of open days."""
    assert max_visits_per_week([0, 2, 4], 0, repeating=True) == 3


@pytest.mark.parametrize(("days", "text"), [
    (MON_FRI, "Mon–Fri"), ([0, 2, 4], "Mon/Wed/Fri"), ([0, 1], "Mon/Tue"),
    ([0, 1, 2, 5], "Mon–Wed/Sat"), ([], "no day"),
])
def test_open_days_are_written_as_people_write_them(days: list[int], text: str) -> None:
    """Runs of three or more days read as a span, the rest as a list."""
    assert day_names(days) == text


def test_the_example_config_validates(config: Config) -> None:
    """The shipped example clinic has no problem at all."""
    assert check_all(config.clinic, config.measures, config.pathways) == []


def _clinic_data(config_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(config_dir / "clinic.yaml")
    return data


def test_a_clinic_with_a_shape_error_still_lends_its_readable_sections(config_dir: Path) -> None:
    """A misspelt top-level key fails the clinic, but hours, rooms and therapists remain."""
    data = _clinic_data(config_dir)
    data["timezon"] = data.pop("timezone")
    parts = clinic_parts(data)
    assert parts.opening_hours is not None and parts.holidays is not None
    assert parts.all_resources and parts.all_therapists
    assert len(parts.therapists) == 6


def test_a_broken_therapist_keeps_the_index_of_the_others(config_dir: Path) -> None:
    """Findings about the therapists after a broken one still name the right list index."""
    data = _clinic_data(config_dir)
    data["therapists"][1]["email"] = "not an address"
    data["therapists"][4]["working_hours"]["mon"] = ["10:00-18:00", "17:00-19:00"]
    parts = clinic_parts(data)
    assert sorted(parts.therapists) == [0, 2, 3, 4, 5] and not parts.all_therapists
    paths = [f.path for f in check_all(parts, None, {})]
    assert paths == [("therapists", 4, "working_hours", "mon")]


def test_a_typo_in_one_room_raises_no_false_alarm_in_the_pathways(
    config_dir: Path, config: Config
) -> None:
    """A room with a bad capacity still provides its tags: no "nobody provides gym"."""
    data = _clinic_data(config_dir)
    data["resources"][0]["capacity"] = "four"
    findings = check_all(clinic_parts(data), config.measures, config.pathways)
    assert findings == []


def test_a_room_whose_tags_cannot_be_read_silences_only_the_tag_check(
    config_dir: Path, config: Config
) -> None:
    """provides: gym (not a list) makes "nobody provides X" a guess; other checks still run."""
    data = _clinic_data(config_dir)
    data["resources"][0]["provides"] = "gym"
    data["therapists"][0]["working_hours"]["mon"] = ["08:00-12:00", "11:00-13:00"]
    parts = clinic_parts(data)
    assert parts.resource_tags is None and parts.therapist_skills is not None
    findings = check_all(parts, config.measures, config.pathways)
    assert [f.path for f in findings] == [("therapists", 0, "working_hours", "mon")]


def test_a_need_is_still_checked_when_another_room_is_broken(
    config_dir: Path, config: Config
) -> None:
    """One broken room does not hide that no room at all provides a sauna."""
    data = _clinic_data(config_dir)
    data["resources"][0]["capacity"] = "four"
    pathway = config.pathways["stable-boosters"]
    visit = pathway.visit_types["booster"]
    broken = pathway.model_copy(update={"visit_types": {"booster": visit.model_copy(
        update={"needs": visit.needs.model_copy(update={"resources": ["sauna"]})})}})
    findings = check_all(clinic_parts(data), config.measures, {"stable-boosters": broken},
                         known_pathways=list(config.pathways))
    assert [(f.path, f.value) for f in findings] == [
        (("visit_types", "booster", "needs", "resources", 0), "sauna")]


def test_a_whole_clinic_and_its_parts_give_the_same_findings(config: Config) -> None:
    """ClinicParts.of(clinic) is what check_all uses for a whole clinic."""
    clinic: Clinic = config.clinic
    assert check_all(ClinicParts.of(clinic), config.measures, config.pathways) == check_all(
        clinic, config.measures, config.pathways)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_every_error_is_reported_at_once_five_problems_in_three_files(tmp_path: Path) -> None:
    """Five problems spread over clinic, measures and a pathway: all five are listed."""
    folder = tmp_path / "config"
    shutil.copytree(CORPUS_BASE, folder)
    _replace(folder / "clinic.yaml", "America/New_York", "America/Nowhere")
    _replace(folder / "clinic.yaml", "  - id: chen", "  - id: alvarez")
    _replace(folder / "measures.yaml", "Timed 25-Foot Walk\n",
             "Timed 25-Foot Walk\n    scale: linear\n")
    _replace(folder / "pathways/post-relapse.yaml", "measure: bbs", "measure: bsb")
    _replace(folder / "pathways/post-relapse.yaml", "on_complete: stable-boosters",
             "on_complete: boosters")
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    fields = [(Path(p.file).name, p.field) for p in caught.value.problems]
    assert fields == [
        ("clinic.yaml", "timezone"), ("clinic.yaml", "therapists[1].id"),
        ("measures.yaml", "measures.t25fw.scale"),
        ("post-relapse.yaml", "goals.measures[1].measure"),
        ("post-relapse.yaml", "transitions.on_complete"),
    ]
    assert str(caught.value).startswith("5 configuration problems:\n")


def test_a_config_edited_in_place_is_read_again_and_an_unchanged_one_is_not(
        config_dir: Path, tmp_path: Path) -> None:
    """Opening the app many times in one process parses an unchanged folder once, but an edit
    of the same length, made within the same clock tick, is seen at once; errors are fresh."""
    folder = tmp_path / "config"
    shutil.copytree(config_dir, folder)
    first = load_config(folder)
    assert load_config(folder) is first
    clinic = folder / "clinic.yaml"
    text = clinic.read_text()
    edited = text.replace('heat_safe_before: "11:00"', 'heat_safe_before: "10:30"')
    assert len(edited) == len(text) and edited != text
    clinic.write_text(edited)
    assert load_config(folder).clinic.heat_safe_before.strftime("%H:%M") == "10:30"
    clinic.write_text(text.replace('heat_safe_before: "11:00"', 'heat_safe_before: "25:00"'))
    with pytest.raises(ConfigError, match="heat_safe_before"):
        load_config(folder)
    clinic.write_text(text)
    assert load_config(folder) == first
