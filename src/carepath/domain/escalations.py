"""Escalations: their lifecycle as one table, and the effects a review decides on.

```
open ──schedule──▶ scheduled ──resolve──▶ resolved
  │                    │
  ├──resolve──▶ resolved
  └──dismiss──▶ dismissed ◀──dismiss──┘   (a dismissal always carries a reason)
```

A review *decides* (``carepath.domain.review``) and returns the effects below, each with an
idempotency key built from the escalation's ``dedupe_key``; the service applies them in one
transaction. The same condition always yields the same key, so re-running a review never
escalates twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from carepath.domain.transitions import advance
from carepath.errors import InputError

EscalationStatus = Literal["open", "scheduled", "resolved", "dismissed"]
EscalationKind = Literal["stall", "worsening", "two_hour", "no_show", "under_scheduled",
                         "multi_worsening"]

TRANSITIONS: dict[tuple[str, str], str] = {
    ("open", "schedule"): "scheduled",
    ("open", "resolve"): "resolved",
    ("open", "dismiss"): "dismissed",
    ("scheduled", "resolve"): "resolved",
    ("scheduled", "dismiss"): "dismissed",
}

OPEN_STATUSES = frozenset({"open", "scheduled"})


def next_status(escalation_id: object, current: str, event: str, reason: str = "") -> str:
    """The status after ``event``; a dismissal without a reason is refused."""
    if event == "dismiss" and not reason.strip():
        raise InputError(f"escalation {escalation_id}", "a dismissal needs a reason",
                         "say why, e.g. --reason 'seen in clinic, plateau expected'")
    return advance(TRANSITIONS, "escalation", escalation_id, current, event)


@dataclass(frozen=True)
class MeasureEvidence:
    """One goal's readings against its MCID band (around the baseline) and its target."""

    measure_id: str
    name: str
    unit: str
    baseline: str
    target: str
    band_low: float
    band_high: float
    values: tuple[tuple[str, str], ...]  # (ISO instant, value as shown)
    verdict: str


@dataclass(frozen=True)
class OpenEscalation:
    key: str
    level: int
    kind: EscalationKind
    summary: str
    evidence: tuple[MeasureEvidence, ...] = ()
    facts: tuple[str, ...] = ()  # plain sentences: which reports, which visits


@dataclass(frozen=True)
class BookReassessment:
    """Book one reassessment for these escalations, or link the one already booked."""

    key: str
    escalation_keys: tuple[str, ...]
    visit_type: str
    therapist_id: str | None
    within_days: int
    existing_appointment_id: int | None = None
    fallback_appointment_id: int | None = None  # the next visit in the window, if none fits


@dataclass(frozen=True)
class NotifyTherapist:
    key: str
    escalation_key: str
    therapist_id: str | None
    reason: str


@dataclass(frozen=True)
class OpenCaseReview:
    key: str
    escalation_key: str
    senior_therapist_id: str | None


@dataclass(frozen=True)
class NotifyPhysician:
    key: str
    escalation_key: str


@dataclass(frozen=True)
class ProposePathway:
    key: str
    escalation_key: str
    pathway_id: str


@dataclass(frozen=True)
class PromptRelapseScreen:
    key: str
    escalation_key: str


@dataclass(frozen=True)
class HoldProgression:
    key: str
    escalation_key: str


Effect = (OpenEscalation | BookReassessment | NotifyTherapist | OpenCaseReview
          | NotifyPhysician | ProposePathway | PromptRelapseScreen | HoldProgression)


@dataclass(frozen=True)
class KnownEscalation:
    """An escalation already on record, as a review needs to see it."""

    key: str
    level: int
    kind: str
    status: str
    created_at: datetime
    reassessment_start: datetime | None = None
    reassessment_status: str | None = None
    appointment_id: int | None = None
