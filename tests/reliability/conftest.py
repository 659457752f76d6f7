"""Fixtures for the reliability suite, and the gate that keeps its long runs (marked
``slow``) out of the default ``make test``: ``make reliability`` sets
``CAREPATH_RELIABILITY=full``; without it, ``slow`` tests here skip and say so, but for
those marked ``quick_size`` (the process races), which ``make slow`` and CI run at their quick size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import FIXED_START, Cli, postgres_schema
from typer.testing import CliRunner

from carepath.adapters.clock import FixedClock
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.services import App

FULL_RUN = os.environ.get("CAREPATH_RELIABILITY") == "full"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="slow reliability run: use make reliability")
    for item in items:
        long_run = "slow" in item.keywords and "quick_size" not in item.keywords
        if not FULL_RUN and long_run and HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


@pytest.fixture
def cli(tmp_path: Path, config_dir: Path) -> Cli:
    """The carepath CLI on a fresh home folder (SQLite), the example config."""
    return Cli(tmp_path / "cli-home", config_dir, CliRunner())


@pytest.fixture(scope="module")
def module_cli(tmp_path_factory: pytest.TempPathFactory, config_dir: Path) -> Cli:
    """The carepath CLI on one home folder per module (migrations run once)."""
    return Cli(tmp_path_factory.mktemp("cli-home"), config_dir, CliRunner())


def _open(home: Path, url: str, config: Config, actor: str) -> App:
    settings = Settings(home=home, config_dir=Path(), database_url=url, actor=actor)
    return open_app(settings, FixedClock(FIXED_START), config=config)


@pytest.fixture(scope="module")
def module_app(tmp_path_factory: pytest.TempPathFactory, config: Config) -> Iterator[App]:
    """One SQLite app per module (hypothesis rejects function-scoped fixtures)."""
    home = tmp_path_factory.mktemp("module-home")
    application = _open(home, f"sqlite:///{home}/c.db", config, "fuzz")
    yield application
    application.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                               marks=pytest.mark.postgres)])
def backend_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                config: Config) -> Iterator[App]:
    """One app per module and backend: SQLite, and PostgreSQL when configured."""
    home = tmp_path_factory.mktemp("backend-home")
    if request.param == "sqlite":
        application = _open(home, f"sqlite:///{home}/c.db", config, "corpus")
        yield application
        application.engine.dispose()
        return
    with postgres_schema() as url:
        application = _open(home, url, config, "corpus")
        yield application
        application.engine.dispose()
