"""Pure parsing of FHIR resources into carepath's import values, every problem named.

Understood resources:

- ``Patient`` → a carepath ``Patient`` (validated by the same rules as the CSV import);
  the MRN is the identifier in carepath's patient-id system, else the resource id.
- ``ServiceRequest`` (status ``active``) naming a pathway — ``instantiatesCanonical`` of a
  carepath PlanDefinition, or a ``code`` in carepath's pathway system — with the day to
  start in ``occurrenceDateTime`` / ``occurrencePeriod.start`` → an enrolment.
- ``EpisodeOfCare``, ``Appointment`` and ``Observation`` carrying carepath's identifiers (a
  carepath export) → restored records, keeping carepath's ids.

Everything else is counted as ignored (the clinic's own resources come from its config;
goals, care plans, flags and communications are derived again by carepath). A problem
reads ``ServiceRequest/sr-1 at entry[4].resource.occurrenceDateTime: …``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from carepath.domain.patients import Patient, parse_patient
from carepath.fhir import codes
from carepath.fhir.codes import ext
from carepath.fhir.views import AppointmentView, EpisodeFacts

Json = dict[str, Any]

# where a CSV column's value comes from in a Patient resource (for problems)
PATIENT_PATHS = {
    "id": "identifier", "name": "name[0].text", "email": "telecom(email)",
    "phone": "telecom(phone)", "preferred_weekdays": "extension(scheduling-preferences).weekdays",
    "time_windows": "extension(scheduling-preferences).timeWindows",
    "heat_sensitive": "extension(scheduling-preferences).heatSensitive",
    "caregiver_email": "contact(caregiver).telecom", "caregiver_consent":
    "contact(caregiver).extension(caregiver-consent)", "physician_email": "generalPractitioner",
}


@dataclass(frozen=True)
class Referral:
    where: str
    patient_id: str
    pathway_id: str
    start: date
    therapist_id: str | None


@dataclass(frozen=True)
class RestoredEpisode(EpisodeFacts):
    """An episode read from a bundle, with where it stood there (for problems)."""

    ended_at: datetime | None
    where: str = field(kw_only=True)


@dataclass(frozen=True)
class RestoredAppointment(AppointmentView):
    """An appointment read from a bundle, with where it stood there (for problems)."""

    where: str = field(kw_only=True)


@dataclass(frozen=True)
class RestoredMeasurement:
    where: str
    id: int
    episode_id: int
    measure_id: str
    value: float
    raw: str
    taken_at: datetime
    appointment_id: int | None


@dataclass
class ImportPlan:
    patients: list[tuple[str, Patient | None]] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    episodes: list[RestoredEpisode] = field(default_factory=list)
    appointments: list[RestoredAppointment] = field(default_factory=list)
    measurements: list[RestoredMeasurement] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class _Problem(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def resources_of(document: Any) -> list[tuple[str, Any]]:
    """(JSON path, resource) for a Bundle's entries or a single resource."""
    if not isinstance(document, dict):
        raise _Problem("$", "not a FHIR resource (a JSON object with resourceType)")
    if document.get("resourceType") != "Bundle":
        return [("$", document)]
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        raise _Problem("entry", "must be a list")
    found = []
    for n, item in enumerate(entries):
        resource = item.get("resource") if isinstance(item, dict) else None
        found.append((f"entry[{n}].resource", resource))
    return found


def plan_import(document: Any, *, measure_ids: set[str] | None = None) -> ImportPlan:
    """Parse every resource; problems are collected, never raised."""
    plan = ImportPlan()
    try:
        items = resources_of(document)
    except _Problem as problem:
        plan.problems.append(f"{problem.path}: {problem}")
        return plan
    mrn_of = _mrns(items)
    handlers: dict[str, Callable[[Json, str], None]] = {
        "Patient": lambda r, w: plan.patients.append((w, _patient(r, plan, w))),
        "ServiceRequest": lambda r, w: _add(plan.referrals, _referral(r, w, mrn_of)),
        "EpisodeOfCare": lambda r, w: _add(plan.episodes, _episode(r, w, mrn_of)),
        "Appointment": lambda r, w: _add(plan.appointments, _appointment(r, w, mrn_of)),
        "Observation": lambda r, w: _add(plan.measurements, _measurement(r, w, measure_ids)),
    }
    seen: dict[str, str] = {}
    for path, resource in items:
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            plan.problems.append(f"{path}: not a resource (no resourceType)")
            continue
        kind = resource["resourceType"]
        name = f"{kind}/{resource.get('id', '?')}"
        where = f"{name} at {path}"
        if name in seen and "id" in resource:
            plan.problems.append(f"{where}: the same id as {seen[name]}")
            continue
        seen[name] = path
        handler = handlers.get(kind)
        if handler is None:
            plan.ignored[kind] = plan.ignored.get(kind, 0) + 1
            continue
        try:
            handler(resource, where)
        except _Problem as problem:
            plan.problems.append(f"{where}.{problem.path}: {problem}")
    plan.patients = [(w, p) for w, p in plan.patients if p is not None]
    return plan


