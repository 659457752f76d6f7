"""``carepath fhir import FILE``: patients, referrals and restored records, all or nothing.

Every resource is parsed and checked first (``importing.plan_import`` plus the checks that
need the config and the database); any problem stops the import with every problem listed,
each named by resource and JSON path, and nothing written. Then one transaction writes the
patients (created or updated in place), restores the episodes, appointments and
measurements of a carepath export (keeping carepath's ids, so a second import updates them),
and enrols each referral with the scheduling engine in that same transaction: a referral that
cannot be booked rolls everything back. A referral whose episode exists (same patient,
pathway and first day) is left alone, so importing the same file twice enrols once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, text
from sqlmodel import Session, SQLModel, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    MeasurementRow,
    PatientRow,
    ResourceBookingRow,
)
from carepath.domain.appointments import ACTIVE_STATUSES
from carepath.domain.scheduling import schedule_episode
from carepath.domain.scheduling.planning import plan_episode
from carepath.errors import CarepathError, InputError
from carepath.fhir.importing import (
    ImportPlan,
    Referral,
    RestoredAppointment,
    RestoredEpisode,
    RestoredMeasurement,
    plan_import,
)
from carepath.services import App
from carepath.services.booking_store import clinic_with_leave, clinic_zone, load_busy
from carepath.services.enrolment_store import (
    check_start,
    no_slot_error,
    not_before,
    save_enrolment,
)
from carepath.services.patients import from_row, to_row

MAX_BYTES = 200_000_000
CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
RowT = TypeVar("RowT", bound=SQLModel)


@dataclass
class FhirImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    episodes: int = 0
    appointments: int = 0
    measurements: int = 0
    enrolled: list[int] = field(default_factory=list)
    already_enrolled: int = 0
    ignored: dict[str, int] = field(default_factory=dict)


def read_document(path: Path) -> Any:
    if not path.is_file():
        raise InputError(str(path), "file not found", "check the path")
    if path.stat().st_size > MAX_BYTES:
        raise InputError(str(path), f"larger than {MAX_BYTES // 1_000_000} MB",
                         "split the bundle")
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(str(path), f"not FHIR JSON ({error})",
                         "export the bundle as JSON (application/fhir+json)") from None


def import_file(app: App, path: Path) -> FhirImportResult:
    return import_document(app, read_document(path), source=path.name)


def import_document(app: App, document: Any, *, source: str = "bundle") -> FhirImportResult:
    """Import a Bundle or one resource (see the module docstring)."""
    plan = plan_import(document, measure_ids=set(app.config.measures))
    with transaction(app.engine) as session:
        stored = _stored(session, plan)
        plan.problems += _check(app, stored, plan)
        if plan.problems:
            raise InputError(source, f"{len(plan.problems)} problem(s), nothing imported:\n  "
                             + "\n  ".join(plan.problems), "fix the resources and import again")
        result = FhirImportResult(ignored=plan.ignored)
        _save_patients(app, session, stored, plan, result)
        for episode in sorted(plan.episodes, key=lambda e: e.id):
            _save_episode(app, session, stored, episode)
        session.flush()
        _save_appointments(app, session, stored, plan.appointments)
        for reading in plan.measurements:
            _save_measurement(session, stored, reading)
        session.flush()
        result.episodes, result.appointments = len(plan.episodes), len(plan.appointments)
        result.measurements = len(plan.measurements)
        _advance_sequences(session)
        for referral in plan.referrals:
            _enrol(app, session, referral, result)
        app.audit(session, "fhir.import", "bundle", source, created=result.created,
                  updated=result.updated, enrolled=result.enrolled, episodes=result.episodes,
                  appointments=result.appointments, measurements=result.measurements)
    return result


# -- what the database already holds ------------------------------------------------------------

@dataclass
class _Stored:
    """The rows the document names that the database already holds, read up front in a few
    queries (a restore of a clinic is thousands of resources: one lookup each was most of
    its time). Rows are the session's own, so updating one updates the database."""

    patients: dict[str, PatientRow]
    episodes: dict[int, EpisodeRow]
    appointments: dict[int, AppointmentRow]
    appointment_by_uid: dict[str, AppointmentRow]
    measurements: dict[int, MeasurementRow]


def _stored(session: Session, plan: ImportPlan) -> _Stored:
    patient_ids = {p.id for _, p in plan.patients if p is not None}
    patient_ids |= {r.patient_id for r in plan.referrals}
    patient_ids |= {e.patient_id for e in plan.episodes} | {a.patient_id
                                                           for a in plan.appointments}
    episode_ids = {e.id for e in plan.episodes} | {m.episode_id for m in plan.measurements}
    episode_ids |= {a.episode_id for a in plan.appointments if a.episode_id is not None}
    return _Stored(
        patients=_by(session, PatientRow, "id", patient_ids),
        episodes=_by(session, EpisodeRow, "id", episode_ids),
        appointments=_by(session, AppointmentRow, "id",
                         {a.id for a in plan.appointments}),
        appointment_by_uid=_by(session, AppointmentRow, "uid",
                               {a.uid for a in plan.appointments}),
        measurements=_by(session, MeasurementRow, "id",
                         {m.id for m in plan.measurements}))


