"""What an admin types: a batch whose lines carry the referral date and the imported evaluation
an episode starts with, ``enroll --evaluation`` and ``--referred``, and a broken pathway rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from cli_helpers import invoke


def _appointments() -> list[dict[str, Any]]:
    result = invoke("appointments", "export", "--format", "json")
    assert result.exit_code == 0, result.output
    records: list[dict[str, Any]] = json.loads(result.output)
    return records


def _import_evaluation(shell: Path, patient: str, when: str) -> int:
    old = shell / "old.csv"
    old.write_text(f"patient_id,therapist_id,visit_type,start\n{patient},chen,evaluation,{when}\n",
                   encoding="utf-8")
    result = invoke("appointments", "import", str(old))
    assert result.exit_code == 0, result.output
    return int(next(r["id"] for r in _appointments() if r["patient_id"] == patient))


def test_a_batch_starts_an_episode_with_its_imported_evaluation(shell: Path) -> None:
    evaluation = _import_evaluation(shell, "MRN1002", "2027-03-03 09:00")
    batch = shell / "batch.csv"
    batch.write_text("patient_id,pathway_id,start,referred,evaluation_appointment\n"
                     "MRN1002,post-relapse,,2027-02-26,2027-03-03\n"
                     "MRN1004,progression-review,2027-03-02,2027-03-01,\n", encoding="utf-8")
    result = invoke("enroll", "--batch", str(batch))
    assert result.exit_code == 0, result.output
    assert "2 enrolment(s)" in result.output
    records = _appointments()
    first = next(r for r in records if r["id"] == evaluation)
    assert first["episode_id"] is not None and first["seq"] == 1
    episode = [r for r in records if r["episode_id"] == first["episode_id"]]
    assert len(episode) == 12 and [r["visit_type"] for r in episode].count("evaluation") == 1


def test_enroll_with_an_evaluation_id_says_it_is_visit_one(shell: Path) -> None:
    evaluation = _import_evaluation(shell, "MRN1003", "2027-03-02 10:00")
    result = invoke("enroll", "MRN1003", "post-relapse", "--evaluation", str(evaluation))
    assert result.exit_code == 0, result.output
    assert f"visit 1 is the imported appointment {evaluation}" in result.output
    assert "weeks start 2027-03-02" in result.output
    again = invoke("enroll", "MRN1003", "post-relapse", "--evaluation", "2027-03-09")
    assert again.exit_code == 2 and "no appointment of MRN1003 there" in again.output
    assert "Traceback" not in again.output


def test_a_bad_referral_date_is_one_line_with_the_fix(shell: Path) -> None:
    result = invoke("enroll", "MRN1003", "post-relapse", "--start", "2027-03-01",
                    "--referred", "last week")
    assert result.exit_code == 2 and "--referred 'last week': not a date" in result.output


def test_a_window_ending_before_it_starts_is_named_with_file_field_and_fix(
        tmp_path: Path, config_dir: Path) -> None:
    folder = tmp_path / "config"
    shutil.copytree(config_dir, folder)
    path = folder / "pathways" / "stable-boosters.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\ncadence:", "\nfirst_visit_window: {earliest_days: 30, "
                                 "latest_days: 28}\nweeks_are: calendar\ncadence:", 1),
                    encoding="utf-8")
    result = invoke("config", "validate", str(folder))
    assert result.exit_code == 2, result.output
    assert "stable-boosters.yaml" in result.output
    assert "first_visit_window.latest_days" in result.output
    assert "raise latest_days or lower earliest_days" in result.output
