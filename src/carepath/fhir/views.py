"""The plain values the mappers turn into FHIR resources (no ORM rows cross this line).

A service reads the database and builds these; every datetime is aware (UTC), and the
mappers render it in the clinic's zone with its offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from carepath.domain.appointments import Appointment


@dataclass(frozen=True)
class EpisodeFacts:
    """What an episode is, as exported and as restored."""

    id: int
    patient_id: str
    pathway_id: str
    pathway_version: int
    state: str
    start_date: date
    therapist_id: str | None
    previous_episode_id: int | None


@dataclass(frozen=True)
class EpisodeView(EpisodeFacts):
    updated_at: datetime
    appointment_ids: tuple[int, ...] = ()
    goal_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class AppointmentView(Appointment):
    """A visit as FHIR shows it: the domain's appointment and the units of rooms it holds."""

    units: tuple[tuple[str, int], ...] = ()  # (resource id, unit) held


@dataclass(frozen=True)
class GoalView:
    id: int
    episode_id: int
    patient_id: str
    measure_id: str
    baseline: float | None
    target: float | None
    target_kind: str
    due_date: date | None
    status: str
    baseline_at: datetime | None


@dataclass(frozen=True)
class MeasurementView:
    id: int
    episode_id: int
    patient_id: str
    measure_id: str
    value: float
    raw: str
    taken_at: datetime
    appointment_id: int | None


@dataclass(frozen=True)
class EscalationView:
    id: int
    episode_id: int
    patient_id: str
    level: int
    kind: str
    status: str
    appointment_id: int | None
    assigned_to: str | None
    proposed_pathway: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MessageView:
    """One outbox message as metadata: who it went to (as a resource), never its body."""

    id: int
    kind: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    patient_id: str | None  # the patient it concerns, when the recipient is theirs
    recipient: str | None  # a reference inside the bundle, e.g. "Patient/P1"
