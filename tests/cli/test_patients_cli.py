"""``carepath patients``: add, import, list and show through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from carepath.cli import app
from database_templates import copy_sqlite

runner = CliRunner()
HEADER = ("id,name,email,phone,preferred_weekdays,time_windows,heat_sensitive,"
          "caregiver_email,caregiver_consent,physician_email")


@pytest.fixture
def env(tmp_path: Path, config_dir: Path, sqlite_template: Path) -> dict[str, str]:
    """A fresh home folder (SQLite inside, at the newest schema) and the example config."""
    copy_sqlite(sqlite_template, tmp_path / "home" / "carepath.db")
    return {"COLUMNS": "240", "CAREPATH_HOME": str(tmp_path / "home"),
            "CAREPATH_CONFIG_DIR": str(config_dir), "CAREPATH_ACTOR": "cli-test"}


def cli(env: dict[str, str], *args: str) -> Any:
    return runner.invoke(app, list(args), env=env)


def csv_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_add_creates_a_patient_and_a_second_add_updates_it(env: dict[str, str]) -> None:
    """The same id twice: "added" then "updated", one patient in the list."""
    first = cli(env, "patients", "add", "MRN1", "--name", "Ann Lee", "--weekdays", "mon,wed",
                "--windows", "08:00-11:00", "--heat-sensitive")
    second = cli(env, "patients", "add", "MRN1", "--name", "Ann Lee",
                 "--email", "ann@patients.example")
    assert (first.exit_code, first.output.strip()) == (0, "added patient MRN1")
    assert (second.exit_code, second.output.strip()) == (0, "updated patient MRN1")
    rows = json.loads(cli(env, "patients", "list", "--format", "json").output)
    assert [(r["id"], r["email"]) for r in rows] == [("MRN1", "ann@patients.example")]


def test_add_with_a_line_break_in_the_name_is_one_line_and_exit_2(env: dict[str, str]) -> None:
    """A mistake is one clear line naming the field; nothing is written."""
    result = cli(env, "patients", "add", "MRN2", "--name", "Eve\r\nBcc: all@elsewhere.example")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: patient: name: required; one line")
    assert json.loads(cli(env, "patients", "list", "--format", "json").output) == []


def test_import_reports_what_it_did(env: dict[str, str], tmp_path: Path) -> None:
    """Counts of added, updated, unchanged and skipped rows."""
    path = csv_file(tmp_path, "MRN1,Ann Lee,,,,,no,,no,", "MRN2,Ben Ortiz,,,,,yes,,no,")
    result = cli(env, "patients", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "imported patients.csv: 2 added, 0 updated, 0 unchanged, 0 skipped")
    again = cli(env, "patients", "import", str(path))
    assert again.output.strip() == (
        "imported patients.csv: 0 added, 0 updated, 2 unchanged, 0 skipped")


def test_import_with_a_bad_row_lists_it_and_imports_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Exit 2; the error names the line and the column; the list stays empty."""
    path = csv_file(tmp_path, "MRN1,Ann Lee,,,,,no,,no,", "MRN2,Ben Ortiz,ben@,,,,no,,no,")
    result = cli(env, "patients", "import", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        f"error: {path}: 1 problem(s), nothing imported:",
        "  line 3: email: 'ben@' is not an email address like name@example.org — fix the "
        "rows, or pass --skip-invalid",
    ]
    assert json.loads(cli(env, "patients", "list", "--format", "json").output) == []


def test_import_with_skip_invalid_reports_each_skipped_row(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The good rows go in; every skipped row is printed with its line and reason."""
    path = csv_file(tmp_path, "MRN1,Ann Lee,,,,,no,,no,", "MRN2,Ben Ortiz,,,someday,,no,,no,")
    result = cli(env, "patients", "import", str(path), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "imported patients.csv: 1 added, 0 updated, 0 unchanged, 1 skipped",
        "  skipped line 3: preferred_weekdays: 'someday' is not a weekday (use mon,tue,…)",
    ]


def test_import_of_a_missing_file_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    """A wrong path: one line, exit 2."""
    result = cli(env, "patients", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    missing = tmp_path / "nope.csv"
    assert result.output.strip() == f"error: {missing}: file not found — check the path"


def test_list_as_json_gives_every_field_for_scripts(env: dict[str, str], tmp_path: Path) -> None:
    """--format json: one object per patient, sorted by id, with every column."""
    path = csv_file(tmp_path, "MRN2,Ben Ortiz,ben@patients.example,,\"tue,thu\",08:00-11:00,yes,"
                    "carer@patients.example,yes,dr@neuro.example", "MRN1,Ann Lee,,,,,no,,no,")
    cli(env, "patients", "import", str(path))
    result = cli(env, "patients", "list", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == ["MRN1", "MRN2"]
    assert rows[1] == {
        "id": "MRN2", "name": "Ben Ortiz", "email": "ben@patients.example", "phone": None,
        "preferred_weekdays": "tue,thu", "time_windows": "08:00-11:00", "heat_sensitive": True,
        "caregiver_email": "carer@patients.example", "caregiver_consent": True,
        "physician_email": "dr@neuro.example",
    }


def test_markup_in_a_name_is_printed_literally_in_the_table(env: dict[str, str]) -> None:
    """Rich markup in a name is text, not styling: it appears exactly as typed."""
    cli(env, "patients", "add", "MRN3", "--name", "[bold red]Cy[/] <b>Park</b>")
    result = cli(env, "patients", "list")
    assert result.exit_code == 0
    assert "[bold red]Cy[/] <b>Park</b>" in result.output
    assert "\x1b" not in result.output


def test_show_of_an_unknown_patient_is_one_line_and_exit_3(env: dict[str, str]) -> None:
    """NotFound: says which id and how to add one."""
    result = cli(env, "patients", "show", "MRN404")
    assert result.exit_code == 3
    assert result.output.strip() == (
        "error: no patient 'MRN404' — add it with: carepath patients add")


def test_show_as_json_gives_one_patient(env: dict[str, str]) -> None:
    """show --format json is a list holding that one patient."""
    cli(env, "patients", "add", "MRN4", "--name", "Di Wu", "--caregiver-email",
        "carer@patients.example", "--caregiver-consent")
    rows = json.loads(cli(env, "patients", "show", "MRN4", "--format", "json").output)
    assert [(r["id"], r["caregiver_consent"]) for r in rows] == [("MRN4", True)]
