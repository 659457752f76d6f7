"""Migrations and the table definitions never drift apart, and upgrades keep data."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel

import carepath.adapters.tables  # noqa: F401
from carepath.adapters.db import make_engine, upgrade


def test_migrated_schema_matches_the_tables(empty_db_url: str) -> None:
    """After `db upgrade`, autogenerate finds nothing left to migrate."""
    engine = make_engine(empty_db_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_from_the_first_revision_keeps_rows(empty_db_url: str) -> None:
    """A database made by the first release upgrades to head without losing a patient."""
    engine = make_engine(empty_db_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        _insert_patient(conn, "MRN9", "Old Row")
    upgrade(engine)
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM patient")]
    engine.dispose()
    assert names == ["Old Row"]


def _insert_patient(conn: Connection, patient_id: str, name: str) -> None:
    """A patient row written as the first revision's schema has it (raw SQL, no models)."""
    conn.exec_driver_sql(
        "INSERT INTO patient (id, name, preferred_weekdays, time_windows, heat_sensitive, "
        "caregiver_consent, created_at, updated_at) VALUES "
        f"('{patient_id}', '{name}', '', '', false, false, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')")


def test_upgrade_to_0006_floors_booking_times_to_the_minute(empty_db_url: str) -> None:
    """A visit stored with seconds (typed by hand before times were checked) is read by the
    engine as its minute; migration 0006 stores it so, and touching visits still touch."""
    engine = make_engine(empty_db_url)
    upgrade(engine, "0005")
    with engine.begin() as conn:
        _insert_patient(conn, "MRN9", "P")
        conn.exec_driver_sql(
            "INSERT INTO therapist (id, name, email, skills, senior, active) "
            "VALUES ('t1', 'T', 't@example.org', '', false, true)")
        for ident, start, end in ((1, "2027-03-01 14:00:30.250000", "2027-03-01 14:45:30"),
                                  (2, "2027-03-01 14:45:30", "2027-03-01 15:30:00")):
            conn.exec_driver_sql(
                "INSERT INTO appointment (id, uid, patient_id, therapist_id, visit_type, "
                "visit_name, seq, start_utc, end_utc, status, sequence, fixed, "
                "caregiver_invited, created_at, updated_at) VALUES "
                f"({ident}, 'u{ident}', 'MRN9', 't1', 'v', 'V', {ident}, '{start}', '{end}', "
                "'booked', 0, false, false, '2027-01-01 00:00:00', '2027-01-01 00:00:00')")
    upgrade(engine)
    with engine.connect() as conn:
        times = [(str(s)[:19], str(e)[:19]) for s, e in conn.exec_driver_sql(
            "SELECT start_utc, end_utc FROM appointment ORDER BY id")]
    engine.dispose()
    assert times == [("2027-03-01 14:00:00", "2027-03-01 14:45:00"),
                     ("2027-03-01 14:45:00", "2027-03-01 15:30:00")]


def test_head_constant_is_alembics_head_and_skips_alembic_when_current(empty_db_url: str) -> None:
    """``ensure_schema`` trusts ``HEAD``: it must name the newest migration, and a database
    at head is left alone, one below is upgraded."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from carepath.adapters.db import HEAD, MIGRATIONS, ensure_schema, stored_revision

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD
    engine = make_engine(empty_db_url)
    assert stored_revision(engine) is None
    upgrade(engine, "0005")
    ensure_schema(engine)
    assert stored_revision(engine) == HEAD
    ensure_schema(engine)
    engine.dispose()


def test_upgrade_to_0013_claims_running_episodes_and_reports_duplicates(
        empty_db_url: str, capsys: object) -> None:
    """Each running episode claims its pathway's lane; a second running episode of the same
    pathway for one patient is left unclaimed and named, for `carepath episodes repair`."""
    import pytest

    engine = make_engine(empty_db_url)
    upgrade(engine, "0012")
    with engine.begin() as conn:
        _insert_patient(conn, "MRN9", "P")
        for ident, state in ((1, "active"), (2, "active"), (3, "finished"), (4, "on_hold")):
            conn.exec_driver_sql(
                "INSERT INTO episode (id, patient_id, pathway_id, pathway_version, state, "
                "start_date, note, created_at, updated_at) VALUES "
                f"({ident}, 'MRN9', 'stable-boosters', 1, '{state}', '2027-03-0{ident}', '', "
                "'2027-01-01 00:00:00', '2027-01-01 00:00:00')")
    upgrade(engine)
    with engine.connect() as conn:
        claims = list(conn.exec_driver_sql(
            "SELECT episode_id, lane FROM episode_claim WHERE released_at IS NULL"))
    engine.dispose()
    assert [tuple(c) for c in claims] == [(1, "stable-boosters")]
    assert isinstance(capsys, pytest.CaptureFixture)
    assert ("1 duplicate(s) left for `carepath episodes repair`: episode 2 (MRN9, "
            "stable-boosters) beside episode 1") in capsys.readouterr().err
