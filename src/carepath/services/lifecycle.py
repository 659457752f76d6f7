"""Episode lifecycle use cases: finish and follow ``on_complete``, relapse, rolling boosters.

Transitions follow the one table in ``domain.episodes``; an invalid one is an
``InvalidTransition`` naming both states. History is kept: a paused or finished episode
stays, and the next episode points back to it (``previous_episode_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow
from carepath.domain.episodes import OPEN_STATES, next_state
from carepath.errors import InputError, NotFound
from carepath.services import App
from carepath.services.scheduling import cancel_future, enroll

BOOSTER_HORIZON = timedelta(weeks=4)


@dataclass
class LifecycleResult:
    episode_id: int
    state: str
    next_episode_id: int | None = None
    cancelled_visits: list[int] = field(default_factory=list)
    note: str = ""

    def __str__(self) -> str:
        text = f"episode {self.episode_id} {self.state}"
        if self.cancelled_visits:
            text += f", {len(self.cancelled_visits)} future visit(s) cancelled"
        if self.next_episode_id:
            text += f", next episode {self.next_episode_id}"
        return text + (f" ({self.note})" if self.note else "")


def get_episode(session: Session, episode_id: int) -> EpisodeRow:
    episode = session.get(EpisodeRow, episode_id)
    if episode is None:
        raise NotFound("episode", episode_id, "list episodes with: carepath episodes list")
    return episode


def transition(session: Session, app: App, episode: EpisodeRow, event: str, note: str = "") -> None:
    """Apply ``event`` to ``episode`` through the lifecycle table, audited."""
    before = episode.state
    episode.state = next_state(episode.id, episode.state, event)
    episode.updated_at = app.clock.now()
    if note:
        episode.note = note[:500]
    session.add(episode)
    app.audit(session, f"episode.{event}", "episode", episode.id, before=before,
              after=episode.state)


def _next_start(app: App, after: date | None = None) -> date:
    today = app.clock.now().astimezone(_zone(app)).date()
    return max(today + timedelta(days=1), after or today)


def _zone(app: App) -> ZoneInfo:
    return ZoneInfo(app.config.clinic.timezone)


def _enroll(app: App, patient_id: str, pathway_id: str, start: date, therapist_id: str | None,
            previous_id: int) -> int:
    """Start the next episode, pointing back to ``previous_id`` in the same transaction."""
    enrolment = enroll(app, patient_id, pathway_id, start, therapist_id=therapist_id,
                       partial=True, previous_episode_id=previous_id)
    return int(enrolment.episode_id)


def complete_episode(app: App, episode_id: int, *, follow: str | None = None,
                     start: date | None = None, note: str = "") -> LifecycleResult:
    """Finish an episode and start ``follow`` (default: its pathway's ``on_complete``)."""
    with transaction(app.engine) as session:
        episode = get_episode(session, episode_id)
        transition(session, app, episode, "finish", note=note)
        patient_id, pathway_id = episode.patient_id, episode.pathway_id
        therapist = episode.therapist_id
    follow = follow or app.config.pathway(pathway_id).transitions.on_complete
    result = LifecycleResult(episode_id, "finished")
    if follow:
        result.next_episode_id = _enroll(app, patient_id, follow, _next_start(app, start),
                                         therapist, episode_id)
    return result


def open_episode_of(session: Session, patient_id: str) -> EpisodeRow | None:
    query = (select(EpisodeRow).where(EpisodeRow.patient_id == patient_id)
             .where(col(EpisodeRow.state).in_(sorted(OPEN_STATES)))
             .order_by(col(EpisodeRow.id).desc()))
    return session.exec(query).first()


def report_relapse(app: App, patient_id: str, *, on: date | None = None) -> LifecycleResult:
    """Pause the patient's open episode, cancel its future visits, start ``on_relapse``."""
    with transaction(app.engine) as session:
        episode = open_episode_of(session, patient_id)
        if episode is None:
            raise InputError(f"patient {patient_id}", "has no open episode to pause",
                             "enrol them directly: carepath enroll PATIENT post-relapse --start …")
        assert episode.id is not None
        transition(session, app, episode, "hold", note="relapse reported")
        cancelled = cancel_future(session, app, episode.id, after=app.clock.now(),
                                  reason="relapse: series paused")
        follow = app.config.pathway(episode.pathway_id).transitions.on_relapse
        previous, therapist = episode.id, episode.therapist_id
    result = LifecycleResult(previous, "on_hold", cancelled_visits=list(cancelled))
    if follow:
        result.next_episode_id = _enroll(app, patient_id, follow, _next_start(app, on), therapist,
                                         previous)
    return result


def extend_boosters(app: App) -> str:
    """Keep a rolling horizon: a booster series about to run out continues with a new one."""
    now, zone = app.clock.now(), _zone(app)
    last_visit = (select(AppointmentRow.episode_id, func.max(AppointmentRow.start_utc))
                  .where(AppointmentRow.status == "booked")
                  .group_by(col(AppointmentRow.episode_id)).subquery())
    with transaction(app.engine) as session:
        rows = session.exec(
            select(EpisodeRow.id, last_visit.c[1])
            .join(last_visit, last_visit.c.episode_id == EpisodeRow.id, isouter=True)
            .where(EpisodeRow.state == "active")
            .where(EpisodeRow.pathway_id == "stable-boosters")).all()
    ending = [(episode_id, last) for episode_id, last in rows
              if last is None or last - now <= BOOSTER_HORIZON]
    for episode_id, last in ending:
        assert episode_id is not None
        last_day = (last or now).astimezone(zone).date()
        complete_episode(app, episode_id, follow="stable-boosters",
                         start=last_day + timedelta(days=7), note="series continued")
    return f"{len(ending)} booster series continued"


def due_for_progression_review(session: Session, now_day: date, every_months: int) -> list[str]:
    """Patients in the stable phase with no progression review open or in the last N months."""
    stable = set(session.exec(select(EpisodeRow.patient_id)
                              .where(EpisodeRow.pathway_id == "stable-boosters")
                              .where(EpisodeRow.state == "active")))
    since = now_day - timedelta(days=30 * every_months)
    recent = set(session.exec(select(EpisodeRow.patient_id)
                              .where(EpisodeRow.pathway_id == "progression-review")
                              .where((col(EpisodeRow.state).in_(sorted(OPEN_STATES)))
                                     | (col(EpisodeRow.start_date) >= since))))
    return sorted(stable - recent)


def schedule_progression_reviews(app: App, *, every_months: int = 3) -> str:
    today = app.clock.now().astimezone(_zone(app)).date()
    with transaction(app.engine) as session:
        due = due_for_progression_review(session, today, every_months)
    enrolled = 0
    for patient_id in due:
        enroll(app, patient_id, "progression-review", _next_start(app), partial=True)
        enrolled += 1
    return f"{enrolled} progression review(s) enrolled"
