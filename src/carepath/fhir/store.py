"""Reads what the FHIR mappers need, a few patients at a time, as plain views.

``clinic_resources`` maps the config (organisation, rooms, equipment, therapists, the
service, one PlanDefinition per pathway version in use); ``patient_resources`` maps the
records of a batch of patients with one query per table, so an export of thousands of
patients holds one batch in memory, never the whole clinic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    EscalationRow,
    GoalRow,
    MeasurementRow,
    OutboxRow,
    PatientRow,
    ResourceBookingRow,
)
from carepath.domain.config.models import Config, Measure
from carepath.fhir import mappers
from carepath.fhir.views import (
    AppointmentView,
    EpisodeView,
    EscalationView,
    GoalView,
    MeasurementView,
    MessageView,
)
from carepath.services.patients import from_row

Json = dict[str, Any]
BATCH = 200  # patients read and mapped together


def clinic_resources(config: Config,
                     pathway_versions: Iterable[tuple[str, int]] = ()) -> list[Json]:
    """The clinic's own resources, with a PlanDefinition for every pathway in the config and
    for every older version episodes still point at. carepath keeps only a pathway's current
    file, so an older version is described by today's content under its own version."""
    clinic = config.clinic
    found: list[Json] = [mappers.organization(clinic)]
    found += [mappers.resource_entity(r) for r in clinic.resources]
    found += [mappers.practitioner(t) for t in clinic.therapists]
    found += [mappers.practitioner_role(t) for t in clinic.therapists]
    found.append(mappers.healthcare_service(clinic, list(config.pathways.values())))
    versions = {(p.id, p.version) for p in config.pathways.values()} | set(pathway_versions)
    for pathway_id, version in sorted(versions):
        pathway = config.pathways.get(pathway_id)
        if pathway is None:
            continue
        plan = mappers.plan_definition(pathway.model_copy(update={"version": version}),
                                       config.measures)
        found.append(plan)
    return found


def resource_kinds(config: Config) -> dict[str, str]:
    return {r.id: mappers.resource_kind(r) for r in config.clinic.resources}


def pathway_versions(session: Session) -> set[tuple[str, int]]:
    rows = session.exec(select(EpisodeRow.pathway_id, EpisodeRow.pathway_version).distinct())
    return {(p, v) for p, v in rows}


def patient_batches(session: Session, patient_ids: Sequence[str] | None = None, *,
                    since: datetime | None = None) -> Iterator[list[str]]:
    """Patient ids in batches: all, the given ones, or those with anything new since."""
    if patient_ids is not None:
        ids = sorted(set(patient_ids))
    elif since is not None:
        ids = sorted(touched_since(session, since))
    else:
        ids = list(session.exec(select(PatientRow.id).order_by(col(PatientRow.id))))
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def touched_since(session: Session, since: datetime) -> set[str]:
    """Patients with a change since ``since``: their row, an episode, a visit, a measurement."""
    found = set(session.exec(select(PatientRow.id).where(col(PatientRow.updated_at) >= since)))
    found |= set(session.exec(select(EpisodeRow.patient_id)
                              .where(col(EpisodeRow.updated_at) >= since)))
    found |= set(session.exec(select(AppointmentRow.patient_id)
                              .where(col(AppointmentRow.updated_at) >= since)))
    found |= set(session.exec(select(EpisodeRow.patient_id).join(
        MeasurementRow, col(MeasurementRow.episode_id) == col(EpisodeRow.id))
        .where(col(MeasurementRow.taken_at) >= since)))
    return found


