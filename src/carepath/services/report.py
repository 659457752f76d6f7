"""The episode report a therapist opens offline: one HTML file, no scripts, no links out.

Goals with their verdicts, each measure over time as an inline SVG (values, the MCID band
around the baseline, the target), attendance, two-hour-rule reports and escalations. Every
value from the database is escaped by Jinja2's autoescape; the charts escape their own text.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup
from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.output_file import write_output_file
from carepath.adapters.tables import (
    AppointmentRow,
    EscalationRow,
    PatientRow,
    RecoveryReportRow,
)
from carepath.domain.goals.attendance import Visit, attendance
from carepath.domain.goals.charts import measure_chart
from carepath.services import App
from carepath.services.escalations import decision_of
from carepath.services.goals import GoalView, episode_of, list_goals
from carepath.services.measure_charts import episode_charts

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Episode {{ episode.id }} — {{ patient }}</title>
<style>
body { font: 17px/1.5 system-ui, sans-serif; color: #111; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #999; padding: .3rem .6rem; text-align: left; }
th { background: #eee; }
.worsening { color: #a00000; font-weight: bold; } .achieved { color: #1b7f3b; font-weight: bold; }
figure { margin: 1rem 0 2rem; } figcaption { font-size: 15px; color: #333; }
</style></head><body>
<h1>Episode {{ episode.id }}: {{ patient }}</h1>
<p>{{ pathway }} (version {{ episode.pathway_version }}), started {{ episode.start_date }},
therapist {{ episode.therapist_id or "not assigned" }}, state {{ episode.state }}.
Generated {{ generated }}.</p>
<h2>Goals</h2>
<table><tr><th>measure</th><th>baseline</th><th>target</th><th>due</th><th>latest</th>
<th>reviews</th><th>verdict</th></tr>
{% for g in goals %}<tr><td>{{ g.name }} ({{ g.unit }})</td><td>{{ g.baseline }}</td>
<td>{{ g.target }}</td><td>{{ g.due or "" }}</td><td>{{ g.latest }}</td><td>{{ g.reviews }}</td>
<td class="{{ g.verdict }}">{{ g.verdict.replace("_", " ") }}</td></tr>
{% endfor %}</table>
<h2>Measures over time</h2>
<p>The shaded band is "no real change" from the baseline (at least the MCID and the noise
threshold); the dashed line is the target.</p>
{% for chart in charts %}<figure>{{ chart.svg }}
<figcaption>{{ chart.caption }}</figcaption></figure>
{% endfor %}
<h2>Attendance</h2>
<p>{{ counts.completed }} completed, {{ counts.booked }} booked, {{ counts.no_shows }} missed,
{{ counts.cancelled }} cancelled ({{ counts.late_cancellations }} less than 24 hours ahead).</p>
<table><tr><th>when</th><th>visit</th><th>status</th></tr>
{% for v in visits %}<tr><td>{{ v.when }}</td><td>{{ v.name }}</td><td>{{ v.status }}</td></tr>
{% endfor %}</table>
<h2>Two-hour rule</h2>
{% if recoveries %}<table><tr><th>reported</th><th>recovered within two hours?</th></tr>
{% for r in recoveries %}<tr><td>{{ r.when }}</td><td>{{ "yes" if r.recovered else "NO" }}</td>
</tr>{% endfor %}</table>{% else %}<p>No reports.</p>{% endif %}
<h2>Escalations</h2>
{% if escalations %}<table><tr><th>#</th><th>opened</th><th>level</th><th>kind</th>
<th>status</th><th>summary</th><th>actions</th></tr>
{% for e in escalations %}<tr><td>{{ e.id }}</td><td>{{ e.when }}</td><td>{{ e.level }}</td>
<td>{{ e.kind }}</td><td>{{ e.status }}{% if e.resolution %}: {{ e.resolution }}{% endif %}</td>
<td>{{ e.summary }}</td><td>{{ e.actions }}</td></tr>{% endfor %}</table>
{% else %}<p>None.</p>{% endif %}
</body></html>
"""


def render_episode_report(app: App, episode_id: int) -> str:
    """The report's HTML text."""
    goals = list_goals(app, episode_id)
    zone = ZoneInfo(app.config.clinic.timezone)
    with transaction(app.engine) as session:
        context = _context(session, app, episode_id, goals, zone)
    env = Environment(autoescape=True, undefined=StrictUndefined)
    return env.from_string(TEMPLATE).render(**context)


def write_episode_report(app: App, episode_id: int, output: Path, *,
                         force: bool = False) -> Path:
    """Write the report to ``output``: owner-only (it holds patient data), atomic, never
    through a symbolic link (see ``adapters.output_file``)."""
    html = render_episode_report(app, episode_id)
    return write_output_file(output, html.encode("utf-8"), force=force)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _context(session: Session, app: App, episode_id: int, goals: list[GoalView],
             zone: ZoneInfo) -> dict[str, Any]:
    episode = episode_of(session, episode_id)
    patient = session.get(PatientRow, episode.patient_id)
    visits = list(session.exec(select(AppointmentRow).where(
        AppointmentRow.episode_id == episode_id).order_by(col(AppointmentRow.start_utc))))
    recoveries = session.exec(select(RecoveryReportRow).where(
        RecoveryReportRow.episode_id == episode_id).order_by(col(RecoveryReportRow.reported_at)))
    escalations = session.exec(select(EscalationRow).where(
        EscalationRow.episode_id == episode_id).order_by(col(EscalationRow.id)))
    pathway = app.config.pathways.get(episode.pathway_id)
    return {
        "episode": episode, "patient": patient.name if patient else episode.patient_id,
        "pathway": pathway.name if pathway else episode.pathway_id,
        "generated": _local(app.clock.now(), zone), "goals": goals,
        "charts": _charts(session, app, episode_id),
        "counts": attendance([Visit(v.id or 0, v.status, v.start_utc, v.updated_at)
                              for v in visits]),
        "visits": [{"when": _local(v.start_utc, zone), "name": v.visit_name, "status": v.status}
                   for v in visits],
        "recoveries": [{"when": _local(r.reported_at, zone), "recovered": r.recovered}
                       for r in recoveries],
        "escalations": [_escalation(e, zone) for e in escalations],
    }


def _escalation(row: EscalationRow, zone: ZoneInfo) -> dict[str, Any]:
    actions = decision_of(row).actions
    return {"id": row.id, "when": _local(row.created_at, zone), "level": row.level,
            "kind": row.kind, "status": row.status, "resolution": row.resolution,
            "summary": row.summary, "actions": "; ".join(str(a) for a in actions)}


def _charts(session: Session, app: App, episode_id: int) -> list[dict[str, Any]]:
    return [{"svg": Markup(measure_chart(chart.spec)), "caption": chart.caption}
            for chart in episode_charts(session, app, episode_id)]
