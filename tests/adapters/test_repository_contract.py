"""The storage contract, run on SQLite and (when configured) PostgreSQL."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from carepath.adapters.db import current_revision, transaction
from carepath.adapters.tables import (
    AppointmentRow,
    AuditRow,
    EpisodeRow,
    ResourceRow,
    TherapistRow,
)
from carepath.services import App
from carepath.services.patients import add_patient, get_patient


def _patient(app: App, ident: str = "MRN1") -> None:
    add_patient(app, {"id": ident, "name": "Jane Doe", "email": "jane@example.org",
                      "preferred_weekdays": "mon,wed", "time_windows": "08:00-11:00",
                      "heat_sensitive": "yes"})


def test_schema_is_at_the_latest_migration(any_app: App) -> None:
    """Opening the app upgrades an empty database to the head revision."""
    assert current_revision(any_app.engine) is not None
    names = set(inspect(any_app.engine).get_table_names())
    assert {"patient", "episode", "appointment", "outbox", "audit", "escalation"} <= names


def test_config_is_synced_into_tables(any_app: App) -> None:
    """Therapists and rooms from clinic.yaml exist as rows for foreign keys."""
    with transaction(any_app.engine) as session:
        therapists = {t.id for t in session.exec(select(TherapistRow))}
        resources = {r.id: r.capacity for r in session.exec(select(ResourceRow))}
    assert therapists == {t.id for t in any_app.config.clinic.therapists}
    assert resources["gym"] == 4


def test_patient_round_trips_with_preferences(any_app: App) -> None:
    """A stored patient reads back equal, preferences included."""
    _patient(any_app)
    patient = get_patient(any_app, "MRN1")
    assert patient.preferred_weekdays == (0, 2) and patient.heat_sensitive
    assert str(patient.time_windows[0]) == "08:00-11:00"


def test_aware_datetimes_come_back_as_the_same_instant_in_utc(any_app: App) -> None:
    """A New York wall time is stored as UTC and returned aware."""
    _patient(any_app)
    start = datetime(2027, 3, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    with transaction(any_app.engine) as session:
        episode = EpisodeRow(patient_id="MRN1", pathway_id="post-relapse", pathway_version=1,
                             start_date=date(2027, 3, 15), created_at=start, updated_at=start)
        session.add(episode)
        session.flush()
        session.add(AppointmentRow(uid="u-1", episode_id=episode.id, patient_id="MRN1",
                                   therapist_id="chen", visit_type="treatment",
                                   visit_name="Treatment", start_utc=start,
                                   end_utc=start + timedelta(minutes=45),
                                   created_at=start, updated_at=start))
    with transaction(any_app.engine) as session:
        row = session.exec(select(AppointmentRow)).one()
    assert row.start_utc == start
    assert row.start_utc.tzinfo == UTC
    assert row.start_utc.hour == 13  # 09:00 EDT


def test_naive_datetimes_are_refused_by_storage(any_app: App) -> None:
    """Storage rejects a datetime without a zone instead of guessing one."""
    with pytest.raises(Exception, match="naive"), transaction(any_app.engine) as session:
        session.add(AuditRow(at=datetime(2027, 1, 1), actor="x", action="x", entity="x",
                             entity_id="1"))
        session.flush()


def test_foreign_keys_are_enforced(any_app: App) -> None:
    """An episode for an unknown patient is refused on both backends."""
    now = any_app.clock.now()
    with pytest.raises(Exception, match="(?i)foreign"), transaction(any_app.engine) as session:
        session.add(EpisodeRow(patient_id="ghost", pathway_id="p", pathway_version=1,
                               start_date=date(2027, 1, 1), created_at=now, updated_at=now))
        session.flush()


def test_every_change_is_audited_with_who_and_when(any_app: App) -> None:
    """Adding a patient leaves an audit row naming the actor and the time."""
    _patient(any_app)
    with transaction(any_app.engine) as session:
        audit = session.exec(select(AuditRow)).all()
    assert [(a.action, a.actor, a.entity_id) for a in audit] == [("patient.create", "test", "MRN1")]
    assert audit[0].at == any_app.clock.now()
