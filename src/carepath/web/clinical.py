"""The clinical services the pages call, in one place: recording a measurement with its
verdict, and accepting an escalation's proposal. Each is a thin call to the service of the
same name, so a change of those services' signatures is a change here only."""

from __future__ import annotations

from dataclasses import dataclass

from carepath.services import App
from carepath.services.clinic_views import Chart, measure_chart_of
from carepath.services.escalations import accept_escalation, dismiss_escalation, resolve_escalation
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


def accept(app: App, escalation_id: int) -> int:
    """Enrol as the escalation proposes; the new episode's id."""
    return accept_escalation(app, escalation_id)


def resolve(app: App, escalation_id: int, reason: str) -> None:
    resolve_escalation(app, escalation_id, reason)


def dismiss(app: App, escalation_id: int, reason: str) -> None:
    dismiss_escalation(app, escalation_id, reason)
