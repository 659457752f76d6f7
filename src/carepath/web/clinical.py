"""The clinical services the pages call, in one place: recording a measurement with its
verdict, previewing and accepting an escalation's proposal. Each is a thin call to the
service of the same name, so a change of those services' signatures is a change here only
(``preview_acceptance`` and ``accept_proposal`` are the clinical review's services)."""

from __future__ import annotations

from dataclasses import dataclass

from carepath.services import App
from carepath.services.clinic_views import Chart, measure_chart_of, zone_of
from carepath.services.enrol_preview import Preview, PreviewVisit
from carepath.services.escalations import (
    accept_proposal,
    dismiss_escalation,
    preview_acceptance,
    resolve_escalation,
)
from carepath.services.goals import GoalView, record_measurement, record_recovery
from carepath.services.patients import get_patient


@dataclass(frozen=True)
class Recorded:
    """A measurement just recorded: its goal's verdict (None when no goal measures it) and
    the measure's chart as it now stands."""

    goal: GoalView | None
    chart: Chart | None


def record(app: App, episode_id: int, measure: str, value: str,
           appointment_id: int | None = None) -> Recorded:
    goal = record_measurement(app, episode_id, measure, value, appointment_id=appointment_id)
    return Recorded(goal, measure_chart_of(app, episode_id, measure))


def two_hour_report(app: App, episode_id: int, recovered: bool,
                    appointment_id: int | None = None) -> None:
    record_recovery(app, episode_id, recovered, appointment_id=appointment_id)


def accept_preview(app: App, escalation_id: int) -> Preview:
    """What accepting would book (``preview_acceptance``), laid out as the enrolment preview."""
    preview = preview_acceptance(app, escalation_id)
    zone = zone_of(app)
    return Preview(get_patient(app, preview.patient_id).name, preview.pathway_name,
                   preview.start,
                   [PreviewVisit(v.start.astimezone(zone).strftime("%a %-d %b %Y %H:%M"),
                                 v.visit, app.config.therapist(v.therapist_id).name, "—")
                    for v in preview.visits], [])


def accept(app: App, escalation_id: int) -> int:
    """Enrol as the escalation proposes (``accept_proposal``); the new episode's id."""
    return accept_proposal(app, escalation_id).new_episode_id


def resolve(app: App, escalation_id: int, reason: str) -> None:
    resolve_escalation(app, escalation_id, reason)


def dismiss(app: App, escalation_id: int, reason: str) -> None:
    dismiss_escalation(app, escalation_id, reason)
