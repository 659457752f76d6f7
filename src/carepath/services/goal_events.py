"""Goals exist from the moment an episode is booked, in the enrolment's own transaction.

A therapist can then set or revise them (``carepath goals set``) before the first visit;
the baseline fills in when the evaluation's measurement is recorded.
"""

from __future__ import annotations

from sqlmodel import Session

from carepath.services import App
from carepath.services.events import AppointmentsBooked
from carepath.services.goal_store import ensure_goals


def goals_at_enrolment(session: Session, app: App, event: AppointmentsBooked) -> None:
    if event.reason == "enrolment" and event.episode_id is not None:
        ensure_goals(session, app, event.episode_id)
