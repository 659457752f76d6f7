"""The same request twice books once (a command re-run after a timeout, a row repeated in a
batch): the second answer names the existing episode and nothing more is booked or sent."""

from __future__ import annotations

import json
from pathlib import Path

from reliability_support import Cli, assert_clean

START = "2027-03-02"


def _ready(cli: Cli, config_dir: Path) -> None:
    assert_clean(cli("patients", "import", str(config_dir / "demo-patients.csv")))


def test_the_same_enroll_command_twice_books_one_episode(cli: Cli, config_dir: Path) -> None:
    _ready(cli, config_dir)
    first = cli("enroll", "MRN1001", "stable-boosters", "--start", START, "--partial")
    assert first.exit_code == 0, first.output
    outbox = len(json.loads(cli("outbox", "list", "--format", "json").output))
    assert outbox > 0
    again = cli("enroll", "MRN1001", "stable-boosters", "--start", START, "--partial")
    assert again.exit_code == 0, again.output
    assert "is already enrolled in stable-boosters from 2027-03-02" in again.output
    assert "the same request again books nothing" in again.output
    assert len(json.loads(cli("outbox", "list", "--format", "json").output)) == outbox
    listed = json.loads(cli("episodes", "list", "--patient", "MRN1001", "--format",
                            "json").output)
    assert [e["state"] for e in listed] == ["active"]


def test_the_same_row_twice_in_a_batch_books_one_episode(cli: Cli, config_dir: Path,
                                                         tmp_path: Path) -> None:
    _ready(cli, config_dir)
    batch = tmp_path / "batch.csv"
    batch.write_text(f"patient_id,pathway_id,start\nMRN1002,post-relapse,{START}\n"
                     f"MRN1002,post-relapse,{START}\n", encoding="utf-8")
    result = cli("enroll", "--batch", str(batch), "--partial")
    assert result.exit_code == 0, result.output
    assert "line 3: the same request as line 2 (episode 1), booked once" in result.output
    assert "1 enrolment(s)" in result.output and "1 repeated request(s)" in result.output
    rerun = cli("enroll", "--batch", str(batch), "--partial")
    assert "line 2: already enrolled as episode 1, nothing booked" in rerun.output
    assert "0 enrolment(s), 0 visit(s) booked" in rerun.output


def test_an_exclusive_enrolment_beside_a_running_one_is_one_clear_line(
        cli: Cli, config_dir: Path) -> None:
    _ready(cli, config_dir)
    assert cli("enroll", "MRN1003", "stable-boosters", "--start", START,
               "--partial").exit_code == 0
    refused = cli("enroll", "MRN1003", "post-relapse", "--start", "2027-03-09")
    assert_clean(refused)
    assert refused.exit_code != 0
    assert ("patient MRN1003: cannot start post-relapse beside stable-boosters episode 1 "
            "(active)") in refused.output
