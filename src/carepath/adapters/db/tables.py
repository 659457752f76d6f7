"""SQLModel tables. They stay in the adapters: services map rows to domain values.

Conventions: every datetime column is ``UTCDateTime`` (aware in code, UTC in storage);
lists are stored as comma-separated text (small, read whole, never queried inside);
an escalation's decision is JSON text (``carepath.domain.goals.escalation_codec``). Changing a
table means a new Alembic migration.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from carepath.adapters.db.types import UTCDateTime


def _utc(nullable: bool = False, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(UTCDateTime(), nullable=nullable, index=index)


class PatientRow(SQLModel, table=True):
    __tablename__ = "patient"
    id: str = Field(primary_key=True, max_length=64)  # the clinic's MRN
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    preferred_weekdays: str = Field(default="", max_length=40)  # "mon,wed,fri"
    time_windows: str = Field(default="", max_length=200)  # "08:00-11:00;14:00-16:00"
    heat_sensitive: bool = False
    caregiver_email: str | None = Field(default=None, max_length=254)
    caregiver_consent: bool = False
    physician_email: str | None = Field(default=None, max_length=254)
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class TherapistRow(SQLModel, table=True):
    __tablename__ = "therapist"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    skills: str = Field(default="", max_length=400)
    senior: bool = False
    active: bool = True


class ResourceRow(SQLModel, table=True):
    __tablename__ = "resource"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    provides: str = Field(default="", max_length=400)
    capacity: int = 1
    active: bool = True


class EpisodeRow(SQLModel, table=True):
    __tablename__ = "episode"
    id: int | None = Field(default=None, primary_key=True)
    patient_id: str = Field(foreign_key="patient.id", index=True, max_length=64)
    pathway_id: str = Field(max_length=64)
    pathway_version: int
    state: str = Field(default="planned", max_length=20, index=True)
    start_date: date
    therapist_id: str | None = Field(default=None, foreign_key="therapist.id", max_length=64)
    previous_episode_id: int | None = Field(default=None, foreign_key="episode.id")
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class AppointmentRow(SQLModel, table=True):
    __tablename__ = "appointment"
    # Covering index for reading diaries (``booking_store.load_busy``): every column the
    # read needs is in it. No index on ``status`` alone: with a handful of values it is
    # never selective, yet SQLite's planner (without ANALYZE) prefers it to any range.
    __table_args__ = (Index("ix_appointment_therapist_time", "therapist_id", "start_utc",
                            "end_utc", "status", "patient_id"),)
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(unique=True, max_length=120)  # iCalendar UID, stable for its life
    episode_id: int | None = Field(default=None, foreign_key="episode.id", index=True)
    patient_id: str = Field(foreign_key="patient.id", index=True, max_length=64)
    therapist_id: str = Field(foreign_key="therapist.id", max_length=64)
    visit_type: str = Field(max_length=64)
    visit_name: str = Field(max_length=200)
    seq: int = 0
    start_utc: datetime = Field(sa_column=_utc(index=True))
    end_utc: datetime = Field(sa_column=_utc())
    status: str = Field(default="booked", max_length=20)
    sequence: int = 0  # iCalendar SEQUENCE: rises on every change of time, length or status
    fixed: bool = False  # imported from the previous system or booked by hand
    caregiver_invited: bool = False
    window_first: date | None = None  # the cadence window (its week) a reschedule stays in
    window_last: date | None = None
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class ResourceBookingRow(SQLModel, table=True):
    """One unit of a room's or equipment's capacity held by one appointment."""

    __tablename__ = "resource_booking"
    __table_args__ = (Index("ix_resource_booking_resource_time", "resource_id", "start_utc",
                            "end_utc", "active", "unit", "appointment_id"),)
    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(foreign_key="appointment.id", index=True)
    resource_id: str = Field(foreign_key="resource.id", max_length=64)
    unit: int = 0
    start_utc: datetime = Field(sa_column=_utc())
    end_utc: datetime = Field(sa_column=_utc())
    active: bool = True


class TherapistLeaveRow(SQLModel, table=True):
    """Leave entered at run time (``carepath therapists leave``), added to the config's leave."""

    __tablename__ = "therapist_leave"
    id: int | None = Field(default=None, primary_key=True)
    therapist_id: str = Field(foreign_key="therapist.id", index=True, max_length=64)
    first_day: date
    last_day: date
    reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_column=_utc())


