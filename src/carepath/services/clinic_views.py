"""What the web app's pages show, read in one transaction each: a therapist's day and week,
an episode, the open escalations. Times are turned into the clinic's local time here, so
templates only lay values out.

"Hold progression" is the clinical review's hold (``services.holds``): placed when the
two-hour rule fails, shown until a therapist clears it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, EpisodeRow, EscalationRow, PatientRow
from carepath.domain.goals.charts import measure_chart
from carepath.domain.messages.visits import CalendarVisit
from carepath.errors import NotFound
from carepath.services import App
from carepath.services.calendar_views import views_of
from carepath.services.escalations import EscalationView, escalation_view, list_escalations
from carepath.services.goals import GoalView, ensure_goals, list_goals
from carepath.services.holds import held_episodes
from carepath.services.measure_charts import episode_charts


@dataclass(frozen=True)
class VisitLine:
    id: int
    episode_id: int | None
    day: date
    weekday: str
    start: str
    end: str
    visit: str
    patient: str
    room: str
    status: str
    heat: bool
    hold: bool


@dataclass(frozen=True)
class Day:
    therapist: str
    today: date
    visits_today: list[VisitLine]
    week: list[VisitLine]


@dataclass(frozen=True)
class Chart:
    svg: Markup
    caption: str


@dataclass(frozen=True)
class EpisodePage:
    id: int
    patient: str
    pathway: str
    state: str
    goals: list[GoalView]
    charts: list[Chart]
    visits: list[VisitLine]
    escalations: list[EscalationView]
    measures: list[tuple[str, str]]  # (id, name) the pathway's goals measure


def zone_of(app: App) -> ZoneInfo:
    return ZoneInfo(app.config.clinic.timezone)


def clinic_today(app: App) -> date:
    return app.clock.now().astimezone(zone_of(app)).date()


def holds_of(session: Session, episode_ids: Sequence[int]) -> set[int]:
    """Episodes whose progression is on hold (a hold not yet cleared)."""
    return held_episodes(session, episode_ids)


def _lines(session: Session, app: App, rows: list[AppointmentRow]) -> list[VisitLine]:
    zone = zone_of(app)
    visits = views_of(session, app, rows)
    holds = holds_of(session, [v.appointment.episode_id for v in visits
                               if v.appointment.episode_id is not None])
    return [_line(v, zone, holds) for v in visits]


def _line(visit: CalendarVisit, zone: ZoneInfo, holds: set[int]) -> VisitLine:
    a = visit.appointment
    start, end = a.start.astimezone(zone), a.end.astimezone(zone)
    return VisitLine(a.id, a.episode_id, start.date(), start.strftime("%A"),
                     start.strftime("%H:%M"), end.strftime("%H:%M"), a.visit_name,
                     visit.patient.name,
                     ", ".join(r.name for r in visit.resources if r.kind == "room") or "—",
                     a.status,
                     visit.patient.heat_sensitive, a.episode_id in holds)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def therapist_of_visit(app: App, appointment_id: int) -> str:
    """Whose diary the visit is in (a therapist acts on their own visits only)."""
    with transaction(app.engine) as session:
        row = session.get(AppointmentRow, appointment_id)
        if row is None:
            raise NotFound("visit", appointment_id)
        return row.therapist_id


def therapist_day(app: App, therapist_id: str, day: date | None = None) -> Day:
    """The therapist's visits today and for the rest of this week (Monday to Sunday)."""
    zone, today = zone_of(app), day or clinic_today(app)
    monday = today - timedelta(days=today.weekday())
    first = _local_midnight(monday, zone)
    last = _local_midnight(monday + timedelta(days=7), zone)
    with transaction(app.engine) as session:
        rows = list(session.exec(select(AppointmentRow).where(
            AppointmentRow.therapist_id == therapist_id,
            col(AppointmentRow.start_utc) >= first, col(AppointmentRow.start_utc) < last,
            AppointmentRow.status != "cancelled")))
        lines = _lines(session, app, rows)
    return Day(app.config.therapist(therapist_id).name, today,
               [v for v in lines if v.day == today], [v for v in lines if v.day != today])


def visits_in(app: App, therapist_id: str, first: date, last: date) -> list[VisitLine]:
    """The therapist's booked visits from ``first`` to ``last`` (clinic days): what leave
    over those days would move."""
    app.config.therapist(therapist_id)
    zone = zone_of(app)
    with transaction(app.engine) as session:
        rows = list(session.exec(select(AppointmentRow).where(
            AppointmentRow.therapist_id == therapist_id, AppointmentRow.status == "booked",
            col(AppointmentRow.start_utc) >= _local_midnight(first, zone),
            col(AppointmentRow.start_utc) < _local_midnight(last + timedelta(days=1), zone))))
        return _lines(session, app, rows)


def episode_page(app: App, episode_id: int) -> EpisodePage:
    """An episode as its therapist reads it: goals with verdicts, charts, visits, escalations."""
    goals = list_goals(app, episode_id)
    with transaction(app.engine) as session:
        episode = session.get(EpisodeRow, episode_id)
        if episode is None:
            raise NotFound("episode", episode_id)
        patient = session.get(PatientRow, episode.patient_id)
        ensure_goals(session, app, episode_id)
        charts = [Chart(Markup(measure_chart(c.spec)), c.caption)
                  for c in episode_charts(session, app, episode_id)]
        rows = list(session.exec(select(AppointmentRow).where(
            AppointmentRow.episode_id == episode_id)))
        visits = _lines(session, app, rows)
    pathway = app.config.pathways.get(episode.pathway_id)
    return EpisodePage(episode_id, patient.name if patient else episode.patient_id,
                       pathway.name if pathway else episode.pathway_id, episode.state, goals,
                       charts, visits, list_escalations(app, episode_id=episode_id),
                       [(g.measure, g.name) for g in goals])


