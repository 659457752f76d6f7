"""`carepath episodes list` and `carepath runs list` from the shell."""

import json
from datetime import date

from typer.testing import CliRunner

from carepath.cli import app as cli
from carepath.services import App
from carepath.services.patients import add_patient
from carepath.services.runs import recorded_run
from carepath.services.scheduling import enroll


def _env(app: App) -> dict[str, str]:
    return {"CAREPATH_HOME": str(app.settings.home),
            "CAREPATH_CONFIG_DIR": str(app.settings.config_dir)}


def test_episodes_list_counts_each_episodes_visits_by_status(app: App) -> None:
    """The booked column is the number of visits the enrolment booked."""
    add_patient(app, {"id": "MRN8", "name": "Count Me", "email": "cm@example.org"})
    enrolment = enroll(app, "MRN8", "post-relapse", date(2027, 3, 2), partial=True)
    result = CliRunner().invoke(cli, ["episodes", "list", "--format", "json"], env=_env(app))
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["id"], row["state"]) == (enrolment.episode_id, "active")
    assert (row["booked"], row["completed"]) == (len(enrolment.appointment_ids), 0)


def test_runs_list_shows_a_failed_run_with_its_error(app: App) -> None:
    """An admin sees the failure and its reason, not only a log line."""
    try:
        with recorded_run(app, "dispatch_outbox", "dispatch"):
            raise OSError("mail folder is read-only")
    except OSError:
        pass
    result = CliRunner().invoke(cli, ["runs", "list", "--status", "failed", "--format", "json"],
                                env=_env(app))
    assert result.exit_code == 0, result.output
    [run] = json.loads(result.output)
    assert run["flow"] == "dispatch_outbox" and "read-only" in run["error"]
