"""The FHIR export of a lived-through clinic: valid R4, resolvable, minimal, owner-only."""

from __future__ import annotations

import importlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    EscalationRow,
    MeasurementRow,
    OutboxRow,
    PatientRow,
)
from carepath.demo import DemoResult
from carepath.domain import appointments, episodes
from carepath.domain.goals import escalations
from carepath.domain.goals import progress as goals
from carepath.errors import InputError
from carepath.fhir import codes
from carepath.fhir.export import export_to_file
from fhir_helpers import export_json, references, resources

OFFSET = re.compile(r"T\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def r4b(resource: dict[str, Any]) -> Any:
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    return getattr(module, kind).model_validate(resource)


def test_every_exported_resource_parses_as_an_r4b_model(bundle: dict[str, Any]) -> None:
    """fhir.resources (R4B models) accepts every resource and the bundle itself."""
    kinds = Counter(r["resourceType"] for r in resources(bundle))
    for resource in resources(bundle):
        r4b(resource)
    r4b(bundle)
    assert set(kinds) >= {"Organization", "Location", "Device", "Practitioner",
                          "PractitionerRole", "HealthcareService", "PlanDefinition", "Patient",
                          "EpisodeOfCare", "CarePlan", "Appointment", "Goal", "Observation",
                          "Flag", "Communication"}


def test_ids_are_unique_and_every_reference_resolves_inside_the_bundle(
        bundle: dict[str, Any]) -> None:
    """No two entries share Type/id; every reference names an entry (or a contained one)."""
    names = [f"{r['resourceType']}/{r['id']}" for r in resources(bundle)]
    assert len(names) == len(set(names))
    dangling = [ref for r in resources(bundle) for ref in references(r)
                if not ref.startswith("#") and ref not in set(names)]
    assert dangling == []


def test_the_export_holds_every_row_of_the_database(lived: DemoResult,
                                                    bundle: dict[str, Any]) -> None:
    """As many episodes, appointments, measurements and escalations as the tables hold."""
    with transaction(lived.app.engine) as session:
        counts = {kind: len(session.exec(select(table)).all()) for kind, table in (
            ("EpisodeOfCare", EpisodeRow), ("Appointment", AppointmentRow),
            ("Observation", MeasurementRow), ("Flag", EscalationRow),
            ("Communication", OutboxRow))}
    exported = Counter(r["resourceType"] for r in resources(bundle))
    assert counts["Flag"] > 0 and counts["Observation"] > 0
    assert {kind: exported[kind] for kind in counts} == counts
    assert exported["CarePlan"] == counts["EpisodeOfCare"]


def test_each_observation_has_subject_effective_time_ucum_value_and_code(
        bundle: dict[str, Any]) -> None:
    """The profile: subject, effectiveDateTime with an offset, valueQuantity in UCUM, a code."""
    observations = list(resources(bundle, "Observation"))
    assert observations
    for obs in observations:
        assert obs["subject"]["reference"].startswith("Patient/")
        assert OFFSET.search(obs["effectiveDateTime"]), obs["effectiveDateTime"]
        quantity = obs["valueQuantity"]
        assert isinstance(quantity["value"], float | int)
        assert quantity["system"] == "http://unitsofmeasure.org" and quantity["code"]
        coding = obs["code"]["coding"][0]
        assert coding["system"] in (codes.LOINC, codes.MEASURE_SYSTEM) and coding["code"]


def test_times_carry_the_clinic_offset(bundle: dict[str, Any]) -> None:
    """Appointment starts and ends are local times with -05:00 or -04:00 (New York)."""
    for visit in resources(bundle, "Appointment"):
        for key in ("start", "end"):
            assert visit[key][-6:] in ("-05:00", "-04:00"), visit[key]


def test_no_email_bodies_subjects_notes_or_staff_addresses_leave(
        lived: DemoResult, bundle: dict[str, Any]) -> None:
    """The bundle carries no message subject or body, escalation summary or evidence,
    resolution, audit text, or therapist email address."""
    text = json.dumps(bundle, ensure_ascii=False)
    with transaction(lived.app.engine) as session:
        subjects = {row.subject for row in session.exec(select(OutboxRow))}
        summaries = {row.summary for row in session.exec(select(EscalationRow)) if row.summary}
    assert subjects and summaries
    assert [s for s in subjects if json.dumps(s)[1:-1] in text] == []
    assert [s for s in summaries if json.dumps(s)[1:-1] in text] == []
    assert "Message-ID" not in text and "Content-Type" not in text
    for therapist in lived.app.config.clinic.therapists:
        assert therapist.email not in text


def test_one_patient_export_holds_only_that_patient_and_still_resolves(
        lived: DemoResult) -> None:
    """--patient: one Patient; every patient-bound resource is theirs; references resolve."""
    patient = lived.story.stalling_patient
    one = export_json(lived.app, patient_id=patient)
    assert [p["id"] for p in resources(one, "Patient")] == [patient]
    names = {f"{r['resourceType']}/{r['id']}" for r in resources(one)}
    patients = {ref for r in resources(one) for ref in references(r)
                if ref.startswith("Patient/")}
    assert patients == {f"Patient/{patient}"}
    assert all(ref in names for r in resources(one) for ref in references(r)
               if not ref.startswith("#"))
    assert any(True for _ in resources(one, "Flag"))  # the stalling story escalated


def test_since_exports_the_whole_record_of_patients_changed_since(lived: DemoResult) -> None:
    """--since a day after the demo's end exports the clinic only; --since its start, all."""
    after = export_json(lived.app, since=lived.app.clock.now().date().replace(year=2028))
    assert list(resources(after, "Patient")) == []
    assert len(list(resources(after, "Practitioner"))) == 6
    everyone = export_json(lived.app, since=lived.app.clock.now().date().replace(year=2026))
    with transaction(lived.app.engine) as session:
        patients = len(session.exec(select(PatientRow)).all())
    assert len(list(resources(everyone, "Patient"))) == patients


def test_a_transaction_bundle_puts_every_resource_at_its_own_id(lived: DemoResult) -> None:
    """--transaction: type transaction, PUT Type/id for each entry (a server keeps the ids)."""
    bundle = export_json(lived.app, patient_id=lived.story.relapsing_patient,
                         as_transaction=True)
    assert bundle["type"] == "transaction"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {"method": "PUT",
                                    "url": f"{resource['resourceType']}/{resource['id']}"}
    r4b(bundle)


def test_the_file_is_owner_only_and_a_symlink_target_is_refused(
        lived: DemoResult, tmp_path: Path) -> None:
    """-o writes mode 0600 (also over a looser file); a symbolic link is refused untouched."""
    target = tmp_path / "bundle.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    export_to_file(lived.app, target, patient_id=lived.story.stalling_patient)
    assert target.stat().st_mode & 0o777 == 0o600
    assert json.loads(target.read_text())["resourceType"] == "Bundle"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    with pytest.raises(InputError, match="symbolic link"):
        export_to_file(lived.app, link)
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json", "link.json",
                                                         "victim.txt"]


@pytest.mark.parametrize(("table", "states"), [
    (codes.EPISODE_STATUS, {s for pair in episodes.TRANSITIONS for s in (pair[0],)}
     | set(episodes.TRANSITIONS.values())),
    (codes.CAREPLAN_STATUS, {s for pair in episodes.TRANSITIONS for s in (pair[0],)}
     | set(episodes.TRANSITIONS.values())),
    (codes.APPOINTMENT_STATUS, {p[0] for p in appointments.STATUS_TRANSITIONS}
     | set(appointments.STATUS_TRANSITIONS.values())),
    (codes.ESCALATION_STATUS, {p[0] for p in escalations.TRANSITIONS}
     | set(escalations.TRANSITIONS.values())),
    (codes.GOAL_ACHIEVEMENT, set(goals.Verdict.__args__)),  # type: ignore[attr-defined]
])
def test_every_carepath_state_has_a_fhir_code(table: dict[str, str], states: set[str]) -> None:
    """A state added to the domain without its line in the FHIR table fails here."""
    assert states - set(table) == set()