def patient_resources(session: Session, config: Config, zone: ZoneInfo,
                      patient_ids: Sequence[str]) -> Iterator[Json]:
    """Every resource of these patients, patient by patient, in reference order."""
    patients = {r.id: from_row(r) for r in session.exec(
        select(PatientRow).where(col(PatientRow.id).in_(patient_ids)))}
    episodes = list(session.exec(select(EpisodeRow).where(
        col(EpisodeRow.patient_id).in_(patient_ids)).order_by(col(EpisodeRow.id))))
    episode_ids = [e.id for e in episodes if e.id is not None]
    visits = _appointments(session, patient_ids)
    goals = _by_episode(session.exec(select(GoalRow).where(
        col(GoalRow.episode_id).in_(episode_ids)).order_by(col(GoalRow.id))))
    readings = _by_episode(session.exec(select(MeasurementRow).where(
        col(MeasurementRow.episode_id).in_(episode_ids)).order_by(col(MeasurementRow.id))))
    flags = _by_episode(session.exec(select(EscalationRow).where(
        col(EscalationRow.episode_id).in_(episode_ids)).order_by(col(EscalationRow.id))))
    messages = _messages_to(session, patients.values())
    kinds = resource_kinds(config)
    by_patient: defaultdict[str, list[EpisodeRow]] = defaultdict(list)
    for episode in episodes:
        by_patient[episode.patient_id].append(episode)
    for patient_id in sorted(patients):
        yield mappers.patient(patients[patient_id])
        yield from _episode_resources(config, zone, by_patient[patient_id], visits, goals,
                                      readings, flags)
        for view in visits.get(patient_id, []):
            if view.episode_id is None:  # a visit imported without an episode
                yield mappers.appointment(view, zone, kinds)
        for message in messages.get(patient_id, []):
            yield mappers.communication(message, zone)


def _episode_resources(config: Config, zone: ZoneInfo, episodes: list[EpisodeRow],
                       visits: dict[str, list[AppointmentView]], goals: dict[int, list[Any]],
                       readings: dict[int, list[Any]], flags: dict[int, list[Any]]
                       ) -> Iterator[Json]:
    kinds = resource_kinds(config)
    for row in episodes:
        assert row.id is not None
        mine = [v for v in visits.get(row.patient_id, []) if v.episode_id == row.id]
        view = episode_view(row, tuple(v.id for v in mine),
                            tuple(g.id for g in goals.get(row.id, [])))
        yield mappers.episode_of_care(view, zone)
        yield mappers.care_plan(view)
        for g in goals.get(row.id, []):
            measure = _measure(config, g.measure_id)
            yield mappers.goal(goal_view(g, row.patient_id), measure, zone)
        for visit in mine:
            yield mappers.appointment(visit, zone, kinds)
        for m in readings.get(row.id, []):
            yield mappers.observation(measurement_view(m, row.patient_id),
                                      _measure(config, m.measure_id), zone)
        for e in flags.get(row.id, []):
            yield mappers.flag(escalation_view(e, row.patient_id), zone)


def _measure(config: Config, measure_id: str) -> Measure:
    """The measure's config; one removed from the config still exports, unit unknown."""
    return config.measures.get(measure_id) or Measure(name=measure_id, unit="1",
                                                       better="higher")


def _by_episode(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: defaultdict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.episode_id].append(row)
    return grouped


def _appointments(session: Session, patient_ids: Sequence[str]) -> dict[str, list[AppointmentView]]:
    rows = list(session.exec(select(AppointmentRow).where(
        col(AppointmentRow.patient_id).in_(patient_ids))
        .order_by(col(AppointmentRow.start_utc), col(AppointmentRow.id))))
    units: defaultdict[int, list[tuple[str, int]]] = defaultdict(list)
    ids = [r.id for r in rows if r.id is not None]
    for start in range(0, len(ids), 900):
        for booking in session.exec(select(ResourceBookingRow).where(
                col(ResourceBookingRow.appointment_id).in_(ids[start:start + 900]),
                col(ResourceBookingRow.active).is_(True))):
            units[booking.appointment_id].append((booking.resource_id, booking.unit))
    grouped: defaultdict[str, list[AppointmentView]] = defaultdict(list)
    for row in rows:
        assert row.id is not None
        grouped[row.patient_id].append(appointment_view(row, tuple(sorted(units[row.id]))))
    return grouped


