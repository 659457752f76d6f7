"""Pure functions from carepath's config and views to FHIR R4 resources (JSON dicts).

Ids are stable: config objects keep their carepath id (``Practitioner/chen``), rows their
key (``EpisodeOfCare/ep-12``, ``Appointment/ap-340``), patients their MRN. Every reference
points at a resource the same export writes. Times carry the clinic's offset.

What each resource carries is the minimum it needs (docs/fhir.md, "What leaves the
clinic"): no email bodies, no audit notes, no escalation evidence or resolution text, no
therapist email addresses.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from carepath.domain.config.models import Clinic, Measure, Pathway, Resource, Therapist, Threshold
from carepath.domain.patients import Patient, format_weekdays, format_windows
from carepath.fhir import codes
from carepath.fhir.codes import ext, mapped
from carepath.fhir.views import (
    AppointmentView,
    EpisodeView,
    EscalationView,
    GoalView,
    MeasurementView,
    MessageView,
)

Json = dict[str, Any]
ORGANIZATION_ID = "clinic"
SERVICE_ID = "physiotherapy"
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def resource_id(text: str) -> str:
    """A FHIR id for a carepath id: kept when it is one, else made one (``_`` → ``-``)."""
    if _ID.match(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:64]
    return cleaned or "x"


def ref(kind: str, ident: str) -> Json:
    return {"reference": f"{kind}/{ident}"}


def patient_ref(patient_id: str) -> Json:
    return ref("Patient", resource_id(patient_id))


def episode_id(ident: int) -> str:
    return f"ep-{ident}"


def careplan_id(ident: int) -> str:
    return f"cp-{ident}"


def appointment_id(ident: int) -> str:
    return f"ap-{ident}"


def goal_id(ident: int) -> str:
    return f"goal-{ident}"


def observation_id(ident: int) -> str:
    return f"obs-{ident}"


def plan_id(pathway_id: str, version: int) -> str:
    return resource_id(f"{pathway_id}-v{version}")


def plan_url(pathway_id: str) -> str:
    return f"{codes.CANONICAL_BASE}/PlanDefinition/{pathway_id}"


def instant(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 with the clinic's offset, to the second (FHIR dateTime)."""
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def coding(system: str, code: str, display: str | None = None) -> Json:
    found = {"system": system, "code": code}
    return found | {"display": display} if display else found


def concept(system: str, code: str, display: str | None = None) -> Json:
    return {"coding": [coding(system, code, display)], **({"text": display} if display else {})}


