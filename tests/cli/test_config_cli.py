"""``carepath config validate`` and ``carepath pathways``: one clear line per problem."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from carepath.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "240"}


def _corpus() -> ModuleType:
    """The corpus helpers of tests/domain (one place builds the broken configs)."""
    path = Path(__file__).resolve().parents[1] / "domain" / "test_config_corpus.py"
    spec = importlib.util.spec_from_file_location("config_corpus_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CORPUS = _corpus()
SAMPLE = ["clinic-unknown-top-level-key", "clinic-closure-on-a-day-that-does-not-exist",
          "clinic-not-utf8", "clinic-tab-indentation", "clinic-empty-file",
          "clinic-name-with-terminal-escape-codes", "clinic-python-object-tag",
          "measures-alias-bomb", "pathway-four-a-week-with-a-rest-day-in-a-mon-fri-clinic",
          "clinic-shape-error-still-checks-the-rest", "pathways-folder-empty"]
BY_ID = {case["id"]: case for case in CORPUS.load_cases()}


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env={**WIDE, **(env or {})})


def test_validate_says_ok_for_the_example_config(config_dir: Path) -> None:
    """A valid folder: exit 0 and a one-line summary of what was found."""
    result = invoke("config", "validate", str(config_dir))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok {config_dir}: Riverside Rehabilitation Center")
    assert "6 therapists" in result.output


def test_validate_reads_the_folder_from_carepath_config_dir(config_dir: Path) -> None:
    """Without an argument the folder comes from the environment."""
    result = invoke("config", "validate", env={"CAREPATH_CONFIG_DIR": str(config_dir)})
    assert result.exit_code == 0, result.output


def test_validate_of_a_missing_folder_is_one_line() -> None:
    """A wrong path is one line naming it, exit 2."""
    result = invoke("config", "validate", "/nonexistent/carepath-config")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: 1 configuration problem:",
        "  /nonexistent/carepath-config: (directory): config directory not found — pass the "
        "folder holding clinic.yaml, or set CAREPATH_CONFIG_DIR",
    ]


@pytest.mark.parametrize("case_id", SAMPLE)
def test_validate_prints_one_line_per_problem_and_never_a_traceback(
    case_id: str, tmp_path: Path
) -> None:
    """Exit 2, a count, then exactly the pinned lines; no traceback, no raw escape codes."""
    case = BY_ID[case_id]
    folder = CORPUS.build(case, tmp_path)
    result = invoke("config", "validate", str(folder))
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "\x1b" not in result.output
    head, *lines = result.output.rstrip("\n").split("\n")
    count = len(case["expect"])
    assert head == f"error: {count} configuration problem{'s' if count != 1 else ''}:"
    assert [line.strip().replace(f"{folder}/", "").replace(str(folder), ".")
            for line in lines] == case["expect"]


def test_pathways_show_prints_the_plan_as_a_table(config_dir: Path) -> None:
    """post-relapse from Monday 2027-03-01: twelve visits, evaluation first, dated weeks."""
    result = invoke("pathways", "show", "post-relapse", "--start", "2027-03-01",
                    env={"CAREPATH_CONFIG_DIR": str(config_dir)})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Post-relapse episode of care v1 from 2027-03-01 — 12 visits over 5 weeks" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 12
    assert "Initial evaluation" in rows[0] and "Mon 2027-03-01" in rows[0]
    assert "Re-evaluation" in rows[-1] and "Sun 2027-04-04" in rows[-1]


def test_pathways_show_as_json_gives_every_requirement(config_dir: Path) -> None:
    """--format json is for scripts: a list of requirements with ISO dates."""
    result = invoke("pathways", "show", "post-relapse", "--start", "2027-03-01",
                    "--format", "json", env={"CAREPATH_CONFIG_DIR": str(config_dir)})
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert [r["visit_type"] for r in plan][:2] == ["evaluation", "aquatic"]
    assert plan[0]["earliest"] == "2027-03-01"


@pytest.mark.parametrize(("args", "line", "code"), [
    (["post-relapse", "--start", "2027-02-30"],
     "error: --start: '2027-02-30' is not a date — write it as YYYY-MM-DD", 2),
    (["post-relapse", "--start", "next monday"],
     "error: --start: 'next monday' is not a date — write it as YYYY-MM-DD", 2),
    (["post-relaps", "--start", "2027-03-01"],
     "error: no pathway 'post-relaps' — known pathways: post-relapse, progression-review, "
     "stable-boosters", 3),
])
def test_pathways_show_with_a_mistake_is_one_line_and_a_non_zero_exit(
    args: list[str], line: str, code: int, config_dir: Path
) -> None:
    """A bad date or an unknown pathway: one line saying what and how to fix it."""
    result = invoke("pathways", "show", *args, env={"CAREPATH_CONFIG_DIR": str(config_dir)})
    assert result.exit_code == code
    assert result.output.strip().splitlines() == [line]


def test_pathways_list_as_json_names_each_pathway_once(config_dir: Path) -> None:
    """Every configured pathway with its version and transitions."""
    result = invoke("pathways", "list", "--format", "json",
                    env={"CAREPATH_CONFIG_DIR": str(config_dir)})
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == ["post-relapse", "progression-review", "stable-boosters"]
    assert rows[0]["on_complete"] == "stable-boosters"


def test_every_config_command_has_help() -> None:
    """--help works on each command and names what it does."""
    for args in (["config", "validate"], ["pathways", "show"], ["pathways", "list"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0 and "Usage" in result.output
