"""Fuzzing patient input: random rows, random bytes — an ``InputError`` or a correct import,
never a traceback, and never part of a file."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from fuzzing import TRICKY, fuzz_settings, tricky_text
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import count

from carepath.adapters.tables import AuditRow, PatientRow
from carepath.domain.patients import COLUMNS
from carepath.errors import InputError
from carepath.services import App
from carepath.services.patients import add_patient, get_patient, import_patients, list_patients

ids = st.one_of(st.sampled_from(TRICKY), st.from_regex(r"\AF[0-9]{1,6}\Z"))
rows = st.fixed_dictionaries({column: tricky_text for column in COLUMNS} | {"id": ids})


def _write_csv(rows_: list[dict[str, str]], header: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows_)
    return buffer.getvalue().encode("utf-8", errors="surrogatepass")


def _import_all_or_nothing(app: App, data: bytes) -> None:
    before = {p.id: p for p in list_patients(app)}
    audit_before = count(app, AuditRow)
    with tempfile.TemporaryDirectory() as temp:
        file = Path(temp) / "patients.csv"
        file.write_bytes(data)
        try:
            result = import_patients(app, file)
        except InputError:
            assert {p.id: p for p in list_patients(app)} == before
            assert count(app, AuditRow) == audit_before
            return
    after = count(app, PatientRow)
    assert after == len(before) + result.created
    assert count(app, AuditRow) == audit_before + 1 + result.created + result.updated


@fuzz_settings(quick=25, full=500)
@given(st.lists(rows, max_size=6), st.permutations(list(COLUMNS)))
def test_random_csv_rows_import_whole_or_not_at_all(
    module_app: App, rows_: list[dict[str, str]], header: list[str]
) -> None:
    """Rows of hostile values in any column order: all imported, or none and an InputError."""
    _import_all_or_nothing(module_app, _write_csv(rows_, header))


@fuzz_settings(quick=25, full=500)
@given(st.binary(max_size=2_000))
def test_random_bytes_as_csv_are_refused_or_imported_whole(module_app: App, data: bytes) -> None:
    """Arbitrary bytes never raise anything but an InputError, nor write part of the file."""
    _import_all_or_nothing(module_app, data)


@fuzz_settings(quick=40, full=1000)
@given(rows)
def test_a_random_patient_is_stored_exactly_or_refused(module_app: App, fields: dict) -> None:
    """add_patient keeps every accepted value exactly; anything else is an InputError."""
    before = count(module_app, PatientRow)
    try:
        patient, created = add_patient(module_app, fields)
    except InputError:
        assert count(module_app, PatientRow) == before
        return
    assert get_patient(module_app, patient.id) == patient
    assert patient.name == fields["name"].strip()
