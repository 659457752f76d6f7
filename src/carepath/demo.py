"""The main job on the embedded default: twelve weeks of a clinic, from an empty folder.

``run_demo`` validates the example config, imports the sample patients, enrols about 30 of
them across the three pathways and then lives through the weeks on a virtual clock: visits
are completed (a few missed), measurements and two-hour-rule reports are recorded, the
sweeps run as ``carepath serve`` would run them (reminders, dispatch, goal review, booster
horizon), finished episodes follow their pathway's ``on_complete``, and two stories play
out — one patient stalls (level-1 reassessment, then level 2) and one relapses during
boosters (future boosters cancelled, a post-relapse episode booked). Everything a user
would look at lands under the home folder: ``mail/``, ``calendars/``, ``reports/``.
The same seed gives the same story.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow, EscalationRow, OutboxRow
from carepath.bootstrap import open_app
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir
from carepath.config.settings import Settings
from carepath.domain.config.models import Measure
from carepath.domain.timeutil import local_datetime
from carepath.services import App, lifecycle
from carepath.services.calendars import export_feed
from carepath.services.goals import record_measurement, record_recovery
from carepath.services.patients import import_patients, list_patients
from carepath.services.report import write_episode_report
from carepath.services.scheduling import complete, enroll, no_show
from carepath.services.sweeps import run_sweep

Say = Callable[[str], None]
PATHWAY_MIX = (("post-relapse", 18), ("stable-boosters", 9), ("progression-review", 3))
MEASURED_VISITS = frozenset({"evaluation", "reevaluation", "booster", "review"})
NO_SHOW_RATE = 0.02
TWO_HOUR_FAILURE_RATE = 0.03


@dataclass
class DemoStory:
    """Who plays the two stories, and what the run produced."""

    stalling_patient: str = ""
    relapsing_patient: str = ""
    relapse_day: date | None = None
    relapse_cancelled: list[int] = field(default_factory=list)
    relapse_episode: int | None = None
    waitlisted: int = 0


@dataclass(frozen=True)
class DemoResult:
    app: App
    home: Path
    story: DemoStory
    summary: dict[str, dict[str, int]]


def demo_settings(home: Path, config_dir: Path | None = None) -> Settings:
    home = home.resolve()
    return Settings(home=home, config_dir=config_dir or bundled_config_dir(),
                    database_url=f"sqlite:///{home / 'carepath.db'}", actor="demo")


def run_demo(home: Path, *, start: date, seed: int = 7, weeks: int = 12,
             config_dir: Path | None = None, say: Say = print) -> DemoResult:
    """Run the demo into ``home`` (emptied first) from ``start`` for ``weeks`` weeks."""
    if home.exists():
        shutil.rmtree(home)
    settings = demo_settings(home, config_dir)
    config = load_config(settings.config_dir)  # a ConfigError stops here, before any write
    zone_name = config.clinic.timezone
    clock = FixedClock(local_datetime(start, time(7, 0), ZoneInfo(zone_name)))
    app = open_app(settings, clock, config=config)
    say(f"config ok: {app.config.clinic.name} ({zone_name}), "
        f"{len(app.config.clinic.therapists)} therapists, {len(app.config.pathways)} pathways")
    imported = import_patients(app, settings.config_dir / "demo-patients.csv")
    say(f"patients imported: {imported.created} new, {imported.updated} updated")
    rng = random.Random(seed)
    story = _enrol_everyone(app, start, rng, say)
    _live_through(app, clock, start, weeks, rng, story, say)
    _write_outputs(app, say)
    return DemoResult(app=app, home=settings.home, story=story, summary=summarise(app))


def _local_day(app: App, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(app.config.clinic.timezone)).date()


def _enrol_everyone(app: App, start: date, rng: random.Random, say: Say) -> DemoStory:
    patients = [p.id for p in list_patients(app)]
    rng.shuffle(patients)
    story = DemoStory()
    queue: list[tuple[str, str]] = []
    chosen = iter(patients)
    for pathway, count in PATHWAY_MIX:
        queue += [(pathway, next(chosen)) for _ in range(count)]
    story.stalling_patient = queue[0][1]
    story.relapsing_patient = next(pid for pathway, pid in queue if pathway == "stable-boosters")
    for index, (pathway, patient_id) in enumerate(queue):
        first_day = _open_day(app, start + timedelta(days=index % 10))
        enrolment = enroll(app, patient_id, pathway, first_day, partial=True)
        story.waitlisted += len(enrolment.waitlisted)
    say(f"enrolled {len(queue)} patients: "
        + ", ".join(f"{count} {pathway}" for pathway, count in PATHWAY_MIX)
        + f"; {story.waitlisted} visit(s) wait-listed")
    return story


def _open_day(app: App, day: date) -> date:
    """The first day on or after ``day`` that the clinic opens."""
    hours = app.config.clinic.opening_hours
    while not hours.on(day.weekday()):
        day += timedelta(days=1)
    return day


def _live_through(app: App, clock: FixedClock, start: date, weeks: int, rng: random.Random,
                  story: DemoStory, say: Say) -> None:
    zone = ZoneInfo(app.config.clinic.timezone)
    story.relapse_day = _open_day(app, start + timedelta(weeks=5))
    for offset in range(weeks * 7):
        day = start + timedelta(days=offset)
        clock.set(local_datetime(day, time(6, 0), zone))
        run_sweep(app, "review_goals")
        run_sweep(app, "send_reminders")
        run_sweep(app, "dispatch_outbox")
        if day == story.relapse_day:
            _relapse(app, story, say)
        clock.set(local_datetime(day, time(19, 0), zone))
        _hold_the_days_visits(app, day, rng, story)
        run_sweep(app, "review_goals")  # the evening review sees the day's reassessments
        _finish_completed_episodes(app)
        if day.weekday() == 6:
            run_sweep(app, "extend_boosters")
            run_sweep(app, "dispatch_outbox")
            say(f"week {offset // 7 + 1:>2} ({day:%d %b}): {_week_line(app)}")


def _relapse(app: App, story: DemoStory, say: Say) -> None:
    result = lifecycle.report_relapse(app, story.relapsing_patient)
    story.relapse_cancelled = result.cancelled_visits
    story.relapse_episode = result.next_episode_id
    say(f"relapse reported for {story.relapsing_patient}: {result}")


def _hold_the_days_visits(app: App, day: date, rng: random.Random, story: DemoStory) -> None:
    for row in _booked_on(app, day):
        assert row.id is not None and row.episode_id is not None
        if row.seq > 1 and row.visit_type not in MEASURED_VISITS and rng.random() < NO_SHOW_RATE:
            no_show(app, row.id)
            continue
        complete(app, row.id)
        stalled = row.patient_id == story.stalling_patient
        record_recovery(app, row.episode_id, stalled or rng.random() > TWO_HOUR_FAILURE_RATE,
                        appointment_id=row.id, at=row.end_utc)
        if row.visit_type in MEASURED_VISITS or row.seq % 4 == 0:
            _measure(app, row, rng, stalled)


def _booked_on(app: App, day: date) -> list[AppointmentRow]:
    zone = ZoneInfo(app.config.clinic.timezone)
    start = local_datetime(day, time(0, 0), zone)
    with transaction(app.engine) as session:
        return list(session.exec(
            select(AppointmentRow).where(AppointmentRow.status == "booked")
            .where(col(AppointmentRow.start_utc) >= start)
            .where(col(AppointmentRow.start_utc) < start + timedelta(days=1))
            .order_by(col(AppointmentRow.start_utc))))


def _measure(app: App, row: AppointmentRow, rng: random.Random, stalled: bool) -> None:
    """Record each goal measure: most patients improve a little every time, one stalls."""
    assert row.episode_id is not None
    with transaction(app.engine) as session:
        episode = session.get(EpisodeRow, row.episode_id)
        assert episode is not None
    pathway = app.config.pathway(episode.pathway_id)
    visit_number = row.seq
    for goal in pathway.goals.measures:
        measure = app.config.measures[goal.measure]
        value = _trajectory(measure, _baseline(row.patient_id, goal.measure), visit_number,
                            rng, improving=not stalled and goal.target == "mcid")
        record_measurement(app, row.episode_id, goal.measure, value, at=row.end_utc,
                           appointment_id=row.id)


def _baseline(patient_id: str, measure_id: str) -> float:
    """A stable per-patient starting point, so every episode of a patient agrees."""
    digest = sum(ord(c) for c in patient_id + measure_id)
    return (digest % 100) / 100.0


def _trajectory(measure: Measure, position: float, visit: int, rng: random.Random, *,
                improving: bool) -> float:
    low = measure.min if measure.min is not None else 0.0
    high = measure.max if measure.max is not None else 1.0
    worse, better = (high, low) if measure.better == "lower" else (low, high)
    start = worse + (better - worse) * (0.25 + 0.3 * position)
    gain = 0.035 * visit if improving else 0.0
    value = start + (better - worse) * gain + (better - worse) * rng.uniform(-0.003, 0.003)
    value = min(max(value, min(low, high)), max(low, high))
    return float(round(value)) if measure.whole_numbers else round(value, 1)


def _finish_completed_episodes(app: App) -> None:
    with transaction(app.engine) as session:
        active = session.exec(select(EpisodeRow).where(EpisodeRow.state == "active")
                              .where(EpisodeRow.pathway_id == "post-relapse")).all()
        done = [e.id for e in active if e.id is not None and not _has_booked(session, e.id)]
    for episode_id in done:
        lifecycle.complete_episode(app, episode_id)


def _has_booked(session: Session, episode_id: int) -> bool:
    return session.exec(select(AppointmentRow.id).where(AppointmentRow.episode_id == episode_id)
                        .where(AppointmentRow.status == "booked")).first() is not None


def _week_line(app: App) -> str:
    summary = summarise(app)
    visits, messages, escalations = summary["visits"], summary["messages"], summary["escalations"]
    return (f"{visits.get('completed', 0)} visits done, {visits.get('booked', 0)} booked ahead, "
            f"{messages.get('sent', 0)} messages sent, "
            f"{sum(escalations.values())} escalation(s)")


def _write_outputs(app: App, say: Say) -> None:
    calendars = app.settings.calendars_dir
    for therapist in app.config.clinic.therapists:
        export_feed(app, calendars / f"{therapist.id}.ics", therapist_id=therapist.id)
    with transaction(app.engine) as session:
        episode_ids = [e for e in session.exec(select(EpisodeRow.id)) if e is not None]
    for episode_id in episode_ids:
        report = app.settings.reports_dir / f"episode-{episode_id}.html"
        write_episode_report(app, episode_id, report)
    say(f"wrote {len(app.config.clinic.therapists)} therapist feeds and "
        f"{len(episode_ids)} episode reports")


def summarise(app: App) -> dict[str, dict[str, int]]:
    """Counts by state: episodes, visits, outbox messages, escalations by level."""
    with transaction(app.engine) as session:
        episodes = Counter(session.exec(select(EpisodeRow.state)))
        visits = Counter(session.exec(select(AppointmentRow.status)))
        messages = Counter(session.exec(select(OutboxRow.status)))
        levels = session.exec(select(EscalationRow.level))
        escalations = Counter(f"level {level}" for level in levels)
    return {"episodes": dict(episodes), "visits": dict(visits), "messages": dict(messages),
            "escalations": dict(escalations)}