def quantity(value: float, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": codes.UCUM, "code": codes.ucum(unit)}


# -- the clinic -------------------------------------------------------------------------

def organization(clinic: Clinic) -> Json:
    return {"resourceType": "Organization", "id": ORGANIZATION_ID, "active": True,
            "name": clinic.name, "address": [{"text": clinic.address}],
            "telecom": [{"system": "email", "value": clinic.organizer_email, "use": "work"}]}


def location(resource: Resource, active: bool = True) -> Json:
    return {"resourceType": "Location", "id": resource_id(resource.id),
            "status": "active" if active else "inactive", "name": resource.name,
            "mode": "instance", "managingOrganization": ref("Organization", ORGANIZATION_ID),
            "physicalType": concept("http://terminology.hl7.org/CodeSystem/location-physical-type",
                                    "ro", "Room"),
            "extension": [{"url": ext("provides"), "valueString": ",".join(resource.provides)},
                          {"url": ext("capacity"), "valueInteger": resource.capacity}]}


def device(resource: Resource, active: bool = True) -> Json:
    return {"resourceType": "Device", "id": resource_id(resource.id),
            "status": "active" if active else "inactive",
            "deviceName": [{"name": resource.name, "type": "user-friendly-name"}],
            "owner": ref("Organization", ORGANIZATION_ID),
            "extension": [{"url": ext("provides"), "valueString": ",".join(resource.provides)},
                          {"url": ext("capacity"), "valueInteger": resource.capacity}]}


def resource_entity(resource: Resource) -> Json:
    """Rooms are Locations; equipment (a gait trainer) is a Device."""
    return location(resource) if resource.kind == "room" else device(resource)


def resource_kind(resource: Resource) -> str:
    return "Location" if resource.kind == "room" else "Device"


def practitioner(therapist: Therapist) -> Json:
    # No email: an EHR reaches its own staff; carepath's invite address stays in carepath.
    return {"resourceType": "Practitioner", "id": resource_id(therapist.id), "active": True,
            "name": [{"text": therapist.name}]}


def practitioner_role(therapist: Therapist) -> Json:
    role = "senior" if therapist.senior else "therapist"
    return {"resourceType": "PractitionerRole", "id": resource_id(therapist.id), "active": True,
            "practitioner": ref("Practitioner", resource_id(therapist.id)),
            "organization": ref("Organization", ORGANIZATION_ID),
            "code": [concept(f"{codes.SYSTEM_BASE}/role", role)],
            "specialty": [concept(codes.SKILL_SYSTEM, skill) for skill in therapist.skills],
            "healthcareService": [ref("HealthcareService", SERVICE_ID)]}


def healthcare_service(clinic: Clinic, pathways: list[Pathway]) -> Json:
    rooms = [r for r in clinic.resources if r.kind == "room"]
    return {"resourceType": "HealthcareService", "id": SERVICE_ID, "active": True,
            "providedBy": ref("Organization", ORGANIZATION_ID),
            "name": f"{clinic.name} physical therapy",
            "category": [concept("http://terminology.hl7.org/CodeSystem/service-category",
                                 "27", "Specialist Medical")],
            "type": [concept(codes.PATHWAY_SYSTEM, p.id, p.name) for p in pathways],
            "location": [ref("Location", resource_id(r.id)) for r in rooms]}


# -- pathways -----------------------------------------------------------------------------

def plan_definition(pathway: Pathway, measures: dict[str, Measure]) -> Json:
    """One pathway version: visit types and cadence as actions, goals with their MCID rule,
    the stall rule and the length as extensions."""
    visits = [{"id": vid, "title": v.name, "code": [concept(codes.VISIT_TYPE_SYSTEM, vid, v.name)],
               "timingDuration": quantity(v.duration_minutes, "min")}
              for vid, v in pathway.visit_types.items()]
    cadence = [_cadence_action(c.visit, c.weeks.first, c.weeks.last, c.per_week, c.every_weeks,
                               pathway) for c in pathway.cadence]
    rule = pathway.stall_rule
    return {
        "resourceType": "PlanDefinition", "id": plan_id(pathway.id, pathway.version),
        "url": plan_url(pathway.id), "version": str(pathway.version),
        "name": re.sub(r"[^A-Za-z0-9]", "", pathway.id.title()) or "Pathway",
        "title": pathway.name, "status": "active",
        "type": concept("http://terminology.hl7.org/CodeSystem/plan-definition-type",
                        "clinical-protocol"),
        **({"description": pathway.description.strip()} if pathway.description.strip() else {}),
        "identifier": [{"system": codes.PATHWAY_SYSTEM, "value": pathway.id}],
        "extension": [
            {"url": ext("length-weeks"), "valueRange": {
                "low": quantity(pathway.length.min_weeks, "wk") | {"code": "wk"},
                "high": quantity(pathway.length.max_weeks, "wk") | {"code": "wk"}}},
            {"url": ext("min-rest-days"), "valueInteger": pathway.min_rest_days},
            {"url": ext("stall-rule"), "extension": [
                {"url": "consecutiveNoChangeReviews",
                 "valueInteger": rule.consecutive_no_change_reviews},
                {"url": "worseningEscalatesAtOnce",
                 "valueBoolean": rule.worsening_escalates_at_once},
                {"url": "twoHourFailures", "valueInteger": rule.two_hour_rule.failures},
                {"url": "twoHourWithinDays", "valueInteger": rule.two_hour_rule.within_days},
                {"url": "noShows", "valueInteger": rule.no_shows},
                {"url": "reviewEveryWeeks", "valueInteger": pathway.goals.review_every_weeks}]},
        ],
        "goal": [_plan_goal(g.measure, g.target, measures) for g in pathway.goals.measures],
        "action": [{"title": "Visit types", "action": visits},
                   {"title": "Cadence", "action": cadence}],
    }


def _cadence_action(visit: str, first: int, last: int, per_week: int | None,
                    every_weeks: int | None, pathway: Pathway) -> Json:
    repeat: Json = ({"frequency": per_week, "period": 1, "periodUnit": "wk"} if per_week
                    else {"frequency": 1, "period": every_weeks or 1, "periodUnit": "wk"})
    how = f"{per_week} a week" if per_week else f"every {every_weeks or 1} week(s)"
    return {"title": f"weeks {first}-{last}: {pathway.visit_types[visit].name}, {how}",
            "code": [concept(codes.VISIT_TYPE_SYSTEM, visit)],
            "timingTiming": {"repeat": repeat},
            "extension": [{"url": ext("weeks"), "valueRange": {
                "low": {"value": first, "unit": "wk", "system": codes.UCUM, "code": "wk"},
                "high": {"value": last, "unit": "wk", "system": codes.UCUM, "code": "wk"}}}]}


def _plan_goal(measure_id: str, kind: str, measures: dict[str, Measure]) -> Json:
    measure = measures[measure_id]
    code = codes.measure_code(measure_id, measure.name)
    text = (f"Improve {measure.name} by at least the MCID" if kind == "mcid"
            else f"Maintain {measure.name}")
    return {"description": {"text": text},
            "target": [{"measure": concept(code.system, code.code, code.display)}],
            "extension": [mcid_extension(measure, kind)]}


def mcid_extension(measure: Measure, kind: str) -> Json:
    """The MCID rule a goal is judged by: target kind, better direction, thresholds."""
    parts: list[Json] = [{"url": "targetKind", "valueCode": kind},
                         {"url": "better", "valueCode": measure.better}]
    for name, threshold in (("mcid", measure.mcid), ("worseningMcid", measure.worsening_mcid),
                            ("noise", measure.noise)):
        if threshold is not None:
            parts.append({"url": name, "valueQuantity": _threshold(threshold, measure.unit)})
    return {"url": ext("mcid-rule"), "extension": parts}


def _threshold(threshold: Threshold, unit: str) -> Json:
    if threshold.kind == "percent":
        return {"value": threshold.value, "unit": "%", "system": codes.UCUM, "code": "%"}
    return quantity(threshold.value, unit)


# -- patients and their care ---------------------------------------------------------------

def patient(p: Patient) -> Json:
    telecom = ([{"system": "email", "value": p.email, "use": "home"}] if p.email else []) + (
        [{"system": "phone", "value": p.phone, "use": "home"}] if p.phone else [])
    prefs = [{"url": "heatSensitive", "valueBoolean": p.heat_sensitive}]
    if p.preferred_weekdays:
        prefs.append({"url": "weekdays", "valueString": format_weekdays(p.preferred_weekdays)})
    if p.time_windows:
        prefs.append({"url": "timeWindows", "valueString": format_windows(p.time_windows)})
    found: Json = {"resourceType": "Patient", "id": resource_id(p.id),
                   "identifier": [{"system": codes.PATIENT_ID_SYSTEM, "value": p.id}],
                   "active": True, "name": [{"text": p.name}],
                   "extension": [{"url": ext("scheduling-preferences"), "extension": prefs}]}
    if telecom:
        found["telecom"] = telecom
    if p.caregiver_email:
        found["contact"] = [{
            "relationship": [concept(f"{codes.SYSTEM_BASE}/contact-role", "caregiver")],
            "telecom": [{"system": "email", "value": p.caregiver_email}],
            "extension": [{"url": ext("caregiver-consent"), "valueBoolean": p.caregiver_consent}]}]
    if p.physician_email:
        found["contained"] = [{"resourceType": "Practitioner", "id": "referrer",
                               "telecom": [{"system": "email", "value": p.physician_email}]}]
        found["generalPractitioner"] = [{"reference": "#referrer"}]
    return found


def episode_of_care(e: EpisodeView, zone: ZoneInfo) -> Json:
    found: Json = {
        "resourceType": "EpisodeOfCare", "id": episode_id(e.id),
        "identifier": [{"system": codes.EPISODE_ID_SYSTEM, "value": str(e.id)}],
        "status": mapped(codes.EPISODE_STATUS, "episode", e.state),
        "type": [concept(codes.PATHWAY_SYSTEM, e.pathway_id)],
        "patient": patient_ref(e.patient_id),
        "managingOrganization": ref("Organization", ORGANIZATION_ID),
        "period": {"start": e.start_date.isoformat()},
        "extension": [{"url": ext("episode-state"), "valueCode": e.state},
                      {"url": ext("pathway"),
                       "valueCanonical": f"{plan_url(e.pathway_id)}|{e.pathway_version}"}],
    }
    if e.state in ("finished", "cancelled"):
        found["period"]["end"] = instant(e.updated_at, zone)
    if e.therapist_id:
        found["careManager"] = ref("Practitioner", resource_id(e.therapist_id))
    if e.previous_episode_id:
        found["extension"].append({"url": ext("previous-episode"), "valueReference": ref(
            "EpisodeOfCare", episode_id(e.previous_episode_id))})
    return found


def care_plan(e: EpisodeView) -> Json:
    found: Json = {
        "resourceType": "CarePlan", "id": careplan_id(e.id),
        "status": mapped(codes.CAREPLAN_STATUS, "careplan", e.state), "intent": "plan",
        "instantiatesCanonical": [f"{plan_url(e.pathway_id)}|{e.pathway_version}"],
        "subject": patient_ref(e.patient_id), "period": {"start": e.start_date.isoformat()},
        "extension": [{"url": ext("episode-of-care"),
                       "valueReference": ref("EpisodeOfCare", episode_id(e.id))}],
    }
    if e.goal_ids:
        found["goal"] = [ref("Goal", goal_id(g)) for g in e.goal_ids]
    if e.appointment_ids:
        found["activity"] = [{"reference": ref("Appointment", appointment_id(a))}
                             for a in e.appointment_ids]
    return found


def appointment(a: AppointmentView, zone: ZoneInfo, kinds: dict[str, str]) -> Json:
    """``kinds`` maps a resource id to Location or Device (rooms and equipment)."""
    participants: list[Json] = [
        {"actor": patient_ref(a.patient_id), "status": "accepted", "required": "required"},
        {"actor": ref("Practitioner", resource_id(a.therapist_id)), "status": "accepted",
         "required": "required"}]
    for resource, unit in a.units:
        participants.append({"actor": ref(kinds.get(resource, "Location"), resource_id(resource)),
                             "status": "accepted", "required": "required",
                             "extension": [{"url": ext("unit"), "valueInteger": unit}]})
    found: Json = {
        "resourceType": "Appointment", "id": appointment_id(a.id),
        "identifier": [{"system": codes.APPOINTMENT_UID_SYSTEM, "value": a.uid}],
        "status": mapped(codes.APPOINTMENT_STATUS, "appointment", a.status),
        "serviceType": [concept(codes.VISIT_TYPE_SYSTEM, a.visit_type, a.visit_name)],
        "start": instant(a.start, zone), "end": instant(a.end, zone),
        "minutesDuration": int((a.end - a.start).total_seconds() // 60),
        "participant": participants,
        "extension": [{"url": ext("visit-number"), "valueInteger": a.seq},
                      {"url": ext("ical-sequence"), "valueInteger": a.sequence},
                      {"url": ext("fixed"), "valueBoolean": a.fixed},
                      {"url": ext("caregiver-invited"), "valueBoolean": a.caregiver_invited}],
    }
    if a.episode_id is not None:
        found["supportingInformation"] = [ref("EpisodeOfCare", episode_id(a.episode_id)),
                                          ref("CarePlan", careplan_id(a.episode_id))]
    return found


def goal(g: GoalView, measure: Measure, zone: ZoneInfo) -> Json:
    code = codes.measure_code(g.measure_id, measure.name)
    achieved = g.status == "achieved"
    target: Json = {"measure": concept(code.system, code.code, code.display)}
    if g.target is not None:
        target["detailQuantity"] = quantity(g.target, measure.unit)
    if g.due_date:
        target["dueDate"] = g.due_date.isoformat()
    found: Json = {
        "resourceType": "Goal", "id": goal_id(g.id),
        "lifecycleStatus": "completed" if achieved else "active",
        "achievementStatus": concept("http://terminology.hl7.org/CodeSystem/goal-achievement",
                                     mapped(codes.GOAL_ACHIEVEMENT, "goal", g.status)),
        "description": {"text": _goal_text(g, measure)},
        "subject": patient_ref(g.patient_id), "target": [target],
        "extension": [mcid_extension(measure, g.target_kind),
                      {"url": ext("care-plan"),
                       "valueReference": ref("CarePlan", careplan_id(g.episode_id))}],
    }
    if g.baseline is not None:
        found["extension"].append({"url": ext("baseline"),
                                   "valueQuantity": quantity(g.baseline, measure.unit)})
    if g.baseline_at:
        found["startDate"] = g.baseline_at.astimezone(zone).date().isoformat()
    return found


def _goal_text(g: GoalView, measure: Measure) -> str:
    if g.target is None:
        return f"{measure.name}: target set at the baseline"
    return f"{measure.name}: reach {g.target:g} {measure.unit}"


def observation(m: MeasurementView, measure: Measure, zone: ZoneInfo) -> Json:
    code = codes.measure_code(m.measure_id, measure.name)
    found: Json = {
        "resourceType": "Observation", "id": observation_id(m.id),
        "identifier": [{"system": codes.MEASUREMENT_ID_SYSTEM, "value": str(m.id)}],
        "status": "final",
        "category": [concept("http://terminology.hl7.org/CodeSystem/observation-category",
                             "exam", "Exam")],
        "code": concept(code.system, code.code, code.display or measure.name),
        "subject": patient_ref(m.patient_id),
        "basedOn": [ref("CarePlan", careplan_id(m.episode_id))],
        "effectiveDateTime": instant(m.taken_at, zone),
        "valueQuantity": quantity(m.value, measure.unit),
    }
    if m.raw and m.raw != f"{m.value:g}":  # an ordinal grade as typed, e.g. "1+"
        found["extension"] = [{"url": ext("raw-value"), "valueString": m.raw}]
    if m.appointment_id is not None:
        visit = ref("Appointment", appointment_id(m.appointment_id))
        found.setdefault("extension", []).append({"url": ext("appointment"),
                                                  "valueReference": visit})
    return found


def flag(e: EscalationView, zone: ZoneInfo) -> Json:
    """An escalation as a Flag: kind, level and status; never its evidence or resolution."""
    period: Json = {"start": instant(e.created_at, zone)}
    if e.status in ("resolved", "dismissed"):
        period["end"] = instant(e.updated_at, zone)
    found: Json = {
        "resourceType": "Flag", "id": f"esc-{e.id}",
        "status": mapped(codes.ESCALATION_STATUS, "escalation", e.status),
        "category": [concept("http://terminology.hl7.org/CodeSystem/flag-category",
                             "clinical", "Clinical")],
        "code": concept(codes.ESCALATION_SYSTEM, e.kind),
        "subject": patient_ref(e.patient_id), "period": period,
        "extension": [{"url": ext("escalation-level"), "valueInteger": e.level},
                      {"url": ext("escalation-status"), "valueCode": e.status},
                      {"url": ext("care-plan"),
                       "valueReference": ref("CarePlan", careplan_id(e.episode_id))}],
    }
    if e.assigned_to:
        found["author"] = ref("Practitioner", resource_id(e.assigned_to))
    if e.appointment_id is not None:
        found["extension"].append({"url": ext("reassessment"), "valueReference":
                                   ref("Appointment", appointment_id(e.appointment_id))})
    if e.proposed_pathway:
        found["extension"].append({"url": ext("proposed-pathway"),
                                   "valueCode": e.proposed_pathway})
    return found


def communication(m: MessageView, zone: ZoneInfo) -> Json:
    """A message sent (or queued): its kind, status and times. No subject line, no body."""
    found: Json = {
        "resourceType": "Communication", "id": f"msg-{m.id}",
        "status": mapped(codes.MESSAGE_STATUS, "message", m.status),
        "category": [concept(codes.MESSAGE_SYSTEM, m.kind)],
        "medium": [concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
                           "EMAILWRIT", "email")],
        "sender": ref("Organization", ORGANIZATION_ID),
    }
    if m.sent_at:
        found["sent"] = instant(m.sent_at, zone)
    if m.patient_id:
        found["subject"] = patient_ref(m.patient_id)
    if m.recipient:
        found["recipient"] = [{"reference": m.recipient}]
    return found
