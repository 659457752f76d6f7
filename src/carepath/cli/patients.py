"""``carepath patients``: add, import, list and show patients."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from carepath.cli.common import FORMAT_OPTION, Format, console, emit, open_app
from carepath.domain.patients import Patient, format_weekdays, format_windows
from carepath.services.patients import add_patient, get_patient, import_patients, list_patients

patients_app = typer.Typer(help="Add, import and list patients.", no_args_is_help=True)


@patients_app.command("add")
def add(
    patient_id: str = typer.Argument(..., help="the clinic's id or MRN"),
    name: str = typer.Option(..., "--name"),
    email: str = typer.Option("", "--email"),
    phone: str = typer.Option("", "--phone"),
    weekdays: str = typer.Option("", "--weekdays", help="preferred days, e.g. mon,wed,fri"),
    windows: str = typer.Option("", "--windows", help="preferred times, e.g. 08:00-11:00"),
    heat_sensitive: bool = typer.Option(False, "--heat-sensitive/--not-heat-sensitive"),
    caregiver_email: str = typer.Option("", "--caregiver-email"),
    caregiver_consent: bool = typer.Option(False, "--caregiver-consent"),
    physician_email: str = typer.Option("", "--physician-email"),
) -> None:
    """Add a patient, or update the one with this id."""
    patient, created = add_patient(open_app(), {
        "id": patient_id, "name": name, "email": email, "phone": phone,
        "preferred_weekdays": weekdays, "time_windows": windows,
        "heat_sensitive": "yes" if heat_sensitive else "no", "caregiver_email": caregiver_email,
        "caregiver_consent": "yes" if caregiver_consent else "no",
        "physician_email": physician_email,
    })
    console.print(f"{'added' if created else 'updated'} patient {patient.id}")


@patients_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV with a header line"),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="import the good rows, report the rest"),
) -> None:
    """Import patients from CSV: all or nothing, unless --skip-invalid. Re-import updates."""
    result = import_patients(open_app(), file, skip_invalid=skip_invalid)
    console.print(f"imported {file.name}: {result.created} added, {result.updated} updated, "
                  f"{result.unchanged} unchanged, {len(result.skipped)} skipped")
    for problem in result.skipped:
        console.print(f"  skipped {problem}", markup=False)


def _public(patient: Patient) -> dict[str, object]:
    data = asdict(patient)
    data["preferred_weekdays"] = format_weekdays(patient.preferred_weekdays)
    data["time_windows"] = format_windows(patient.time_windows)
    return data


@patients_app.command("list")
def list_(fmt: Format = FORMAT_OPTION) -> None:
    """Every patient, by id."""
    rows = [_public(p) for p in list_patients(open_app())]
    emit(rows, fmt, "Patients", columns=["id", "name", "email", "preferred_weekdays",
                                          "time_windows", "heat_sensitive"])


@patients_app.command("show")
def show(patient_id: str, fmt: Format = FORMAT_OPTION) -> None:
    """One patient, every field."""
    emit([_public(get_patient(open_app(), patient_id))], fmt, "Patient")


@patients_app.command("ref")
def ref(patient_id: str) -> None:
    """The number that stands for a patient in Prefect flow parameters (never the MRN)."""
    from carepath.services.patient_refs import ref_for

    console.print(str(ref_for(open_app(), patient_id)), markup=False)