def _by(session: Session, model: type[RowT], key: str, values: Iterable[Any]
        ) -> dict[Any, RowT]:
    """The rows of ``model`` whose column ``key`` is one of ``values``, by that key (CHUNK
    values a query)."""
    column, wanted, found = col(getattr(model, key)), sorted(values), {}
    for start in range(0, len(wanted), CHUNK):
        for row in session.exec(select(model).where(column.in_(wanted[start:start + CHUNK]))):
            found[getattr(row, key)] = row
    return found


# -- checks that need the config or the database -----------------------------------------------

def _check(app: App, stored: _Stored, plan: ImportPlan) -> list[str]:
    problems: list[str] = []
    bundle_patients = {p.id for _, p in plan.patients if p is not None}
    episodes = {e.id: e.patient_id for e in plan.episodes}

    def patient_known(patient_id: str) -> bool:
        return patient_id in bundle_patients or patient_id in stored.patients

    def episode_known(episode_id: int) -> bool:
        return episode_id in episodes or episode_id in stored.episodes

    therapists = {t.id for t in app.config.clinic.therapists}
    resources = {r.id for r in app.config.clinic.resources}
    for r in plan.referrals:
        problems += [f"{r.where}.{p}" for p in _referral_problems(app, r, therapists)]
        if not patient_known(r.patient_id):
            problems.append(f"{r.where}.subject: patient {r.patient_id} is neither in the "
                            "bundle nor in carepath")
    for e in plan.episodes:
        problems += [f"{e.where}.{p}" for p in _episode_problems(app, stored, e, therapists)]
        if not patient_known(e.patient_id):
            problems.append(f"{e.where}.patient: patient {e.patient_id} is not in the bundle")
    for a in plan.appointments:
        problems += [f"{a.where}.{p}" for p in _appointment_problems(stored, a, therapists,
                                                                     resources)]
        if not patient_known(a.patient_id):
            problems.append(f"{a.where}.participant: patient {a.patient_id} is not in the bundle")
        if a.episode_id is not None and not episode_known(a.episode_id):
            problems.append(f"{a.where}.supportingInformation: episode {a.episode_id} is "
                            "not in the bundle")
    for m in plan.measurements:
        if not episode_known(m.episode_id):
            problems.append(f"{m.where}.basedOn: episode {m.episode_id} is not in the bundle")
        existing = stored.measurements.get(m.id)
        if existing is not None and existing.episode_id != m.episode_id:
            problems.append(f"{m.where}.identifier: measurement {m.id} belongs to another "
                            "episode here; restore into an empty database")
    return problems


def _referral_problems(app: App, r: Referral, therapists: set[str]) -> list[str]:
    problems = []
    if r.pathway_id not in app.config.pathways:
        problems.append(f"code: pathway {r.pathway_id!r} is not configured (known: "
                        f"{', '.join(sorted(app.config.pathways))})")
    if r.therapist_id is not None and r.therapist_id not in therapists:
        problems.append(f"performer: therapist {r.therapist_id!r} is not in the clinic config")
    try:
        check_start(app, r.start)
    except InputError as error:
        problems.append(f"occurrenceDateTime: {error.why}; {error.fix}")
    return problems


def _episode_problems(app: App, stored: _Stored, e: RestoredEpisode,
                      therapists: set[str]) -> list[str]:
    problems = []
    if e.pathway_id not in app.config.pathways:
        problems.append(f"extension(pathway): pathway {e.pathway_id!r} is not configured")
    if e.therapist_id is not None and e.therapist_id not in therapists:
        problems.append(f"careManager: therapist {e.therapist_id!r} is not in the clinic config")
    existing = stored.episodes.get(e.id)
    if existing is not None and existing.patient_id != e.patient_id:
        problems.append(f"identifier: episode {e.id} belongs to another patient here; "
                        "restore into an empty database")
    return problems


def _appointment_problems(stored: _Stored, a: RestoredAppointment, therapists: set[str],
                          resources: set[str]) -> list[str]:
    problems = []
    if a.therapist_id not in therapists:
        problems.append(f"participant: therapist {a.therapist_id!r} is not in the clinic config")
    problems += [f"participant: {r!r} is not a room or equipment of the clinic config"
                 for r, _ in a.units if r not in resources]
    if a.end <= a.start:
        problems.append("end: must be after start")
    by_uid, by_id = stored.appointment_by_uid.get(a.uid), stored.appointments.get(a.id)
    if (by_uid is not None and by_uid.id != a.id) or (by_id is not None and by_id.uid != a.uid):
        problems.append("identifier: this appointment has another id here; restore into an "
                        "empty database")
    return problems


# -- writing -------------------------------------------------------------------------------------

def _save_patients(app: App, session: Session, stored: _Stored, plan: ImportPlan,
                   result: FhirImportResult) -> None:
    for _where, patient in plan.patients:
        assert patient is not None
        existing = stored.patients.get(patient.id)
        if existing is not None and from_row(existing) == patient:
            result.unchanged += 1
            continue
        session.add(to_row(patient, existing, app))
        result.updated += existing is not None
        result.created += existing is None
        app.audit(session, "patient.update" if existing else "patient.create", "patient",
                  patient.id, source="fhir")
    session.flush()


