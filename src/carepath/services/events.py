"""Domain events raised inside a use case's transaction, handled in the same transaction.

Scheduling raises ``AppointmentsBooked`` / ``AppointmentChanged`` / ``AppointmentCancelled``
(``AppointmentsCancelled`` for many visits at once);
messaging handles them and writes outbox rows, so a change and the messages it causes commit
(or roll back) together. Which handlers hear which event is one explicit table, built by
``carepath.bootstrap.event_handlers`` and carried by the ``App``: nothing registers itself
by being imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

if TYPE_CHECKING:
    from carepath.services import App


@dataclass(frozen=True)
class AppointmentsBooked:
    """New appointments, e.g. a whole episode at enrolment, or one reassessment."""

    appointment_ids: tuple[int, ...]
    episode_id: int | None = None
    reason: str = "booked"  # "enrolment", "reassessment", "rebooked", …
    # Batch enrolment and import: messages are composed before the next dispatch, from
    # the facts written now (``notify.compose_pending``), not inside the booking.
    deferred: bool = False


@dataclass(frozen=True)
class AppointmentChanged:
    """Time, length or therapist of a booked appointment changed."""

    appointment_id: int
    previous_start: datetime
    previous_therapist_id: str
    reason: str = "rescheduled"


@dataclass(frozen=True)
class AppointmentCancelled:
    appointment_id: int
    reason: str = "cancelled"


@dataclass(frozen=True)
class AppointmentsCancelled:
    """Many visits of one episode cancelled at once (a relapse pauses a booster series):
    one event, so the patient hears once, not once per visit."""

    appointment_ids: tuple[int, ...]
    episode_id: int | None = None
    reason: str = "cancelled"


@dataclass(frozen=True)
class EscalationRaised:
    """A goal review opened an escalation; the decision it stores says whom to tell and why."""

    escalation_id: int
    level: int
    kind: str  # stall, worsening, multi_worsening, two_hour, no_show, under_scheduled


@dataclass(frozen=True)
class ProgressionHoldChanged:
    """A hold on progression was placed on (or cleared from) an episode: the therapist's invite
    for its next visit must say so (or no longer say so)."""

    episode_id: int
    at: datetime  # visits after this instant are the "next" ones
    reason: str  # "hold on progression placed" or "… cleared"


Event = (AppointmentsBooked | AppointmentChanged | AppointmentCancelled | AppointmentsCancelled
         | EscalationRaised | ProgressionHoldChanged)
Handler = Callable[[Session, "App", Any], None]
Handlers = Mapping[type, Sequence[Handler]]  # event type → its handlers, in order


def publish(session: Session, app: App, event: Event) -> None:
    """Run every handler of ``event`` in the caller's transaction."""
    for handler in app.handlers.get(type(event), ()):
        handler(session, app, event)
