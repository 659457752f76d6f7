"""Migrations and the table definitions never drift apart, and upgrades keep data."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import carepath.adapters.tables  # noqa: F401
from carepath.adapters.db import make_engine, upgrade


def test_migrated_schema_matches_the_tables(db_url: str) -> None:
    """After `db upgrade`, autogenerate finds nothing left to migrate."""
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_from_the_first_revision_keeps_rows(db_url: str) -> None:
    """A database made by the first release upgrades to head without losing a patient."""
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO patient (id, name, preferred_weekdays, time_windows, heat_sensitive, "
            "caregiver_consent, created_at, updated_at) VALUES "
            "('MRN9', 'Old Row', '', '', false, false, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    upgrade(engine)
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM patient")]
    engine.dispose()
    assert names == ["Old Row"]