def _save_episode(app: App, session: Session, stored: _Stored, e: RestoredEpisode) -> None:
    now = app.clock.now()
    row = stored.episodes.get(e.id) or EpisodeRow(
        id=e.id, patient_id=e.patient_id, pathway_id=e.pathway_id,
        pathway_version=e.pathway_version, start_date=e.start_date, created_at=now,
        updated_at=now)
    row.pathway_id, row.pathway_version, row.state = e.pathway_id, e.pathway_version, e.state
    row.start_date, row.therapist_id = e.start_date, e.therapist_id
    row.previous_episode_id, row.updated_at = e.previous_episode_id, e.ended_at or now
    session.add(row)


def _save_appointments(app: App, session: Session, stored: _Stored,
                       appointments: list[RestoredAppointment]) -> None:
    """The appointments, then their rooms and equipment: a restored appointment's units are
    the bundle's (the ones it had here are deleted first, in one statement per chunk)."""
    for a in appointments:
        _save_appointment(app, session, stored, a)
    session.flush()
    known = sorted(a.id for a in appointments if a.id in stored.appointments)
    for start in range(0, len(known), CHUNK):
        session.exec(delete(ResourceBookingRow).where(
            col(ResourceBookingRow.appointment_id).in_(known[start:start + CHUNK])))
    for a in appointments:
        session.add_all(ResourceBookingRow(
            appointment_id=a.id, resource_id=resource, unit=unit, start_utc=a.start,
            end_utc=a.end, active=a.status in ACTIVE_STATUSES) for resource, unit in a.units)
    session.flush()


def _save_appointment(app: App, session: Session, stored: _Stored,
                      a: RestoredAppointment) -> None:
    now = app.clock.now()
    row = stored.appointments.get(a.id) or AppointmentRow(
        id=a.id, uid=a.uid, patient_id=a.patient_id, therapist_id=a.therapist_id,
        visit_type=a.visit_type, visit_name=a.visit_name, start_utc=a.start, end_utc=a.end,
        created_at=now, updated_at=now)
    for name, value in (("episode_id", a.episode_id), ("patient_id", a.patient_id),
                        ("therapist_id", a.therapist_id), ("visit_type", a.visit_type),
                        ("visit_name", a.visit_name), ("seq", a.seq), ("status", a.status),
                        ("sequence", a.sequence), ("fixed", a.fixed),
                        ("caregiver_invited", a.caregiver_invited)):
        setattr(row, name, value)
    row.start_utc, row.end_utc, row.updated_at = a.start, a.end, now
    session.add(row)


def _save_measurement(session: Session, stored: _Stored, m: RestoredMeasurement) -> None:
    row = stored.measurements.get(m.id) or MeasurementRow(
        id=m.id, episode_id=m.episode_id, measure_id=m.measure_id, value=m.value,
        taken_at=m.taken_at)
    row.measure_id, row.value, row.raw, row.taken_at = m.measure_id, m.value, m.raw, m.taken_at
    row.appointment_id, row.recorded_by = m.appointment_id, "fhir import"
    session.add(row)


def _advance_sequences(session: Session) -> None:
    """PostgreSQL hands out ids from sequences that explicit ids do not move: move them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("episode", "appointment", "measurement"):
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"GREATEST((SELECT MAX(id) FROM {table}), 1))"))


def _enrol(app: App, session: Session, r: Referral, result: FhirImportResult) -> None:
    """Book the referral's pathway with the scheduling engine, inside the import's
    transaction (the steps of ``scheduling.enroll``, so a failure rolls back the import)."""
    exists = session.exec(select(EpisodeRow.id).where(
        EpisodeRow.patient_id == r.patient_id, EpisodeRow.pathway_id == r.pathway_id,
        EpisodeRow.start_date == r.start)).first()
    if exists is not None:
        result.already_enrolled += 1
        return
    patient = session.get(PatientRow, r.patient_id)
    assert patient is not None
    plan = plan_episode(app.config.pathway(r.pathway_id), r.start, from_row(patient).preferences,
                        open_weekdays=app.config.clinic.opening_hours.open_weekdays())
    first = not_before(app, plan.start)
    busy = load_busy(session, first - timedelta(days=1),
                     first + timedelta(weeks=max(plan.max_weeks, plan.weeks) + 1),
                     patients=[r.patient_id])
    schedule = schedule_episode(plan, clinic_with_leave(session, app), busy,
                                zone=clinic_zone(app), not_before=first,
                                patient_id=r.patient_id, therapist_id=r.therapist_id)
    if not schedule.booked:
        error: CarepathError = no_slot_error(schedule)
        raise InputError(r.where, f"cannot be booked, nothing imported: {error}",
                         "pick another start day or therapist") from None
    enrolment = save_enrolment(session, app, schedule, r.patient_id, reason="enrolment")
    result.enrolled.append(enrolment.episode_id)