def measure_chart_of(app: App, episode_id: int, measure_id: str) -> Chart | None:
    """One measure's chart (after recording it, beside the verdict)."""
    with transaction(app.engine) as session:
        found = episode_charts(session, app, episode_id, only=[measure_id])
    return Chart(Markup(measure_chart(found[0].spec)), found[0].caption) if found else None


@dataclass(frozen=True)
class InboxItem:
    escalation: EscalationView
    patient: str
    chart: Chart | None


def open_escalations(app: App, therapist_id: str | None = None,
                     limit: int = 50) -> list[InboxItem]:
    """Open escalations, newest first, with the patient's name and the chart of the first
    measure in their evidence; a therapist sees those of their own episodes and those
    assigned to them (a senior's case reviews)."""
    query = (select(EscalationRow, EpisodeRow.therapist_id, PatientRow.name)
             .join(EpisodeRow, col(EpisodeRow.id) == EscalationRow.episode_id)
             .join(PatientRow, col(PatientRow.id) == EpisodeRow.patient_id)
             .where(EscalationRow.status == "open")
             .order_by(col(EscalationRow.id).desc()).limit(limit))
    if therapist_id:
        query = query.where((EpisodeRow.therapist_id == therapist_id)
                            | (EscalationRow.assigned_to == therapist_id))
    items = []
    with transaction(app.engine) as session:
        for row, _therapist, patient in session.exec(query).all():
            view = escalation_view(row)
            measures = [m.measure_id for m in view.decision.opened.evidence]
            charts = episode_charts(session, app, row.episode_id, only=measures[:1]) \
                if measures else []
            chart = Chart(Markup(measure_chart(charts[0].spec)), charts[0].caption) \
                if charts else None
            items.append(InboxItem(view, patient, chart))
    return items


@dataclass(frozen=True)
class Board:
    """The admin's board: a page of patients, the outbox's state, recent runs, the config."""

    query: str
    patients: list[tuple[str, str, str]]  # id, name, open episode's pathway (or "")
    more: bool
    outbox: dict[str, int]
    dead: list[tuple[int, str, str]]  # id, kind, last error
    runs: list[tuple[str, str, str, str]]  # flow, status, started (clinic time), summary
    config_problems: list[str]


def admin_board(app: App, query: str = "", limit: int = 50) -> Board:
    from sqlmodel import func

    from carepath.adapters.tables import OutboxRow, RunRow

    text = query.strip()[:100]
    zone = zone_of(app)
    with transaction(app.engine) as session:
        found = select(PatientRow).order_by(col(PatientRow.name), col(PatientRow.id))
        if text:
            like = f"%{text.lower()}%"
            found = found.where(func.lower(PatientRow.name).like(like)
                                | func.lower(PatientRow.id).like(like))
        rows = list(session.exec(found.limit(limit + 1)))
        open_episodes = dict(session.exec(
            select(EpisodeRow.patient_id, EpisodeRow.pathway_id).where(
                col(EpisodeRow.patient_id).in_([r.id for r in rows]),
                col(EpisodeRow.state).in_(("planned", "active")))).all())
        counts = dict(session.exec(select(OutboxRow.status, func.count()).group_by(
            col(OutboxRow.status))).all())
        dead = [(r.id or 0, r.kind, r.last_error[:200]) for r in session.exec(
            select(OutboxRow).where(OutboxRow.status == "dead").order_by(
                col(OutboxRow.id).desc()).limit(20))]
        runs = [(r.flow, r.status, r.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                 r.summary[:200]) for r in session.exec(
                     select(RunRow).order_by(col(RunRow.id).desc()).limit(10))]
    return Board(text, [(r.id, r.name, open_episodes.get(r.id, "")) for r in rows[:limit]],
                 len(rows) > limit, counts, dead, runs, config_problems(app.settings.config_dir))


_checked: dict[Path, tuple[tuple[tuple[str, int, int], ...], list[str]]] = {}


def config_problems(folder: Path) -> list[str]:
    """The config folder's problems as ``carepath config validate`` lists them; checked
    again only when a file in it changed (a full check reads and validates every file)."""
    from carepath.config.loader import load_config
    from carepath.errors import ConfigError

    stamp = tuple(sorted((str(f), s.st_mtime_ns, s.st_size) for f in folder.rglob("*")
                         if f.is_file() for s in [f.stat()]))
    cached = _checked.get(folder)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        load_config(folder)
        problems: list[str] = []
    except ConfigError as error:
        problems = [str(p) for p in error.problems]
    _checked[folder] = (stamp, problems)
    return problems


@dataclass(frozen=True)
class Imported:
    created: int
    updated: int
    unchanged: int
    problems: list[str]  # "line N: …"; when any, nothing was imported


def import_patients_text(app: App, text: str) -> Imported:
    """Import patients from CSV text (as ``carepath patients import`` does a file): all or
    nothing, every wrong line named."""
    import tempfile

    from carepath.errors import InputError
    from carepath.services.patients import import_patients

    with tempfile.TemporaryDirectory(prefix="carepath-import-") as folder:
        path = Path(folder) / "patients.csv"
        path.write_text(text.replace("\r\n", "\n"), encoding="utf-8")
        try:
            result = import_patients(app, path)
        except InputError as error:
            lines = [line.strip() for line in error.why.splitlines()[1:] if line.strip()]
            return Imported(0, 0, 0, lines or [error.why.replace(str(path), "the text")])
    return Imported(result.created, result.updated, result.unchanged, [])