class GoalRow(SQLModel, table=True):
    __tablename__ = "goal"
    __table_args__ = (UniqueConstraint("episode_id", "measure_id"),)
    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True)
    measure_id: str = Field(max_length=64)
    baseline: float | None = None
    target: float | None = None
    due_date: date | None = None
    status: str = Field(default="pending", max_length=20)
    target_kind: str = Field(default="mcid", max_length=20)  # mcid, maintain or value
    baseline_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class MeasurementRow(SQLModel, table=True):
    __tablename__ = "measurement"
    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True)
    measure_id: str = Field(max_length=64)
    value: float
    raw: str = Field(default="", max_length=20)  # as typed, e.g. "1+" for ordinal scales
    taken_at: datetime = Field(sa_column=_utc())
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    recorded_by: str = Field(default="", max_length=100)


class RecoveryReportRow(SQLModel, table=True):
    """The two-hour rule: did the patient feel recovered within two hours of a session?"""

    __tablename__ = "recovery_report"
    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    recovered: bool
    reported_at: datetime = Field(sa_column=_utc())


class EscalationRow(SQLModel, table=True):
    __tablename__ = "escalation"
    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True)
    level: int
    kind: str = Field(max_length=40)  # stall, worsening, two_hour, no_show, under_scheduled
    dedupe_key: str = Field(unique=True, max_length=200)  # the same stall never escalates twice
    status: str = Field(default="open", max_length=20, index=True)
    summary: str = Field(default="", max_length=500)
    # the typed decision, encoded (carepath.domain.goals.escalation_codec); old rows: flags
    evidence: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    resolution: str = Field(default="", max_length=500)
    assigned_to: str | None = Field(default=None, max_length=64)  # therapist id (case review)
    proposed_pathway: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=200)
    message_id: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))  # the whole MIME message
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_utc(index=True))
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(sa_column=_utc())
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_utc(index=True))
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=100)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class RunRow(SQLModel, table=True):
    """One run of a workflow (flow or sweep): what an admin sees in `carepath runs list`."""

    __tablename__ = "run"
    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(max_length=80, index=True)
    name: str = Field(max_length=200)  # carries episode ids, never patient names
    status: str = Field(default="running", max_length=20, index=True)
    started_at: datetime = Field(sa_column=_utc(index=True))
    finished_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    summary: str = Field(default="", max_length=1000)
    error: str = Field(default="", max_length=2000)
    # Who ran it (migration 0017): two rows of one sweep from two owners show a double run.
    host: str = Field(default="", max_length=200)
    pid: int | None = Field(default=None)
    engine: str = Field(default="cli", max_length=20)  # cli, serve or prefect
    owner_token: int | None = Field(default=None)  # the orchestrator lease's fencing token
    flow_run_id: str | None = Field(default=None, max_length=64)  # Prefect's flow-run id


class LeaseRow(SQLModel, table=True):
    """A named lease held by one process until it expires (one scheduler per database)."""

    __tablename__ = "lease"
    name: str = Field(primary_key=True, max_length=80)
    owner: str = Field(max_length=200)
    expires_at: datetime = Field(sa_column=_utc())
    # Fencing (migration 0017): the token grows whenever another owner takes the lease, and
    # every write of a fenced process checks it in its own transaction.
    token: int = Field(default=1)
    engine: str = Field(default="serve", max_length=20)  # serve or prefect


class SchedulerJobRow(SQLModel, table=True):
    """APScheduler 3's SQLAlchemyJobStore table, declared here so migrations own it."""

    __tablename__ = "apscheduler_jobs"
    id: str = Field(primary_key=True, max_length=191)
    next_run_time: float | None = Field(default=None, index=True)
    job_state: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CalDavObjectRow(SQLModel, table=True):
    """What carepath last wrote to a therapist's CalDAV calendar: the object's ETag, so a
    publish can tell an event changed on the server since (and say so before restoring it)."""

    __tablename__ = "caldav_object"
    therapist_id: str = Field(primary_key=True, max_length=64)
    uid: str = Field(primary_key=True, max_length=255)
    etag: str | None = Field(default=None, max_length=200)
    sequence: int = 0
    written_at: datetime = Field(sa_column=_utc())


