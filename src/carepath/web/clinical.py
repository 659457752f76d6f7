"""The clinical services the pages call, in one place: recording a measurement with its
verdict, previewing and accepting an escalation's proposal. Each is a thin call to the
service of the same name, so a change of those services' signatures is a change here only
(the clinical review's own preview and verdict services replace these bodies at merge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from carepath.adapters.db import transaction
from carepath.adapters.tables import EpisodeRow
from carepath.errors import InputError
from carepath.services import App
from carepath.services.clinic_views import Chart, clinic_today, measure_chart_of
from carepath.services.enrol_preview import Preview, preview_enrolment
from carepath.services.escalations import (
    accept_escalation,
    dismiss_escalation,
    get_escalation,
    resolve_escalation,
)
from carepath.services.goals import GoalView, record_measurement, record_recovery


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
    """What accepting would book: the proposed pathway for the episode's patient, from
    tomorrow, with the episode's therapist (as ``accept_escalation`` enrols)."""
    escalation = get_escalation(app, escalation_id)
    if not escalation.proposed_pathway or escalation.status != "open":
        raise InputError(f"escalation {escalation_id}", "has no open proposal to accept")
    with transaction(app.engine) as session:
        episode = session.get(EpisodeRow, escalation.episode_id)
        assert episode is not None
        patient, therapist = episode.patient_id, episode.therapist_id
    return preview_enrolment(app, patient, escalation.proposed_pathway,
                             clinic_today(app) + timedelta(days=1), therapist)


def accept(app: App, escalation_id: int) -> int:
    """Enrol as the escalation proposes; the new episode's id."""
    return accept_escalation(app, escalation_id)


def resolve(app: App, escalation_id: int, reason: str) -> None:
    resolve_escalation(app, escalation_id, reason)


def dismiss(app: App, escalation_id: int, reason: str) -> None:
    dismiss_escalation(app, escalation_id, reason)
