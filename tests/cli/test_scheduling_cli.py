"""``carepath enroll``, ``slots``, ``appointments`` and ``therapists leave`` from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import invoke


def _appointments() -> list[dict[str, Any]]:
    result = invoke("appointments", "export", "--format", "json")
    assert result.exit_code == 0, result.output
    records: list[dict[str, Any]] = json.loads(result.output)
    return records


def test_enroll_prints_the_schedule_in_the_clinics_time(shell: Path) -> None:
    """Enrolment prints every visit with EST before and EDT after the March change."""
    result = invoke("enroll", "MRN1002", "post-relapse", "--start", "2027-03-01")
    assert result.exit_code == 0, result.output
    assert "EST" in result.output and "EDT" in result.output
    assert "12 visit(s) booked" in result.output


@pytest.mark.parametrize(("args", "code", "words"), [
    (("MRN0000", "post-relapse", "--start", "2027-03-01"), 3, "no patient 'MRN0000'"),
    (("MRN1001", "post-relapse", "--start", "2020-03-01"), 2, "is in the past"),
    (("MRN1001", "post-relapse", "--start", "2027-11-26"), 2, "Day after Thanksgiving"),
    (("MRN1001", "post-relapse", "--start", "2027-03-01", "--therapist", "chen"), 4,
     "lacks the aquatic skill"),
])
def test_bad_enrolments_are_one_line_and_book_nothing(shell: Path, args: tuple[str, ...],
                                                      code: int, words: str) -> None:
    """A user mistake or a pathway that does not fit: one error line, its exit code, no
    traceback, and no appointment written."""
    result = invoke("enroll", *args)
    assert result.exit_code == code, result.output
    assert words in result.output and "Traceback" not in result.output
    assert _appointments() == []


def test_slots_lists_the_next_free_times(shell: Path) -> None:
    """``carepath slots aquatic`` names qualified therapists and the pool."""
    result = invoke("slots", "aquatic", "--pathway", "post-relapse", "--from", "2027-03-01",
                    "--limit", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    slots = json.loads(result.output)
    assert len(slots) == 3 and all(s["rooms"].startswith("pool#") for s in slots)
    assert slots[0]["start"].startswith("2027-03-01T")


def test_reschedule_cancel_complete_and_no_show_from_the_shell(shell: Path) -> None:
    """Each command prints what it did; the export shows the new state and SEQUENCE."""
    assert invoke("enroll", "MRN1002", "stable-boosters", "--start", "2027-03-01").exit_code == 0
    first, second, third, fourth = (a["id"] for a in _appointments()[:4])
    moved = invoke("appointments", "reschedule", str(first), "--to", "2027-03-03 15:00")
    assert moved.exit_code == 0 and "Wed 2027-03-03 15:00 EST" in moved.output, moved.output
    assert invoke("appointments", "cancel", str(second), "--reason", "ill").exit_code == 0
    assert invoke("appointments", "complete", str(third)).exit_code == 0
    assert invoke("appointments", "no-show", str(fourth)).exit_code == 0
    state = {a["id"]: (a["status"], a["sequence"]) for a in _appointments()}
    assert state[first] == ("booked", 1) and state[second] == ("cancelled", 1)
    assert state[third] == ("completed", 1) and state[fourth] == ("no_show", 1)


def test_a_time_that_does_not_exist_is_refused_with_the_fix(shell: Path) -> None:
    """Clocks skip 02:00–03:00 on 14 March 2027: the command says so and suggests 03:00."""
    assert invoke("enroll", "MRN1002", "stable-boosters", "--start", "2027-03-08").exit_code == 0
    first = _appointments()[0]["id"]
    result = invoke("appointments", "reschedule", str(first), "--to", "2027-03-14 02:30")
    assert result.exit_code == 2 and "does not exist" in result.output
    assert "03:00 or later" in result.output


def test_therapist_leave_reports_every_moved_visit(shell: Path) -> None:
    """Leave over a booked week prints one line per visit it moved."""
    invoke("enroll", "MRN1002", "stable-boosters", "--start", "2027-03-01", "--therapist",
           "alvarez")
    result = invoke("therapists", "leave", "alvarez", "--from", "2027-03-01", "--to",
                    "2027-03-02")
    assert result.exit_code == 0, result.output
    assert "→" in result.output and "1 visit(s) changed" in result.output


def test_batch_enrolment_and_import_from_csv(shell: Path) -> None:
    """A batch books each line; an import conflict is reported by line and imports nothing."""
    batch = shell / "batch.csv"
    batch.write_text("patient_id,pathway_id,start\nMRN1003,stable-boosters,2027-03-01\n"
                     "MRN1004,progression-review,2027-03-02\n", encoding="utf-8")
    result = invoke("enroll", "--batch", str(batch))
    assert result.exit_code == 0 and "2 enrolment(s)" in result.output, result.output
    old = shell / "old.csv"
    old.write_text("patient_id,therapist_id,visit_type,start\n"
                   "MRN1005,patel,treatment,2027-06-01 09:00\n"
                   "MRN1006,patel,treatment,2027-06-01 09:30\n", encoding="utf-8")
    before = len(_appointments())
    refused = invoke("appointments", "import", str(old))
    assert refused.exit_code == 2 and "line 3" in refused.output
    assert len(_appointments()) == before
    csv_text = invoke("appointments", "export", "--format", "csv").output
    assert csv_text.splitlines()[0].startswith("id,uid,episode_id")


def test_batch_with_an_improvement_budget_says_what_it_moved(shell: Path) -> None:
    """`--optimize-seconds` runs the improvement phase after the batch and reports it, in
    the table and in JSON; a negative budget is one clear line and books nothing."""
    batch = shell / "batch.csv"
    batch.write_text("patient_id,pathway_id,start\nMRN1003,post-relapse,2027-03-01\n"
                     "MRN1004,post-relapse,2027-03-01\nMRN1005,stable-boosters,2027-03-02\n",
                     encoding="utf-8")
    refused = invoke("enroll", "--batch", str(batch), "--optimize-seconds", "-1")
    assert refused.exit_code == 2 and "--optimize-seconds" in refused.output
    assert _appointments() == []
    result = invoke("enroll", "--batch", str(batch), "--optimize-seconds", "30",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    improvement = answer["improvement"]
    assert improvement["out_of_time"] is False
    assert 0 <= improvement["episodes_with_one_therapist_now"] <= (
        improvement["visits_moved"] + 2 * improvement["pairs_swapped"])
    assert answer["visits_booked"] == len(_appointments()) > 0
    again = shell / "again.csv"
    again.write_text("patient_id,pathway_id,start\nMRN1006,stable-boosters,2027-03-02\n",
                     encoding="utf-8")
    table = invoke("enroll", "--batch", str(again), "--optimize-seconds", "30")
    assert "improvement: " in table.output and "every episode looked at" in table.output
