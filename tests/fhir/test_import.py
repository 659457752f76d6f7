"""FHIR import: patients and referrals, all or nothing, and the export → import → export trip."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select
from typer.testing import CliRunner

from carepath.adapters.db import transaction
from carepath.adapters.tables import (
    AppointmentRow,
    EpisodeRow,
    OutboxRow,
    PatientRow,
    ResourceBookingRow,
)
from carepath.cli import app as cli_app
from carepath.demo import DemoResult
from carepath.domain.patients import Patient, parse_patient
from carepath.domain.timeutil import ClockRange
from carepath.errors import InputError
from carepath.fhir import codes, mappers
from carepath.fhir.import_service import import_document
from carepath.fhir.importing import patient_fields
from carepath.services import App
from fhir_helpers import export_json, fresh_app, resources

ROUND_TRIP = ("Patient", "EpisodeOfCare", "Appointment", "Observation")


def by_name(bundle: dict[str, Any], kinds: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in resources(bundle)
            if r["resourceType"] in kinds}


def test_export_import_into_an_empty_database_export_gives_the_same_records(
        lived: DemoResult, bundle: dict[str, Any], tmp_path: Path) -> None:
    """Patients, episodes, appointments and observations come back resource for resource."""
    empty = fresh_app(tmp_path / "restored", lived)
    result = import_document(empty, bundle)
    again = export_json(empty)
    first, second = by_name(bundle, ROUND_TRIP), by_name(again, ROUND_TRIP)
    assert len(first) > 500
    assert set(second) == set(first)
    assert [name for name in first if first[name] != second[name]] == []
    assert result.created == len(list(resources(bundle, "Patient")))
    assert result.enrolled == []


def test_a_restore_then_a_referral_on_each_database_keeps_both(
        lived: DemoResult, bundle: dict[str, Any], tmp_path: Path, db_url: str) -> None:
    """On SQLite and PostgreSQL: restored ids stay, and a referral enrolled afterwards gets
    new ids (PostgreSQL's sequences are moved past the restored ones)."""
    target = fresh_app(tmp_path / "restored", lived, db_url)
    import_document(target, bundle)
    result = import_document(target, collection(
        new_patient("EHR-5"), referral("EHR-5", "stable-boosters", "2027-04-12")))
    again = export_json(target)
    first, second = by_name(bundle, ROUND_TRIP), by_name(again, ROUND_TRIP)
    assert [name for name in first if first[name] != second.get(name)] == []
    assert len(result.enrolled) == 1 and f"EpisodeOfCare/ep-{result.enrolled[0]}" in second
    assert result.enrolled[0] > max(int(r["id"][3:]) for r in resources(bundle, "EpisodeOfCare"))
    target.engine.dispose()


def test_a_restore_sends_nothing(lived: DemoResult, bundle: dict[str, Any],
                                 tmp_path: Path) -> None:
    """Restored appointments are history: no invites or emails are queued for them."""
    empty = fresh_app(tmp_path / "restored", lived)
    import_document(empty, bundle)
    with transaction(empty.engine) as session:
        assert session.exec(select(OutboxRow)).all() == []


def test_importing_the_same_bundle_twice_updates_in_place(
        lived: DemoResult, bundle: dict[str, Any], tmp_path: Path) -> None:
    """The second import changes what changed (a renamed patient) and duplicates nothing:
    every appointment holds the rooms and equipment units it held in the clinic exported
    (those it holds still: a cancelled visit's released units are not exported)."""
    empty = fresh_app(tmp_path / "restored", lived)
    import_document(empty, bundle)
    changed = copy.deepcopy(bundle)
    patient = next(resources(changed, "Patient"))
    patient["name"] = [{"text": "Renamed Person"}]
    result = import_document(empty, changed)
    assert (result.created, result.updated) == (0, 1)
    with transaction(empty.engine) as session:
        row = session.get(PatientRow, patient["id"])
        assert row is not None and row.name == "Renamed Person"
        assert len(session.exec(select(AppointmentRow)).all()) == len(
            list(resources(bundle, "Appointment")))
    restored = _units(empty)
    assert len(restored) > 500 and restored == [u for u in _units(lived.app) if u[-1]]


def _units(app: App) -> list[tuple[object, ...]]:
    """Every room and equipment unit held, as (appointment, resource, unit, times, active)."""
    with transaction(app.engine) as session:
        return sorted((r.appointment_id, r.resource_id, r.unit, r.start_utc, r.end_utc,
                       r.active) for r in session.exec(select(ResourceBookingRow)))


def referral(patient: str, pathway: str, start: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": f"sr-{patient}", "status": "active",
            "intent": "order", "subject": {"reference": f"Patient/{patient}"},
            "code": {"coding": [{"system": codes.PATHWAY_SYSTEM, "code": pathway}]},
            "occurrenceDateTime": start, **extra}


def new_patient(ident: str, name: str = "Ines Ruiz", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": ident, "name": [{"given": ["Ines"],
                                                                "family": name.split()[-1]}],
            "telecom": [{"system": "email", "value": f"{ident.lower()}@mail.example"}], **extra}


