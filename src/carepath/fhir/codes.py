"""Code systems, LOINC and UCUM codes, and carepath → FHIR status tables (one table each).

carepath's own concepts (pathways, visit types, skills, measures without a LOINC code,
escalation kinds, message kinds) are coded in code systems under ``SYSTEM_BASE``, a stable
URL that names carepath, never a clinic. Extensions live under ``EXTENSION_BASE``.

LOINC: only codes checked against the LOINC term (see docs/fhir.md) are listed. A measure
without one is coded in carepath's measure system with its carepath id, so an EHR can map
it later without guessing.

The status tables are the only place a carepath state becomes a FHIR code. A new carepath
state needs one line here; ``tests/fhir`` fails while a state of the domain has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SYSTEM_BASE = "https://carepath.dev/fhir/CodeSystem"
EXTENSION_BASE = "https://carepath.dev/fhir/StructureDefinition"
CANONICAL_BASE = "https://carepath.dev/fhir"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

PATIENT_ID_SYSTEM = f"{SYSTEM_BASE}/patient-id"  # the clinic's MRN as carepath stores it
EPISODE_ID_SYSTEM = f"{SYSTEM_BASE}/episode-id"
APPOINTMENT_UID_SYSTEM = "urn:ietf:rfc:5545"  # the iCalendar UID the invites carry
MEASUREMENT_ID_SYSTEM = f"{SYSTEM_BASE}/measurement-id"
PATHWAY_SYSTEM = f"{SYSTEM_BASE}/pathway"
VISIT_TYPE_SYSTEM = f"{SYSTEM_BASE}/visit-type"
SKILL_SYSTEM = f"{SYSTEM_BASE}/skill"
MEASURE_SYSTEM = f"{SYSTEM_BASE}/measure"
ESCALATION_SYSTEM = f"{SYSTEM_BASE}/escalation-kind"
MESSAGE_SYSTEM = f"{SYSTEM_BASE}/message-kind"


def ext(name: str) -> str:
    return f"{EXTENSION_BASE}/{name}"


@dataclass(frozen=True)
class MeasureCode:
    system: str
    code: str
    display: str


# Checked LOINC terms, by carepath measure id (docs/fhir.md names the source of each).
LOINC_MEASURES: dict[str, MeasureCode] = {
    "pain-nrs": MeasureCode(LOINC, "72514-3",
                            "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    "pain_nrs": MeasureCode(LOINC, "72514-3",
                            "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
}

# carepath's units (config/measures.yaml) as UCUM codes; other units become annotations.
UCUM_UNITS: dict[str, str] = {
    "s": "s", "m": "m", "min": "min", "kg": "kg", "cm": "cm", "m/s": "m/s",
    "points": "{score}", "score": "{score}", "grade": "{grade}", "T-level": "{T-level}",
    "repetitions": "{repetitions}", "reps": "{repetitions}",
}


def measure_code(measure_id: str, name: str) -> MeasureCode:
    return LOINC_MEASURES.get(measure_id) or MeasureCode(MEASURE_SYSTEM, measure_id, name)


def ucum(unit: str) -> str:
    """The UCUM code of a carepath unit; an unknown one becomes a UCUM annotation ``{…}``."""
    if unit in UCUM_UNITS:
        return UCUM_UNITS[unit]
    cleaned = re.sub(r"[^!-z|~]", "-", unit.replace("{", "(").replace("}", ")"))
    return "{" + (cleaned or "unit") + "}"


class UnmappedState(ValueError):
    """A carepath state with no line in its table (a new state added without its mapping)."""

    def __init__(self, table: str, state: str) -> None:
        super().__init__(f"carepath {table} state {state!r} has no FHIR mapping: "
                         f"add it to {table.upper()}_STATUS in carepath/fhir/codes.py")


# episode.state → EpisodeOfCare.status
EPISODE_STATUS: dict[str, str] = {
    "planned": "planned", "active": "active", "on_hold": "onhold",
    "finished": "finished", "cancelled": "cancelled",
}
# episode.state → CarePlan.status
CAREPLAN_STATUS: dict[str, str] = {
    "planned": "draft", "active": "active", "on_hold": "on-hold",
    "finished": "completed", "cancelled": "revoked",
}
# appointment.status → Appointment.status
APPOINTMENT_STATUS: dict[str, str] = {
    "booked": "booked", "completed": "fulfilled", "cancelled": "cancelled", "no_show": "noshow",
}
# goal.status (the review's verdict) → Goal.achievementStatus (goal-achievement codes)
GOAL_ACHIEVEMENT: dict[str, str] = {
    "pending": "in-progress", "achieved": "achieved", "improving": "improving",
    "no_change": "no-change", "worsening": "worsening",
    # measures without an MCID get no verdict: a change is flagged for a clinician to look
    "flagged": "in-progress", "unrated": "in-progress",
}
# escalation.status → Flag.status
ESCALATION_STATUS: dict[str, str] = {
    "open": "active", "scheduled": "active", "resolved": "inactive", "dismissed": "inactive",
}
# outbox.status → Communication.status
MESSAGE_STATUS: dict[str, str] = {
    "pending": "in-progress", "sending": "in-progress", "sent": "completed", "dead": "stopped",
}


def mapped(table: dict[str, str], name: str, state: str) -> str:
    try:
        return table[state]
    except KeyError:
        raise UnmappedState(name, state) from None


def reverse(table: dict[str, str]) -> dict[str, str]:
    """FHIR code → carepath state, for the codes only one carepath state uses."""
    seen: dict[str, list[str]] = {}
    for state, code in table.items():
        seen.setdefault(code, []).append(state)
    return {code: states[0] for code, states in seen.items() if len(states) == 1}
