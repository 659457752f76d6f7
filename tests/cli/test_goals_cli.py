"""The goals commands through the CLI runner: record, see verdicts, review, escalations, report."""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepath.adapters.clock import SystemClock
from carepath.bootstrap import open_app
from carepath.cli import app as cli
from carepath.config.settings import Settings
from database_templates import copy_sqlite

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, config_dir: Path, sqlite_template: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh CAREPATH_HOME with one active post-relapse episode (id 1) for patient MRN1."""
    from goal_helpers import active_episode

    home = tmp_path / "home"
    copy_sqlite(sqlite_template, home / "carepath.db")
    monkeypatch.setenv("CAREPATH_HOME", str(home))
    monkeypatch.setenv("CAREPATH_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("CAREPATH_DATABASE_URL", raising=False)
    app = open_app(Settings(home=home, config_dir=config_dir,
                            database_url=f"sqlite:///{home / 'carepath.db'}"), SystemClock())
    assert active_episode(app) == 1
    app.engine.dispose()
    yield home


def _run(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _days_ago(days: int) -> str:
    # the CLI runs on the wall clock, so "when taken" must be in the real past
    return (SystemClock().now() - timedelta(days=days)).isoformat(timespec="minutes")


def test_a_therapist_records_values_and_sees_goals_classified(home: Path) -> None:
    """Berg 40 then 43 shows as achieved; `goals list --format json` says so."""
    assert "pending" in _run("measure", "record", "1", "bbs", "40", "--at", _days_ago(14))
    assert "achieved" in _run("measure", "record", "1", "bbs", "43", "--at", _days_ago(1))
    goals = {g["measure"]: g for g in json.loads(_run("goals", "list", "1", "--format", "json"))}
    assert goals["bbs"]["verdict"] == "achieved" and goals["t25fw"]["verdict"] == "pending"


def test_a_typo_is_one_line_and_no_traceback(home: Path) -> None:
    """A T25FW of 900 s exits non-zero with one clear line."""
    result = runner.invoke(cli, ["measure", "record", "1", "t25fw", "900"])
    assert result.exit_code == 2
    assert "outside the valid range" in result.output and "Traceback" not in result.output


def test_review_escalates_a_stall_once_and_lists_it(home: Path) -> None:
    """Two planned reviews without change open one escalation; a second review opens none."""
    for value, days in (("40", 30), ("41", 20), ("40", 10)):
        _run("measure", "record", "1", "bbs", value, "--at", _days_ago(days))
    assert "1 new escalation" in _run("review")
    assert "0 new escalation" in _run("review", "--episode", "1")
    [listed] = json.loads(_run("escalations", "list", "--format", "json"))
    assert (listed["level"], listed["kind"]) == (1, "stall")
    [as_json] = json.loads(_run("escalations", "show", str(listed["id"]), "--format", "json"))
    assert as_json["evidence"]["notify_therapist"] == "chen"
    review = json.loads(_run("review", "--format", "json"))
    assert review[0]["episodes"] == 1 and review[0]["escalations"] == []
    shown = _run("escalations", "show", str(listed["id"]))
    assert "Berg Balance Scale: baseline 40 points" in shown
    assert "dismissed" in _run("escalations", "dismiss", str(listed["id"]), "--reason",
                               "expected plateau")


def test_recovery_reports_need_yes_or_no(home: Path) -> None:
    """`recovery record 1 --no` records a failure; without a flag it asks for one."""
    assert "NOT recovered" in _run("recovery", "record", "1", "--no")
    assert runner.invoke(cli, ["recovery", "record", "1"]).exit_code == 2


def test_the_report_is_one_offline_html_file_with_charts(home: Path, tmp_path: Path) -> None:
    """The report holds an inline SVG chart per goal and escapes what it shows."""
    _run("measure", "record", "1", "bbs", "40", "--at", _days_ago(14))
    _run("measure", "record", "1", "bbs", "44", "--at", _days_ago(2))
    out = tmp_path / "report.html"
    _run("report", "episode", "1", "-o", str(out))
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "target 43" in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
