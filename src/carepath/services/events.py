"""Domain events raised inside a use case's transaction, handled in the same transaction.

Scheduling raises ``AppointmentsBooked`` / ``AppointmentChanged`` / ``AppointmentCancelled``
(``AppointmentsCancelled`` for many visits at once);
messaging subscribes and writes outbox rows, so a change and the messages it causes commit
(or roll back) together. Handlers register with ``@subscribe(EventType)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

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
    """A goal review opened an escalation; the row's evidence says whom to tell and why."""

    escalation_id: int
    level: int
    kind: str  # stall, worsening, multi_worsening, two_hour, no_show, under_scheduled


Event = (AppointmentsBooked | AppointmentChanged | AppointmentCancelled | AppointmentsCancelled
         | EscalationRaised)
Handler = Callable[[Session, "App", Any], None]
_HANDLERS: dict[type, list[Handler]] = {}
H = TypeVar("H", bound=Handler)


def subscribe(event_type: type) -> Callable[[H], H]:
    def register(handler: H) -> H:
        _HANDLERS.setdefault(event_type, []).append(handler)
        return handler

    return register


def publish(session: Session, app: App, event: Event) -> None:
    """Run every handler of ``event`` in the caller's transaction."""
    for handler in _HANDLERS.get(type(event), []):
        handler(session, app, event)
