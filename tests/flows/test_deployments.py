"""prefect.yaml: written from the clinic's config, one run at a time, no patient data."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml
from prefect.cli.deploy._models import PrefectYamlModel
from prefect.cli.deploy._triggers import _initialize_deployment_triggers

import flows
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.services import App
from carepath.services.deployments import prefect_yaml

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"CAREPATH_HOME": str(tmp_path), **env})


def test_the_checked_in_prefect_yaml_is_the_generated_one(tmp_path: Path,
                                                          config: Config) -> None:
    """`carepath deployments > prefect.yaml` for the bundled clinic gives the file we ship."""
    expected = prefect_yaml(_settings(tmp_path), config.clinic.timezone)
    assert (ROOT / "prefect.yaml").read_text() == expected


def test_prefect_reads_every_deployment_with_a_concurrency_limit(tmp_path: Path,
                                                                 config: Config) -> None:
    """Prefect's own model accepts the file; each deployment runs one at a time, a timed
    sweep cancelling a run that collides and an episode event waiting its turn."""
    text = prefect_yaml(_settings(tmp_path), config.clinic.timezone)
    model = PrefectYamlModel.model_validate(yaml.safe_load(text))
    by_name = {d.name: d for d in model.deployments}
    strategies = {name: (d.concurrency_limit.limit, d.concurrency_limit.collision_strategy)
                  for name, d in by_name.items() if not isinstance(d.concurrency_limit, int)
                  and d.concurrency_limit is not None}
    assert set(strategies) == set(by_name)
    assert strategies["dispatch-outbox"] == (1, "CANCEL_NEW")
    assert strategies["report-relapse"] == (1, "ENQUEUE")
    [trigger] = _initialize_deployment_triggers("report-problem",
                                                by_name["report-problem"].triggers or [])
    assert {"prefect.flow-run.Failed", "prefect.flow-run.Late"} <= set(trigger.expect)


def test_times_follow_the_clinic_zone_and_serve_settings(tmp_path: Path) -> None:
    """A clinic in Berlin with daily sweeps at 05:55 gets Berlin cron schedules, rolled over
    the hour, and the dispatch interval serve uses."""
    settings = _settings(tmp_path, CAREPATH_DAILY_AT="05:55", CAREPATH_DISPATCH_SECONDS="20")
    model = yaml.safe_load(prefect_yaml(settings, "Europe/Berlin"))
    schedules = {d["name"]: d.get("schedules", [{}])[0] for d in model["deployments"]}
    assert schedules["review-goals"] == {"cron": "55 5 * * *", "timezone": "Europe/Berlin"}
    assert schedules["extend-boosters"]["cron"] == "0 6 * * *"
    assert schedules["dispatch-outbox"] == {"interval": 20}
    assert "New_York" not in prefect_yaml(settings, "Europe/Berlin")


def test_no_flow_takes_an_mrn_as_a_parameter() -> None:
    """Flow parameters are stored on the Prefect server: internal numbers only."""
    for name in flows.__all__:
        parameters = inspect.signature(getattr(flows, name).fn).parameters
        assert not {"patient_id", "mrn", "name", "email"} & set(parameters), name


def test_every_sweep_is_timed_by_serve_and_by_a_deployment(app: App, tmp_path: Path) -> None:
    """A sweep added to carepath runs under either orchestrator, never under only one."""
    from carepath.entrypoints.serve import sweeps
    from carepath.services.deployments import deployments
    from carepath.services.sweeps import SWEEPS

    assert {sweep.name for sweep in sweeps(app)} == set(SWEEPS)
    timed = {d.entrypoint.rsplit(":", 1)[1] for d in deployments(_settings(tmp_path), "UTC")
             if d.schedule}
    assert timed == set(SWEEPS)