class FhirTokenRow(SQLModel, table=True):
    """A FHIR API token: only its SHA-256 hash is stored; scopes like ``system/*.read``."""

    __tablename__ = "fhir_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    scopes: str = Field(max_length=1000)  # space-separated, as OAuth writes them
    token_hash: str = Field(unique=True, max_length=100)
    created_at: datetime = Field(sa_column=_utc())
    revoked_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class EpisodeClaimRow(SQLModel, table=True):
    """A lane of a patient's timeline held by a running episode (see ``domain.timeline``).

    The partial unique index is the database's half of exclusivity: two processes racing to
    start episodes in one lane for one patient cannot both commit. A claim is released (not
    deleted) when its episode stops running, so the history stays readable.
    """

    __tablename__ = "episode_claim"
    __table_args__ = (Index("ux_episode_claim_running", "patient_id", "lane", unique=True,
                            sqlite_where=text("released_at IS NULL"),
                            postgresql_where=text("released_at IS NULL")),)
    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True)
    patient_id: str = Field(foreign_key="patient.id", max_length=64)
    lane: str = Field(max_length=80)
    claimed_at: datetime = Field(sa_column=_utc())
    released_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class PatientRefRow(SQLModel, table=True):
    """A number standing for a patient where the MRN must not go (migration 0017): Prefect
    flow-run parameters and names are stored on the Prefect server, outside carepath."""

    __tablename__ = "patient_ref"
    id: int | None = Field(default=None, primary_key=True)
    patient_id: str = Field(foreign_key="patient.id", unique=True, max_length=64)


class WebUserRow(SQLModel, table=True):
    """A login of the web app: an admin or a therapist (``carepath users add``)."""

    __tablename__ = "web_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    password_hash: str = Field(max_length=200)  # argon2id, never the password
    role: str = Field(max_length=20)  # admin or therapist
    therapist_id: str | None = Field(default=None, foreign_key="therapist.id", max_length=64)
    created_at: datetime = Field(sa_column=_utc())
    disabled_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class WebSessionRow(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="web_user.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc())
    expires_at: datetime = Field(sa_column=_utc(index=True))


class WebLoginAttemptRow(SQLModel, table=True):
    """Failed sign-ins, counted per user name to slow password guessing."""

    __tablename__ = "web_login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_column=_utc(index=True))


class CalendarFeedRow(SQLModel, table=True):
    """A secret calendar subscription of one patient or therapist; rotating it bumps
    ``generation`` so the old address stops working."""

    __tablename__ = "calendar_feed"
    owner_kind: str = Field(primary_key=True, max_length=20)  # patient or therapist
    owner_id: str = Field(primary_key=True, max_length=64)
    generation: int = 0
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(sa_column=_utc())


class MessageJobRow(SQLModel, table=True):
    """Messages still to be composed: the facts of a booking (which appointments, why),
    written in the booking's transaction and turned into outbox rows before the next
    dispatch, so a batch enrolment or an import spends its time scheduling, not on MIME."""

    __tablename__ = "message_job"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # "booked"
    facts: str  # JSON: appointment_ids, episode_id, reason
    created_at: datetime = Field(sa_column=_utc())


class ProgressionHoldRow(SQLModel, table=True):
    """"Hold progression" on an episode (the two-hour rule failed): visits, invites and the
    plan show it until a therapist clears it (who, when and why are kept and audited)."""

    __tablename__ = "progression_hold"
    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True)
    escalation_id: int | None = Field(default=None, foreign_key="escalation.id")
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=_utc())
    cleared_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    cleared_by: str = Field(default="", max_length=100)
    clear_reason: str = Field(default="", max_length=500)


class VisitReviewRow(SQLModel, table=True):
    """What a progression review recorded on its visit: assistive devices, orthotics and the
    caregiver's role (one record per visit; recording again replaces it)."""

    __tablename__ = "visit_review"
    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int = Field(foreign_key="appointment.id", unique=True)
    assistive_devices: str = Field(default="", max_length=500)
    orthotics: str = Field(default="", max_length=500)
    caregiver_role: str = Field(default="", max_length=500)
    caregiver_present: bool = False
    recorded_at: datetime = Field(sa_column=_utc())
    recorded_by: str = Field(default="", max_length=100)
