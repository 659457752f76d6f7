"""The PostgreSQL copies the suite hands out: a used one, emptied for the next test, must be
what a new copy is — no rows, sequences at their start, the template's schema — or be
replaced. (tests/database_templates.py; the suite's PostgreSQL cases all stand on it.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from carepath.adapters.clock import FixedClock
from carepath.bootstrap import open_app
from carepath.config.settings import Settings
from carepath.domain.config.models import Config
from carepath.services.patients import add_patient
from carepath.services.scheduling import enroll
from database_templates import PostgresTemplate

pytestmark = pytest.mark.postgres

ROWS = """SELECT sum((xpath('/row/n/text()',
                   query_to_xml('SELECT count(*) AS n FROM ' || quote_ident(tablename),
                                false, true, '')))[1]::text::int)
            FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"""


@pytest.fixture
def template() -> Iterator[PostgresTemplate]:
    """A template of its own, so the copies it hands out are this test's to inspect."""
    from availability import postgres_url

    made = PostgresTemplate(postgres_url())
    yield made
    made.close()


def _run(url: str, statement: str) -> object:
    """``statement`` in a transaction of its own; its first value, if it returns rows."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def test_a_copy_used_by_an_enrolment_comes_back_empty_with_its_sequences_restarted(
        template: PostgresTemplate, tmp_path: Path, config_dir: Path, config: Config,
        clock: FixedClock) -> None:
    with template.fresh() as url:
        app = open_app(Settings(home=tmp_path, config_dir=config_dir, database_url=url,
                                actor="test"), clock, config=config)
        add_patient(app, {"id": "MRN1", "name": "Jane Doe", "email": "jane@example.org"})
        enroll(app, "MRN1", "post-relapse", date(2027, 3, 1))
        app.engine.dispose()
        assert isinstance(rows := _run(url, ROWS), int) and rows > 20  # visits, mail, audit
        used = url
    with template.fresh() as url:
        assert url == used  # emptied, not copied again
        assert _run(url, ROWS) == 0
        assert _run(url, "SELECT nextval('episode_id_seq')") == 1
        assert _run(url, "SELECT version_num FROM alembic_version") is not None


@pytest.mark.parametrize("change", [
    "CREATE INDEX patient_name_test ON patient (name)",
    "UPDATE alembic_version SET version_num = '0001'",
    "ALTER TABLE episode ALTER COLUMN state DROP NOT NULL",
])
def test_a_copy_whose_schema_a_test_changed_is_replaced(
        template: PostgresTemplate, change: str) -> None:
    with template.fresh() as url:
        _run(url, change)
        used = url
    with template.fresh() as url:
        assert url != used
        assert _run(url, "SELECT count(*) FROM pg_indexes "
                            "WHERE indexname = 'patient_name_test'") == 0
        assert _run(url, "SELECT version_num FROM alembic_version") != "0001"
