"""Escalations: their lifecycle as one table, and the effects a review decides on.

```
open ──schedule──▶ scheduled ──resolve──▶ resolved
  │                    │
  ├──resolve──▶ resolved
  └──dismiss──▶ dismissed ◀──dismiss──┘   (a dismissal always carries a reason)
```

A review *decides* (``carepath.domain.goals.review``) and returns the effects below, each with an
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


@dataclass(frozen=True)
class Reassessment:
    """What came of booking the reassessment a ``BookReassessment`` asked for."""

    appointment_id: int | None  # None: nothing could be booked
    failure: str = ""  # why the episode's therapist, or everyone, had no time
    at_visit: bool = False  # no room for a separate visit: reassess at this booked visit


@dataclass(frozen=True)
class Wording:
    """What an escalation written before decisions were stored typed said it did and asked."""

    actions: tuple[str, ...] = ()
    to_do: tuple[str, ...] = ()


@dataclass(frozen=True)
class EscalationDecision:
    """One escalation as the review decided it and as it was carried out: what is stored on
    the escalation, what decides whom a notification reaches, and what people are shown.

    ``effects`` are the decision's other effects on this escalation, in the decision's
    order; ``reassessment`` is what came of its ``BookReassessment``; ``pathway_name`` the
    proposed pathway's name when it was proposed. ``wording`` is set only on escalations
    written before decisions were stored as they are: their sentences, kept as written.
    """

    opened: OpenEscalation
    effects: tuple[Effect, ...] = ()
    reassessment: Reassessment | None = None
    pathway_name: str = ""
    wording: Wording | None = None

    @property
    def therapists_to_tell(self) -> tuple[str, ...]:
        """The episode's therapist, then the case reviewer: each once, the unknown never."""
        wanted = [*(e.therapist_id for e in self.effects if isinstance(e, NotifyTherapist)),
                  *(e.senior_therapist_id for e in self.effects
                    if isinstance(e, OpenCaseReview))]
        return tuple(dict.fromkeys(t for t in wanted if t))

    @property
    def tells_physician(self) -> bool:
        return any(isinstance(e, NotifyPhysician) for e in self.effects)

    @property
    def holds_progression(self) -> bool:
        return any(isinstance(e, HoldProgression) for e in self.effects)

    @property
    def actions(self) -> tuple[str, ...]:
        """What carepath did, in the order it did it."""
        if self.wording is not None:
            return self.wording.actions
        return tuple(line for e in self.effects for line in _said(self, e)[0])

    @property
    def to_do(self) -> tuple[str, ...]:
        """What the therapist should do: carepath cannot screen for a relapse, and a
        proposal is only proposed until someone accepts it."""
        if self.wording is not None:
            return self.wording.to_do
        return tuple(line for e in self.effects for line in _said(self, e)[1])


def decided_for(key: str, effects: tuple[Effect, ...]) -> tuple[Effect, ...]:
    """The effects of a decision on the escalation ``key`` (its opening excluded), in order."""
    return tuple(e for e in effects
                 if (isinstance(e, BookReassessment) and key in e.escalation_keys)
                 or (not isinstance(e, OpenEscalation | BookReassessment)
                     and e.escalation_key == key))


def _said(decision: EscalationDecision, effect: Effect) -> tuple[list[str], list[str]]:
    """One effect in words: (what carepath did, what the therapist should do)."""
    if isinstance(effect, NotifyTherapist):
        return ([f"emailed the episode's therapist ({effect.therapist_id})"
                 if effect.therapist_id else "no therapist is assigned to the episode"], [])
    if isinstance(effect, PromptRelapseScreen):
        return [], ["screen for a relapse at the reassessment (new or worse symptoms "
                    "lasting 24 hours or more); carepath has not done this"]
    if isinstance(effect, HoldProgression):
        return (["put a hold on progression: the episode's visits and invites show it until "
                 "a therapist clears it"],
                ["do not make the next session harder; clear the hold when the patient "
                 "recovers within two hours again"])
    if isinstance(effect, OpenCaseReview):
        return [f"opened a case review for senior therapist "
                f"{effect.senior_therapist_id or '(none configured)'}"], []
    if isinstance(effect, NotifyPhysician):
        return ["wrote to the referring physician"], []
    if isinstance(effect, ProposePathway):
        name = decision.pathway_name or effect.pathway_id
        return [], [f"decide on the proposed {name}: nothing is booked until it is accepted"]
    if isinstance(effect, BookReassessment):
        return _booking_said(effect, decision.reassessment or Reassessment(None))
    return [], []


def _booking_said(effect: BookReassessment,
                  outcome: Reassessment) -> tuple[list[str], list[str]]:
    if outcome.appointment_id is None:
        return ([f"could NOT book a reassessment: {outcome.failure}"],
                [f"book a reassessment within {effect.within_days} days by hand"])
    note = ""
    if outcome.at_visit:
        note = f"; no room for a separate visit ({outcome.failure}), so reassess at this visit"
    elif outcome.failure:
        note = f" with another therapist, because: {outcome.failure}"
    return [f"booked a reassessment (appointment {outcome.appointment_id}) within "
            f"{effect.within_days} days{note}"], []
