"""Shared fixtures: the example config, a fixed clock, and databases (SQLite always,
PostgreSQL when ``CAREPATH_TEST_POSTGRES_URL`` is set — otherwise those cases skip, saying why).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

# Tests set their own terminal width per command; an inherited one (pytest-xdist workers get
# COLUMNS=80) would be frozen into the CLI's console when it is first imported.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)
# A rich Console keeps the COLUMNS it saw when it was made. The CLI's consoles are made when
# carepath.cli.common is first imported, which (commands import lazily) could be inside a
# test's command run with COLUMNS=100, freezing every later test at 100: make them now.
import carepath.cli.common  # noqa: E402,F401

# Prefect must never reach out or start a server by accident inside unit tests.
_PREFECT_HOME = tempfile.mkdtemp(prefix="carepath-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME  # never the user's Prefect home
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The flows use no Prefect blocks: registering Prefect's own is seconds of the server's start.
os.environ.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from hypothesis import settings as hypothesis_settings  # noqa: E402

# Property tests explore new inputs on a developer's machine; in CI they replay a fixed
# sequence, so a landing never depends on luck (`HYPOTHESIS_PROFILE=dev` to explore).
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None,
                                     print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None, print_blob=True)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

from availability import postgres_url  # noqa: E402
from carepath.adapters.clock import FixedClock  # noqa: E402
from carepath.bootstrap import open_app  # noqa: E402
from carepath.config.loader import load_config  # noqa: E402
from carepath.config.resources import bundled_config_dir  # noqa: E402
from carepath.config.settings import Settings  # noqa: E402
from carepath.demo import DemoResult, run_demo  # noqa: E402
from carepath.domain.config.models import Config  # noqa: E402
from carepath.services import App  # noqa: E402
from carepath.testing import postgres_schema  # noqa: E402
from database_templates import PostgresTemplate, copy_sqlite, migrated_sqlite_file  # noqa: E402

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="session")
def config_dir() -> Path:
    return bundled_config_dir()


@pytest.fixture(scope="session")
def config(config_dir: Path) -> Config:
    return load_config(config_dir)


@pytest.fixture
def clock() -> FixedClock:
    """Monday 2027-03-01, 07:00 in New York."""
    return FixedClock(datetime(2027, 3, 1, 7, 0, tzinfo=NEW_YORK))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at head, migrated once per pytest process (see database_templates)."""
    return migrated_sqlite_file(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    """A PostgreSQL database at head, migrated once per pytest process; tests get copies."""
    template = PostgresTemplate(postgres_url())
    yield template
    template.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path,
           sqlite_template: Path) -> Iterator[str]:
    """A fresh database at the newest schema, with no rows: SQLite in a temp folder, or a
    PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield copy_sqlite(sqlite_template, tmp_path / "carepath.db")
        return
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    with template.fresh() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, no schema at all (for the migrations' own tests): SQLite in a temp
    folder, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'carepath.db'}"
        return
    with postgres_schema(postgres_url()) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, config_dir: Path, sqlite_template: Path) -> Settings:
    """A home whose SQLite database is fresh, at the newest schema."""
    home = tmp_path / "home"
    url = copy_sqlite(sqlite_template, home / "carepath.db")
    return Settings(home=home, config_dir=config_dir, database_url=url, actor="test")


@pytest.fixture
def app(settings: Settings, config: Config, clock: FixedClock) -> Iterator[App]:
    """The app on a fresh SQLite database with the example config and a fixed clock."""
    application = open_app(settings, clock, config=config)
    yield application
    application.engine.dispose()


@pytest.fixture
def any_app(db_url: str, tmp_path: Path, config_dir: Path, config: Config,
            clock: FixedClock) -> Iterator[App]:
    """The app on each database backend (PostgreSQL when configured)."""
    home = tmp_path / "home-any"
    application = open_app(Settings(home=home, config_dir=config_dir, database_url=db_url,
                                    actor="test"), clock, config=config)
    yield application
    application.engine.dispose()


@pytest.fixture(scope="session")
def lived_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoResult]:
    """The example clinic lived through by the demo for six weeks, through the engine: thirty
    patients enrolled, visits, measurements, messages, a stall escalated to level 2 and a
    relapse in week 6. Built once per run (its tests share one xdist group); read-only."""
    home = tmp_path_factory.mktemp("demo") / "var-demo"
    result = run_demo(home, start=date(2027, 3, 1), seed=7, weeks=6, say=lambda _line: None)
    result.app.engine.dispose()  # folds the write-ahead log in: a copy of home is whole
    yield result
    result.app.engine.dispose()


@pytest.fixture(scope="session")
def browser_context() -> Iterator[object]:
    """One Chromium for the session (see tests/browser_support.py); tests open their own pages."""
    from browser_support import chromium

    with chromium() as context:
        yield context


# Folders (or files) whose tests share one expensive session fixture: each runs on one
# pytest-xdist worker, so the fixture is built once per run, not once per worker.
SHARED_FIXTURE_GROUPS = {
    "flows": "demo",  # one Prefect server, and the demo lived through (lived_demo)
    "fhir": "demo",  # the same six weeks of the demo, exported
    "docs": "demo",  # its home: every documented command runs against a copy
    "web": "browser",  # one Chromium (browser_context) and one web clinic (clinic_template)
    "adapters/test_email_layout_browser.py": "browser",  # the same Chromium
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marker into the group
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.removeprefix("tests/").split("::", 1)[0]
        group = SHARED_FIXTURE_GROUPS.get(path) or SHARED_FIXTURE_GROUPS.get(
            path.split("/", 1)[0])
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_finish(session: pytest.Session) -> None:
    """A grouped test without its group suffix means pytest-xdist silently stopped grouping
    (it did on pytest 9.2): every worker would then build the shared fixtures again."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"pytest-xdist ignored the xdist_group of {lost[0]} and "
                                f"{len(lost) - 1} more tests: check the pytest pin")