def collection(*items: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": item} for item in items]}


def test_a_referral_enrols_through_the_engine_once(lived: DemoResult, tmp_path: Path) -> None:
    """Patient + ServiceRequest books the pathway's visits; the same file again books nothing."""
    empty = fresh_app(tmp_path / "new", lived)
    document = collection(new_patient("EHR-1"), referral("EHR-1", "post-relapse", "2027-04-12"))
    first = import_document(empty, document)
    second = import_document(empty, document)
    assert (first.created, len(first.enrolled)) == (1, 1)
    assert (second.unchanged, second.enrolled, second.already_enrolled) == (1, [], 1)
    with transaction(empty.engine) as session:
        episodes = session.exec(select(EpisodeRow)).all()
        visits = session.exec(select(AppointmentRow)).all()
    assert [(e.patient_id, e.pathway_id, e.state) for e in episodes] == [
        ("EHR-1", "post-relapse", "active")]
    assert len(visits) >= 10 and {v.patient_id for v in visits} == {"EHR-1"}
    assert min(v.start_utc for v in visits).date() >= date(2027, 4, 12)


def test_every_problem_is_named_by_resource_and_path_and_nothing_is_written(
        lived: DemoResult, tmp_path: Path) -> None:
    """Three bad resources, three named problems; the good patient is not imported either."""
    empty = fresh_app(tmp_path / "new", lived)
    bad_email = new_patient("EHR-2")
    bad_email["telecom"] = [{"system": "email", "value": "not-an-address"}]
    document = collection(
        new_patient("EHR-1"), bad_email,
        referral("EHR-1", "no-such-pathway", "2027-04-12"),
        {"resourceType": "ServiceRequest", "id": "sr-x", "status": "active", "intent": "order",
         "subject": {"reference": "Patient/EHR-1"},
         "code": {"coding": [{"system": codes.PATHWAY_SYSTEM, "code": "post-relapse"}]}})
    with pytest.raises(InputError) as caught:
        import_document(empty, document, source="referrals.json")
    message = str(caught.value)
    assert "3 problem(s), nothing imported" in message
    assert "Patient/EHR-2 at entry[1].resource.telecom(email)" in message
    assert "ServiceRequest/sr-EHR-1 at entry[2].resource.code: pathway 'no-such-pathway'" in message
    assert "ServiceRequest/sr-x at entry[3].resource.occurrenceDateTime: required" in message
    with transaction(empty.engine) as session:
        assert session.exec(select(PatientRow)).all() == []


def test_a_referral_that_cannot_be_booked_rolls_back_the_patients(
        lived: DemoResult, tmp_path: Path) -> None:
    """A referral in the past stops the import before anything is written."""
    empty = fresh_app(tmp_path / "new", lived)
    with pytest.raises(InputError, match="is in the past"):
        import_document(empty, collection(new_patient("EHR-3"),
                                          referral("EHR-3", "post-relapse", "2020-01-06")))
    with transaction(empty.engine) as session:
        assert session.exec(select(PatientRow)).all() == []


def test_the_cli_imports_a_file_and_names_problems_in_one_line(
        lived: DemoResult, tmp_path: Path) -> None:
    """carepath fhir import: exit 0 and a summary; a broken file exits 2 with the reason."""
    env = {"CAREPATH_HOME": str(tmp_path / "home"), "COLUMNS": "240",
           "CAREPATH_CONFIG_DIR": str(lived.app.settings.config_dir)}
    good = tmp_path / "patients.json"
    good.write_text(json.dumps(collection(new_patient("EHR-9"))))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["fhir", "import", str(good)], env=env)
    assert ok.exit_code == 0, ok.output
    assert "1 patients added" in ok.output
    bad = runner.invoke(cli_app, ["fhir", "import", str(broken)], env=env)
    assert bad.exit_code == 2 and "not FHIR JSON" in bad.output
    assert "Traceback" not in bad.output


names = st.text(st.characters(whitelist_categories=("L", "Zs"), max_codepoint=0x24F),
                min_size=1, max_size=40).map(str.strip).filter(bool)
emails = st.from_regex(r"[a-z][a-z0-9]{0,5}(\.[a-z0-9]{1,4}){0,2}@[a-z]{1,10}\.(org|example)",
                       fullmatch=True)  # an RFC 5322 dot-atom: no dot before the @
windows = st.lists(st.tuples(st.integers(6, 11), st.integers(12, 19)), max_size=2).map(
    lambda pairs: tuple(sorted({ClockRange.parse(f"{a:02d}:00-{b:02d}:00") for a, b in pairs})))


@st.composite
def patients(draw: st.DrawFn) -> Patient:
    caregiver = draw(st.none() | emails)
    return Patient(
        id=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)),
        name=draw(names), email=draw(st.none() | emails),
        phone=draw(st.none() | st.from_regex(r"\+1 [0-9]{3} 555 [0-9]{4}", fullmatch=True)),
        preferred_weekdays=tuple(sorted(draw(st.sets(st.integers(0, 6), max_size=3)))),
        time_windows=draw(windows), heat_sensitive=draw(st.booleans()),
        caregiver_email=caregiver, caregiver_consent=bool(caregiver) and draw(st.booleans()),
        physician_email=draw(st.none() | emails))


@settings(max_examples=150)
@given(patients())
def test_any_patient_survives_the_trip_through_a_fhir_patient(patient: Patient) -> None:
    """Patient → FHIR Patient → the import's fields → the same Patient, for any valid one."""
    resource = json.loads(json.dumps(mappers.patient(patient)))
    back, problems = parse_patient(patient_fields(resource))
    assert problems == []
    assert back == patient

