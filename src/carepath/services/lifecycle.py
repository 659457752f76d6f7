"""Episode lifecycle use cases: every event goes through ``apply_event``.

``apply_event`` locks the patient, reads their timeline, asks ``domain.timeline.decide``
what the event does and applies the whole decision in ONE transaction: episodes change
state (audited), their future visits are cancelled (one CANCEL email per episode) or carried
to the next series, lane claims are released and taken, and the successor is enrolled. If
any part fails — no slot for the successor, a lost race — nothing is written.

History is kept: a held or finished episode stays, and the next one points back to it
(``previous_episode_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeClaimRow, EpisodeRow
from carepath.domain.scheduling.planning import plan_episode
from carepath.domain.timeline import (
    OPEN,
    RUNNING,
    Cancel,
    Complete,
    Continue,
    Decision,
    Discharge,
    Event,
    Hold,
    Relapse,
    Resume,
    ReviewDue,
    StateChange,
    Timeline,
    decide,
)
from carepath.errors import CarepathError, NotFound, SlotTaken
from carepath.services import App
from carepath.services.patients import from_row
from carepath.services.scheduling import cancel_future, enroll_in
from carepath.services.timeline_store import (
    ClaimTaken,
    claim,
    load_timeline,
    lock_patient,
    pathway_rules,
    release,
)

BOOSTER_HORIZON = timedelta(weeks=4)
RACE_RETRIES = 3  # a lost race re-reads the timeline and decides again


@dataclass
class LifecycleResult:
    """What one event did, as the CLI and the flows print it."""

    patient_id: str
    changes: list[StateChange] = field(default_factory=list)
    next_episode_id: int | None = None
    cancelled_visits: list[int] = field(default_factory=list)
    carried_visits: list[int] = field(default_factory=list)
    existing_episode_id: int | None = None
    skipped: str = ""
    booked_visits: list[int] = field(default_factory=list)

    @property
    def episode_id(self) -> int | None:
        return self.changes[0].episode_id if self.changes else self.existing_episode_id

    @property
    def state(self) -> str:
        return self.changes[0].after if self.changes else ""

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.patient_id}: nothing done ({self.skipped})"
        parts = [f"episode {c.episode_id} {c.after}" for c in self.changes]
        text = ", ".join(parts) or self.patient_id
        if self.cancelled_visits:
            text += f", {len(self.cancelled_visits)} future visit(s) cancelled"
        if self.carried_visits:
            text += f", {len(self.carried_visits)} future visit(s) carried over"
        if self.next_episode_id:
            text += f", next episode {self.next_episode_id}"
        return text


def apply_event(app: App, patient_id: str, event: Event, *, start: date | None = None,
                therapist_id: str | None = None, partial: bool = True) -> LifecycleResult:
    """Decide and apply ``event`` for the patient in one transaction (retried on a lost race).

    A successor episode books what fits (``partial``); an accepted proposal passes
    ``partial=False`` so that nothing is enrolled unless every visit is booked."""
    for attempt in range(RACE_RETRIES):
        try:
            with transaction(app.engine) as session:
                timeline = load_timeline(session, app, patient_id)
                return _apply(session, app, timeline, decide(timeline, event), start,
                              therapist_id, partial)
        except (SlotTaken, ClaimTaken):
            if attempt == RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _apply(session: Session, app: App, timeline: Timeline, decision: Decision,
           start: date | None, therapist_id: str | None, partial: bool) -> LifecycleResult:
    result = LifecycleResult(timeline.patient_id, existing_episode_id=decision.existing_episode_id,
                             skipped=decision.skipped)
    carried: list[AppointmentRow] = []
    lead = therapist_id
    for change in decision.changes:
        episode = _change_state(session, app, change)
        lead = lead or episode.therapist_id
        if change.cancel_visits:
            result.cancelled_visits += cancel_future(
                session, app, change.episode_id, after=app.clock.now(),
                reason=f"{change.event}: {change.note}" if change.note else change.event)
        if change.carry_visits:
            carried += _future_visits(session, app, change.episode_id)
        result.changes.append(change)
    if decision.enrol is not None:
        new = decision.enrol
        first = new.start or _next_start(app, start or _week_after(app, carried))
        patient = from_row(lock_patient(session, timeline.patient_id))
        plan = plan_episode(app.config.pathway(new.pathway_id), first, patient.preferences,
                            open_weekdays=app.config.clinic.opening_hours.open_weekdays())
        enrolment = enroll_in(session, app, plan, timeline.patient_id, lead, partial,
                              new.previous_episode_id, reason=new.reason)
        result.next_episode_id = enrolment.episode_id
        result.booked_visits = list(enrolment.appointment_ids)
        result.carried_visits = _carry(session, app, carried, enrolment.episode_id)
    return result


def _change_state(session: Session, app: App, change: StateChange) -> EpisodeRow:
    """One episode's move (read under the patient's lock, so ``before`` still holds)."""
    episode = get_episode(session, change.episode_id)
    assert episode.state == change.before, (episode.id, episode.state, change.before)
    episode.state, episode.updated_at = change.after, app.clock.now()
    if change.note:
        episode.note = change.note[:500]
    session.add(episode)
    if change.before in RUNNING and change.after not in RUNNING:
        release(session, app, change.episode_id)
    elif change.after in RUNNING and change.before not in RUNNING:
        claim(session, app, episode)
    app.audit(session, f"episode.{change.event}", "episode", change.episode_id,
              before=change.before, after=change.after, note=change.note)
    return episode


def _future_visits(session: Session, app: App, episode_id: int) -> list[AppointmentRow]:
    return list(session.exec(select(AppointmentRow).where(
        AppointmentRow.episode_id == episode_id, AppointmentRow.status == "booked",
        col(AppointmentRow.start_utc) > app.clock.now())))


def _carry(session: Session, app: App, visits: list[AppointmentRow], episode_id: int) -> list[int]:
    """A continued series hands its future visits on: same UID and time, nothing to send."""
    for visit in visits:
        app.audit(session, "appointment.carry", "appointment", visit.id,
                  before=visit.episode_id, after=episode_id)
        visit.episode_id = episode_id
        session.add(visit)
    return [v.id for v in visits if v.id is not None]


def _week_after(app: App, visits: list[AppointmentRow]) -> date | None:
    if not visits:
        return None
    last = max(v.start_utc for v in visits).astimezone(_zone(app)).date()
    return last + timedelta(days=7)


def get_episode(session: Session, episode_id: int) -> EpisodeRow:
    episode = session.get(EpisodeRow, episode_id)
    if episode is None:
        raise NotFound("episode", episode_id, "list episodes with: carepath episodes list")
    return episode


def patient_of(app: App, episode_id: int) -> str:
    with transaction(app.engine) as session:
        return get_episode(session, episode_id).patient_id


def _next_start(app: App, after: date | None = None) -> date:
    today = app.clock.now().astimezone(_zone(app)).date()
    return max(today + timedelta(days=1), after or today)


def _zone(app: App) -> ZoneInfo:
    return ZoneInfo(app.config.clinic.timezone)


# The events, one function each (the CLI, the flows and the demo call these) ----------------

def complete_episode(app: App, episode_id: int, *, follow: str | None = None,
                     start: date | None = None, note: str = "") -> LifecycleResult:
    """Finish an episode (future visits cancelled) and start ``follow`` (default: its
    pathway's ``on_complete``), all in one transaction."""
    return apply_event(app, patient_of(app, episode_id),
                       Complete(episode_id, follow, note or "completed"), start=start)


def report_relapse(app: App, patient_id: str, *, on: date | None = None) -> LifecycleResult:
    """Hold every running episode whose pathway says so (future visits cancelled) and start
    the post-relapse pathway, in one transaction."""
    return apply_event(app, patient_id, Relapse(), start=on)


def hold_episode(app: App, episode_id: int, note: str = "on hold") -> LifecycleResult:
    return apply_event(app, patient_of(app, episode_id), Hold(episode_id, note))


def resume_episode(app: App, episode_id: int) -> LifecycleResult:
    return apply_event(app, patient_of(app, episode_id), Resume(episode_id))


def cancel_episode(app: App, episode_id: int, note: str = "cancelled") -> LifecycleResult:
    return apply_event(app, patient_of(app, episode_id), Cancel(episode_id, note))


def discharge_patient(app: App, patient_id: str, note: str = "discharged") -> LifecycleResult:
    return apply_event(app, patient_id, Discharge(note))


def extend_boosters(app: App) -> str:
    """Keep a rolling horizon: a booster series about to run out continues with a new one,
    which takes over the old series' remaining visits."""
    now = app.clock.now()
    last_visit = (select(AppointmentRow.episode_id, func.max(AppointmentRow.start_utc))
                  .where(AppointmentRow.status == "booked")
                  .group_by(col(AppointmentRow.episode_id)).subquery())
    with transaction(app.engine) as session:
        rows = session.exec(
            select(EpisodeRow.id, EpisodeRow.patient_id, last_visit.c[1])
            .join(last_visit, last_visit.c.episode_id == EpisodeRow.id, isouter=True)
            .where(EpisodeRow.state == "active")
            .where(EpisodeRow.pathway_id == "stable-boosters")).all()
    ending = [(episode_id, patient_id) for episode_id, patient_id, last in rows
              if last is None or last - now <= BOOSTER_HORIZON]
    failed: list[str] = []
    for episode_id, patient_id in ending:
        assert episode_id is not None
        try:
            apply_event(app, patient_id, Continue(episode_id))
        except CarepathError as error:  # one patient's problem does not stop the sweep
            failed.append(f"episode {episode_id}: {error}")
    return f"{len(ending) - len(failed)} booster series continued" + _failures(failed)


def _failures(failed: list[str]) -> str:
    """The sweep's summary tail: how many could not be done, and the first reason."""
    return f", {len(failed)} not possible now (first: {failed[0]})" if failed else ""


def due_for_progression_review(session: Session, now_day: date, every_months: int) -> list[str]:
    """Patients in the stable phase with no progression review open or in the last N months."""
    stable = set(session.exec(select(EpisodeRow.patient_id)
                              .where(EpisodeRow.pathway_id == "stable-boosters")
                              .where(EpisodeRow.state == "active")))
    since = now_day - timedelta(days=30 * every_months)
    recent = set(session.exec(select(EpisodeRow.patient_id)
                              .where(EpisodeRow.pathway_id == "progression-review")
                              .where((col(EpisodeRow.state).in_(sorted(OPEN)))
                                     | (col(EpisodeRow.start_date) >= since))))
    return sorted(stable - recent)


def schedule_progression_reviews(app: App, *, every_months: int = 3) -> str:
    """Enrol a progression review for each patient due one whose timeline allows it now."""
    today = app.clock.now().astimezone(_zone(app)).date()
    with transaction(app.engine) as session:
        due = due_for_progression_review(session, today, every_months)
    enrolled = skipped = 0
    failed: list[str] = []
    for patient_id in due:
        try:
            result = apply_event(app, patient_id, ReviewDue("progression-review"))
        except CarepathError as error:  # e.g. no slot at all: the others still get theirs
            failed.append(f"{patient_id}: {error}")
            continue
        enrolled += result.next_episode_id is not None
        skipped += bool(result.skipped)
    text = f"{enrolled} progression review(s) enrolled"
    text += f", {skipped} not allowed beside the patient's care" if skipped else ""
    return text + _failures(failed)


# Repair -------------------------------------------------------------------------------------

def repair_timelines(app: App, *, dry_run: bool = False) -> list[str]:
    """Settle timelines written before exclusivity was enforced: where running episodes share
    a lane, the earliest keeps running and the others are cancelled (CANCELs sent); every
    running episode then holds its claims. Returns one line per change."""
    with transaction(app.engine) as session:
        patients = sorted(set(session.exec(select(EpisodeRow.patient_id).where(
            col(EpisodeRow.state).in_(sorted(RUNNING))))))
    report: list[str] = []
    for patient_id in patients:
        with transaction(app.engine) as session:
            timeline = load_timeline(session, app, patient_id)
        keep: list[int] = []
        for episode in sorted(timeline.running(), key=lambda e: (e.start_date, e.id)):
            lanes = timeline.rule(episode.pathway_id).lanes
            clash = next((k for k in keep if lanes & _lanes_of(timeline, k)), None)
            if clash is None:
                keep.append(episode.id)
                continue
            report.append(f"episode {episode.id} ({patient_id}, {episode.pathway_id}) cancelled: "
                          f"runs beside episode {clash}")
            if not dry_run:
                apply_event(app, patient_id, Cancel(episode.id, f"duplicate of episode {clash}"))
        if not dry_run:
            report += _claim_missing(app, patient_id, keep)
    return report


def _lanes_of(timeline: Timeline, episode_id: int) -> frozenset[str]:
    return timeline.rule(timeline.episode(episode_id).pathway_id).lanes


def _claim_missing(app: App, patient_id: str, episode_ids: list[int]) -> list[str]:
    lines = []
    with transaction(app.engine) as session:
        lock_patient(session, patient_id)
        for episode_id in episode_ids:
            held = set(session.exec(select(EpisodeClaimRow.lane).where(
                EpisodeClaimRow.episode_id == episode_id,
                col(EpisodeClaimRow.released_at).is_(None))))
            episode = get_episode(session, episode_id)
            rule = pathway_rules(app.config).get(episode.pathway_id)
            missing = sorted((rule.lanes if rule else frozenset({episode.pathway_id})) - held)
            if missing:
                release(session, app, episode_id)
                session.flush()
                claim(session, app, episode)
                lines.append(f"episode {episode_id} ({patient_id}) now holds: "
                             + ", ".join(missing))
    return lines