def _add(items: list[Any], value: Any) -> None:
    if value is not None:
        items.append(value)


def _mrns(items: list[tuple[str, Any]]) -> dict[str, str]:
    """Patient resource id → the MRN it carries (references name resource ids)."""
    found = {}
    for _path, resource in items:
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            mrn = _identifier(resource, codes.PATIENT_ID_SYSTEM) or resource.get("id")
            if isinstance(resource.get("id"), str) and isinstance(mrn, str):
                found[resource["id"]] = mrn
    return found


def _identifier(resource: Json, system: str) -> str | None:
    for item in resource.get("identifier") or []:
        if isinstance(item, dict) and item.get("system") == system:
            value = item.get("value")
            return value if isinstance(value, str) else None
    return None


# -- Patient ----------------------------------------------------------------------------------

def _patient(resource: Json, plan: ImportPlan, where: str) -> Patient | None:
    fields = patient_fields(resource)
    patient, problems = parse_patient(fields)
    for problem in problems:
        column, _, message = problem.partition(": ")
        plan.problems.append(f"{where}.{PATIENT_PATHS.get(column, column)}: {message}")
    return patient


def patient_fields(resource: Json) -> dict[str, str | None]:
    """The CSV import's text fields, read from a Patient resource."""
    prefs = _sub_extensions(resource, "scheduling-preferences")
    caregiver = next((c for c in resource.get("contact") or [] if isinstance(c, dict)), None)
    return {
        "id": _identifier(resource, codes.PATIENT_ID_SYSTEM) or _text(resource.get("id")),
        "name": _name(resource.get("name")),
        "email": _telecom(resource.get("telecom"), "email"),
        "phone": _telecom(resource.get("telecom"), "phone"),
        "preferred_weekdays": _text(prefs.get("valueString:weekdays")),
        "time_windows": _text(prefs.get("valueString:timeWindows")),
        "heat_sensitive": _yes(prefs.get("valueBoolean:heatSensitive")),
        "caregiver_email": _telecom(caregiver.get("telecom"), "email") if caregiver else "",
        "caregiver_consent": _yes(_extension_value(caregiver, "caregiver-consent",
                                                   "valueBoolean")) if caregiver else "no",
        "physician_email": _physician(resource),
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _yes(value: Any) -> str:
    return "yes" if value is True else "no"


def _name(names: Any) -> str:
    if not isinstance(names, list) or not names or not isinstance(names[0], dict):
        return ""
    first = names[0]
    if isinstance(first.get("text"), str):
        return str(first["text"])
    given = [g for g in first.get("given") or [] if isinstance(g, str)]
    return " ".join([*given, _text(first.get("family"))]).strip()


def _telecom(items: Any, system: str) -> str:
    for item in items or []:
        if isinstance(item, dict) and item.get("system") == system:
            return _text(item.get("value"))
    return ""


def _physician(resource: Json) -> str:
    for gp in resource.get("generalPractitioner") or []:
        target = _text(gp.get("reference") if isinstance(gp, dict) else None)
        for contained in resource.get("contained") or []:
            if isinstance(contained, dict) and f"#{contained.get('id')}" == target:
                return _telecom(contained.get("telecom"), "email")
    return ""


def _sub_extensions(resource: Json, name: str) -> dict[str, Any]:
    """A complex extension's parts as {"valueX:url": value}."""
    for item in resource.get("extension") or []:
        if isinstance(item, dict) and item.get("url") == ext(name):
            return {f"{key}:{part.get('url')}": value for part in item.get("extension") or []
                    if isinstance(part, dict) for key, value in part.items()
                    if key.startswith("value")}
    return {}


def _extension_value(resource: Json | None, name: str, key: str) -> Any:
    for item in (resource or {}).get("extension") or []:
        if isinstance(item, dict) and item.get("url") == ext(name):
            return item.get(key)
    return None


# -- ServiceRequest ---------------------------------------------------------------------------

def _referral(resource: Json, where: str, mrn_of: dict[str, str]) -> Referral | None:
    if resource.get("status") != "active":
        raise _Problem("status", f"is {resource.get('status')!r}; only an active request "
                       "enrols (set status to active, or leave the request out)")
    patient = _subject(resource.get("subject"), "subject", mrn_of)
    pathway = _pathway_of(resource)
    start = _start_of(resource)
    therapist = None
    for n, performer in enumerate(resource.get("performer") or []):
        target = _text(performer.get("reference") if isinstance(performer, dict) else None)
        if target.startswith("Practitioner/"):
            therapist = target.removeprefix("Practitioner/")
        else:
            raise _Problem(f"performer[{n}]", "must reference Practitioner/<therapist id>")
    return Referral(where, patient, pathway, start, therapist)


def _subject(value: Any, path: str, mrn_of: dict[str, str]) -> str:
    target = _text(value.get("reference") if isinstance(value, dict) else None)
    if not target.startswith("Patient/") or len(target) == len("Patient/"):
        raise _Problem(path, "must reference Patient/<id>")
    ident = target.removeprefix("Patient/")
    return mrn_of.get(ident, ident)


def _pathway_of(resource: Json) -> str:
    for canonical in resource.get("instantiatesCanonical") or []:
        base = _text(canonical).partition("|")[0]
        prefix = f"{codes.CANONICAL_BASE}/PlanDefinition/"
        if base.startswith(prefix):
            return base.removeprefix(prefix)
    for item in (resource.get("code") or {}).get("coding") or []:
        if isinstance(item, dict) and item.get("system") == codes.PATHWAY_SYSTEM:
            return _text(item.get("code"))
    raise _Problem("code", f"names no pathway: give a coding in {codes.PATHWAY_SYSTEM} "
                   "(e.g. post-relapse) or instantiatesCanonical of its PlanDefinition")


def _start_of(resource: Json) -> date:
    text = resource.get("occurrenceDateTime")
    path = "occurrenceDateTime"
    if text is None and isinstance(resource.get("occurrencePeriod"), dict):
        text, path = resource["occurrencePeriod"].get("start"), "occurrencePeriod.start"
    if not isinstance(text, str):
        raise _Problem("occurrenceDateTime", "required: the day the pathway starts "
                       "(YYYY-MM-DD)")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _Problem(path, f"{text[:30]!r} is not a date (YYYY-MM-DD)") from None


# -- records restored from a carepath export ------------------------------------------------

def _number(text: str | None, path: str) -> int:
    if text is None or not re.fullmatch(r"[0-9]{1,18}", text):
        raise _Problem(path, f"{str(text)[:30]!r} is not a carepath id")
    return int(text)


def _moment(value: Any, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(value))
    except ValueError:
        raise _Problem(path, f"{str(value)[:40]!r} is not a date-time") from None
    if moment.tzinfo is None:
        raise _Problem(path, "needs an offset (e.g. 2027-03-01T09:00:00-05:00)")
    return moment


def _ref_number(value: Any, kind: str, prefix: str, path: str) -> int | None:
    target = _text(value.get("reference") if isinstance(value, dict) else None)
    if not target:
        return None
    if not target.startswith(f"{kind}/{prefix}"):
        raise _Problem(path, f"must reference {kind}/{prefix}<number>")
    return _number(target.removeprefix(f"{kind}/{prefix}"), path)


def _episode(resource: Json, where: str, mrn_of: dict[str, str]) -> RestoredEpisode | None:
    ident = _identifier(resource, codes.EPISODE_ID_SYSTEM)
    if ident is None:
        raise _Problem("identifier", f"no carepath episode id ({codes.EPISODE_ID_SYSTEM}): "
                       "only episodes exported by carepath are restored; refer new patients "
                       "with a ServiceRequest")
    state = _extension_value(resource, "episode-state", "valueCode") or codes.reverse(
        codes.EPISODE_STATUS).get(_text(resource.get("status")))
    if state not in codes.EPISODE_STATUS:
        raise _Problem("status", f"{resource.get('status')!r} is not a carepath episode state")
    canonical = _text(_extension_value(resource, "pathway", "valueCanonical"))
    pathway, _, version = canonical.rpartition("/")[2].partition("|")
    if not pathway or not version.isdigit():
        raise _Problem("extension(pathway)", "must be the PlanDefinition canonical with |version")
    period = resource.get("period") or {}
    try:
        start = date.fromisoformat(_text(period.get("start"))[:10])
    except ValueError:
        raise _Problem("period.start", "required: the episode's first day") from None
    therapist = _text((resource.get("careManager") or {}).get("reference"))
    previous = _ref_number(_extension_value(resource, "previous-episode", "valueReference"),
                           "EpisodeOfCare", "ep-", "extension(previous-episode)")
    return RestoredEpisode(
        _number(ident, "identifier"), _subject(resource.get("patient"), "patient", mrn_of),
        pathway, int(version), state, start,
        therapist.removeprefix("Practitioner/") or None, previous,
        _moment(period["end"], "period.end") if period.get("end") else None, where=where)


def _appointment(resource: Json, where: str,
                 mrn_of: dict[str, str]) -> RestoredAppointment | None:
    uid = _identifier(resource, codes.APPOINTMENT_UID_SYSTEM)
    rid = _text(resource.get("id"))
    if uid is None or not rid.startswith("ap-"):
        raise _Problem("identifier", "no carepath appointment (id ap-N with its iCalendar "
                       "UID): only appointments exported by carepath are restored")
    status = codes.reverse(codes.APPOINTMENT_STATUS).get(_text(resource.get("status")))
    if status is None:
        raise _Problem("status", f"{resource.get('status')!r} has no carepath status")
    patient = therapist = None
    units: list[tuple[str, int]] = []
    for n, part in enumerate(resource.get("participant") or []):
        target = _text((part.get("actor") or {}).get("reference") if isinstance(part, dict)
                       else None)
        kind, _, ident = target.partition("/")
        if kind == "Patient":
            patient = _subject(part.get("actor"), f"participant[{n}].actor", mrn_of)
        elif kind == "Practitioner":
            therapist = ident
        elif kind in ("Location", "Device"):
            unit = _extension_value(part, "unit", "valueInteger")
            units.append((ident, unit if isinstance(unit, int) else 0))
    if patient is None or therapist is None:
        raise _Problem("participant", "needs a Patient and a Practitioner")
    service = ((resource.get("serviceType") or [{}])[0].get("coding") or [{}])[0]
    episode = None
    for n, info in enumerate(resource.get("supportingInformation") or []):
        if _text((info or {}).get("reference")).startswith("EpisodeOfCare/"):
            episode = _ref_number(info, "EpisodeOfCare", "ep-", f"supportingInformation[{n}]")
    number = _extension_value
    return RestoredAppointment(
        _number(rid.removeprefix("ap-"), "id"), uid, episode, patient, therapist,
        _text(service.get("code")), _text(service.get("display")) or _text(service.get("code")),
        int(number(resource, "visit-number", "valueInteger") or 0),
        _moment(resource.get("start"), "start"), _moment(resource.get("end"), "end"), status,
        int(number(resource, "ical-sequence", "valueInteger") or 0),
        fixed=number(resource, "fixed", "valueBoolean") is True,
        caregiver_invited=number(resource, "caregiver-invited", "valueBoolean") is True,
        units=tuple(sorted(units)), where=where)


def _measurement(resource: Json, where: str,
                 measure_ids: set[str] | None) -> RestoredMeasurement | None:
    ident = _identifier(resource, codes.MEASUREMENT_ID_SYSTEM)
    if ident is None:
        raise _Problem("identifier", "no carepath measurement id: only measurements exported "
                       "by carepath are restored")
    measure = _measure_id(resource.get("code") or {}, measure_ids)
    if measure is None or (measure_ids is not None and measure not in measure_ids):
        raise _Problem("code", "names no measure of config/measures.yaml")
    episode = None
    for n, based in enumerate(resource.get("basedOn") or []):
        episode = _ref_number(based, "CarePlan", "cp-", f"basedOn[{n}]")
    if episode is None:
        raise _Problem("basedOn", "must reference the episode's CarePlan/cp-N")
    value = (resource.get("valueQuantity") or {}).get("value")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _Problem("valueQuantity.value", "required: a number")
    raw = _extension_value(resource, "raw-value", "valueString")
    return RestoredMeasurement(
        where, _number(ident, "identifier"), episode, measure, float(value), _text(raw),
        _moment(resource.get("effectiveDateTime"), "effectiveDateTime"),
        _ref_number(_extension_value(resource, "appointment", "valueReference"), "Appointment",
                    "ap-", "extension(appointment)"))


def _measure_id(code: Json, measure_ids: set[str] | None) -> str | None:
    by_loinc: dict[str, str] = {}
    for key, known in codes.LOINC_MEASURES.items():
        if measure_ids is None or key in measure_ids:
            by_loinc.setdefault(known.code, key)
    for item in code.get("coding") or []:
        if not isinstance(item, dict):
            continue
        if item.get("system") == codes.MEASURE_SYSTEM:
            return _text(item.get("code"))
        if item.get("system") == codes.LOINC and item.get("code") in by_loinc:
            return by_loinc[item["code"]]
    return None