def _messages_to(session: Session, patients: Iterable[Any]) -> dict[str, list[MessageView]]:
    """Messages sent to a patient or their caregiver, as metadata for that patient."""
    owners: dict[str, tuple[str, bool]] = {}
    for p in patients:
        if p.email:
            owners[p.email] = (p.id, True)
        if p.caregiver_email:
            owners.setdefault(p.caregiver_email, (p.id, False))
    grouped: defaultdict[str, list[MessageView]] = defaultdict(list)
    if not owners:
        return grouped
    for row in session.exec(select(OutboxRow).where(col(OutboxRow.recipient).in_(list(owners)))
                            .order_by(col(OutboxRow.id))):
        patient_id, own = owners[row.recipient]
        grouped[patient_id].append(message_view(
            row, patient_id, mappers.ref("Patient", mappers.resource_id(patient_id))["reference"]
            if own else None))
    return grouped


def staff_messages(session: Session, config: Config, *, since: datetime | None = None
                   ) -> Iterator[MessageView]:
    """Messages not addressed to a patient or caregiver: to therapists (invites,
    escalations) with the therapist as recipient, and to others (a referring physician)
    with no recipient at all — which patient such a message concerns is not recorded."""
    therapists = {t.email: t.id for t in config.clinic.therapists}
    patients_own = select(PatientRow.email).where(col(PatientRow.email).is_not(None))
    caregivers = select(PatientRow.caregiver_email).where(
        col(PatientRow.caregiver_email).is_not(None))
    query = select(OutboxRow).where(col(OutboxRow.recipient).not_in(patients_own),
                                    col(OutboxRow.recipient).not_in(caregivers))
    if since is not None:
        query = query.where(col(OutboxRow.created_at) >= since)
    for row in session.exec(query.order_by(col(OutboxRow.id))):
        therapist = therapists.get(row.recipient)
        yield message_view(row, None, None if therapist is None else
                           "Practitioner/" + mappers.resource_id(therapist))


# -- rows → views ---------------------------------------------------------------------------

def episode_view(row: EpisodeRow, appointment_ids: tuple[int, ...] = (),
                 goal_ids: tuple[int, ...] = ()) -> EpisodeView:
    assert row.id is not None
    return EpisodeView(row.id, row.patient_id, row.pathway_id, row.pathway_version, row.state,
                       row.start_date, row.therapist_id, row.previous_episode_id, row.updated_at,
                       appointment_ids, goal_ids)


def appointment_view(row: AppointmentRow, units: tuple[tuple[str, int], ...] = ()
                     ) -> AppointmentView:
    assert row.id is not None
    return AppointmentView(row.id, row.uid, row.episode_id, row.patient_id, row.therapist_id,
                           row.visit_type, row.visit_name, row.seq, row.start_utc, row.end_utc,
                           row.status, row.sequence, fixed=row.fixed,
                           caregiver_invited=row.caregiver_invited, units=units)


def goal_view(row: GoalRow, patient_id: str) -> GoalView:
    assert row.id is not None
    return GoalView(row.id, row.episode_id, patient_id, row.measure_id, row.baseline,
                    row.target, row.target_kind, row.due_date, row.status, row.baseline_at)


def measurement_view(row: MeasurementRow, patient_id: str) -> MeasurementView:
    assert row.id is not None
    return MeasurementView(row.id, row.episode_id, patient_id, row.measure_id, row.value,
                           row.raw, row.taken_at, row.appointment_id)


def escalation_view(row: EscalationRow, patient_id: str) -> EscalationView:
    assert row.id is not None
    return EscalationView(row.id, row.episode_id, patient_id, row.level, row.kind, row.status,
                          row.appointment_id, row.assigned_to, row.proposed_pathway,
                          row.created_at, row.updated_at)


def message_view(row: OutboxRow, patient_id: str | None, recipient: str | None) -> MessageView:
    assert row.id is not None
    return MessageView(row.id, row.kind, row.status, row.created_at, row.sent_at, patient_id,
                       recipient)
