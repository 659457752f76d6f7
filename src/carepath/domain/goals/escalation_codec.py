"""An escalation's decision as stored: a small, versioned JSON encoding of the typed values.

```
{"version": 2,
 "opened": {"type": "OpenEscalation", "key": …, "evidence": [{"measure_id": …}, …], …},
 "effects": [{"type": "NotifyTherapist", "key": …, "escalation_key": …, …}, …],
 "reassessment": {"appointment_id": 12, "failure": "", "at_visit": false} | null,
 "pathway_name": "Progression review"}
```

Every effect is a frozen dataclass of ``carepath.domain.goals.escalations`` named by its ``type``;
its fields are written as they are (tuples as lists). Decoding is strict: an unknown type
or field is an error, never a silent guess. Escalations written before version 2 carry a
dictionary of flags and sentences ("notify_therapist", "actions", …):
``decode_decision`` reads those too, keeping their sentences as written (``Wording``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from carepath.domain.goals.escalations import (
    BookReassessment,
    Effect,
    EscalationDecision,
    HoldProgression,
    MeasureEvidence,
    NotifyPhysician,
    NotifyTherapist,
    OpenCaseReview,
    OpenEscalation,
    PromptRelapseScreen,
    ProposePathway,
    Reassessment,
    Wording,
)

VERSION = 2
EFFECT_TYPES: dict[str, type[Effect]] = {cls.__name__: cls for cls in (
    OpenEscalation, BookReassessment, NotifyTherapist, OpenCaseReview, NotifyPhysician,
    ProposePathway, PromptRelapseScreen, HoldProgression)}


T = TypeVar("T")


class UnreadableDecision(ValueError):
    """A stored decision that is not one this version can read."""


def encode_decision(decision: EscalationDecision) -> str:
    if decision.wording is not None:
        raise ValueError("a decision read from an old escalation is never written again")
    outcome = decision.reassessment
    return json.dumps({
        "version": VERSION,
        "opened": encode_effect(decision.opened),
        "effects": [encode_effect(e) for e in decision.effects],
        "reassessment": None if outcome is None else _plain(outcome),
        "pathway_name": decision.pathway_name,
    }, sort_keys=True, ensure_ascii=False)


def encode_effect(effect: Effect) -> dict[str, Any]:
    return {"type": type(effect).__name__, **_plain(effect)}


def decode_effect(data: Mapping[str, Any]) -> Effect:
    values = dict(data)
    cls = EFFECT_TYPES.get(str(values.pop("type", "")))
    if cls is None:
        raise UnreadableDecision(f"unknown effect type {data.get('type')!r}")
    if cls is OpenEscalation:
        values["evidence"] = [_measure(m) for m in values.get("evidence", [])]
    return _build(cls, values)


def decode_decision(text: str, *, key: str, level: int, kind: str, summary: str,
                    assigned_to: str | None = None,
                    proposed_pathway: str | None = None) -> EscalationDecision:
    """The stored decision; the row's own columns (``key`` … ``proposed_pathway``) are read
    only for an escalation written before version 2."""
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise UnreadableDecision(f"not JSON: {error}") from error
    if not isinstance(data, dict):
        raise UnreadableDecision("not a JSON object")
    if "version" not in data:
        return _before_version_2(data, key=key, level=level, kind=kind, summary=summary,
                                 assigned_to=assigned_to, proposed_pathway=proposed_pathway)
    if data["version"] != VERSION:
        raise UnreadableDecision(f"version {data['version']!r}; this carepath reads {VERSION}")
    opened = decode_effect(data["opened"])
    if not isinstance(opened, OpenEscalation):
        raise UnreadableDecision(f"it opens with {type(opened).__name__}")
    outcome = data.get("reassessment")
    return EscalationDecision(
        opened=opened, effects=tuple(decode_effect(e) for e in data.get("effects", [])),
        reassessment=None if outcome is None else _build(Reassessment, outcome),
        pathway_name=str(data.get("pathway_name", "")))


def _before_version_2(data: Mapping[str, Any], *, key: str, level: int, kind: str,
                      summary: str, assigned_to: str | None,
                      proposed_pathway: str | None) -> EscalationDecision:
    """The flags of an old escalation as the effects they were written for; its sentences
    as written (they hold what was booked, and why not, in words only)."""
    opened = OpenEscalation(
        key, level, kind,  # type: ignore[arg-type]  # as recorded, checked when written
        str(data.get("summary", summary)),
        tuple(_old_measures(data.get("measures", []))),
        tuple(str(f) for f in data.get("facts", [])))
    effects: list[Effect] = []
    if "notify_therapist" in data:
        therapist = data["notify_therapist"]
        effects.append(NotifyTherapist(f"{key}:tell-therapist", key,
                                       str(therapist) if therapist else None, opened.summary))
    if assigned_to:
        effects.append(OpenCaseReview(f"{key}:case-review", key, assigned_to))
    if data.get("notify_physician"):
        effects.append(NotifyPhysician(f"{key}:tell-physician", key))
    if proposed_pathway:
        effects.append(ProposePathway(f"{key}:propose", key, proposed_pathway))
    if data.get("relapse_screen"):
        effects.append(PromptRelapseScreen(f"{key}:relapse-screen", key))
    if data.get("hold_progression"):
        effects.append(HoldProgression(f"{key}:hold", key))
    outcome = None
    if "booking_failed" in data:
        outcome = Reassessment(None, str(data["booking_failed"]))
    elif data.get("reassess_at_visit") is not None:
        outcome = Reassessment(int(data["reassess_at_visit"]), at_visit=True)
    return EscalationDecision(
        opened, tuple(effects), outcome, str(data.get("proposed_pathway_name") or ""),
        Wording(tuple(str(a) for a in data.get("actions", [])),
                tuple(str(t) for t in data.get("to_do", []))))


def _old_measures(measures: Any) -> list[MeasureEvidence]:
    """An old escalation's measures; one it could not have written is left out, as the
    pages that read them before did."""
    found = []
    for m in measures if isinstance(measures, list) else []:
        try:
            found.append(_measure(m))
        except (UnreadableDecision, TypeError, ValueError, AttributeError):
            continue
    return found


def _plain(value: Any) -> dict[str, Any]:
    return {f.name: _json(getattr(value, f.name)) for f in fields(value)}


def _json(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return _plain(value)
    return value


def _measure(data: Mapping[str, Any]) -> MeasureEvidence:
    values = dict(data)
    values["values"] = [tuple(str(x) for x in pair) for pair in values.get("values", [])]
    values["band_low"], values["band_high"] = (float(values.get("band_low", 0.0)),
                                               float(values.get("band_high", 0.0)))
    return _build(MeasureEvidence, values)


def _build(cls: type[T], values: Mapping[str, Any]) -> T:
    """``cls`` from JSON values, lists as tuples; a missing or unknown field is an error
    unless the field has a default."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(values) - names
    if unknown:
        raise UnreadableDecision(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    try:
        return cls(**{k: _tuples(v) for k, v in values.items()})
    except TypeError as error:
        raise UnreadableDecision(f"{cls.__name__}: {error}") from error


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
