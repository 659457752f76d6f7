"""Patients: add one, import many — all or nothing, line numbers, re-import updates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AuditRow, PatientRow
from carepath.domain.timeutil import ClockRange
from carepath.errors import InputError
from carepath.services import App
from carepath.services.patients import (
    add_patient,
    get_patient,
    import_patients,
    list_patients,
)

HEADER = ("id,name,email,phone,preferred_weekdays,time_windows,heat_sensitive,"
          "caregiver_email,caregiver_consent,physician_email")
ANN = "MRN1,Ann Lee,ann@patients.example,+1 518 555 0101,\"mon,wed\",08:00-11:00,yes,,no,"
BEN = "MRN2,Ben Ortiz,ben@patients.example,,,,no,,no,dr@neuro.example"


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def count_patients(app: App) -> int:
    with transaction(app.engine) as session:
        return len(list(session.exec(select(PatientRow))))


def test_a_valid_file_imports_every_row_with_its_preferences(app: App, tmp_path: Path) -> None:
    """Weekdays, windows and the heat flag are parsed from their text columns."""
    result = import_patients(app, write_csv(tmp_path, ANN, BEN))
    assert (result.created, result.updated, result.unchanged, result.skipped) == (2, 0, 0, [])
    ann = get_patient(app, "MRN1")
    assert ann.preferred_weekdays == (0, 2) and ann.heat_sensitive
    assert ann.time_windows == (ClockRange.parse("08:00-11:00"),)
    assert get_patient(app, "MRN2").physician_email == "dr@neuro.example"


def test_a_bad_row_names_its_line_and_column_and_nothing_is_imported(
    any_app: App, tmp_path: Path
) -> None:
    """One bad email on line 3: the error says so and no row, good or bad, is written."""
    bad = "MRN3,Cy Park,cy-at-example,,,,no,,no,"
    path = write_csv(tmp_path, ANN, bad, BEN)
    with pytest.raises(InputError) as caught:
        import_patients(any_app, path)
    assert caught.value.why == ("1 problem(s), nothing imported:\n"
                                "  line 3: email: 'cy-at-example' is not an email address "
                                "like name@example.org")
    assert caught.value.fix == "fix the rows, or pass --skip-invalid"
    assert count_patients(any_app) == 0


def test_every_bad_row_is_listed_at_once(app: App, tmp_path: Path) -> None:
    """Three problems on two rows: all three are reported, each with its line."""
    path = write_csv(tmp_path, ANN, "MRN3,,,,,,maybe,,no,",
                     "MRN4,Di Wu,,,funday,25:00-26:00,no,,no,")
    with pytest.raises(InputError) as caught:
        import_patients(app, path)
    lines = caught.value.why.splitlines()[1:]
    assert [line.strip().split(":")[0] for line in lines] == [
        "line 3", "line 3", "line 4", "line 4"]
    assert "name: required" in lines[0] and "heat_sensitive: 'maybe' is not yes/no" in lines[1]
    assert "'funday' is not a weekday" in lines[2] and "time_windows" in lines[3]


def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(
    app: App, tmp_path: Path
) -> None:
    """--skip-invalid: good rows are written; each skipped row is listed with its line."""
    path = write_csv(tmp_path, ANN, "MRN3,Cy Park,cy-at-example,,,,no,,no,", BEN)
    result = import_patients(app, path, skip_invalid=True)
    assert (result.created, result.updated) == (2, 0)
    assert result.skipped == [
        "line 3: email: 'cy-at-example' is not an email address like name@example.org"]
    assert [p.id for p in list_patients(app)] == ["MRN1", "MRN2"]


def test_reimporting_the_same_file_changes_nothing_and_never_duplicates(
    any_app: App, tmp_path: Path
) -> None:
    """The second import finds every patient unchanged; there are still two rows."""
    path = write_csv(tmp_path, ANN, BEN)
    import_patients(any_app, path)
    again = import_patients(any_app, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert count_patients(any_app) == 2


def test_reimporting_an_edited_file_updates_in_place(any_app: App, tmp_path: Path) -> None:
    """A changed email updates the patient with that id; no second row appears."""
    import_patients(any_app, write_csv(tmp_path, ANN, BEN))
    edited = ANN.replace("ann@patients.example", "ann.lee@patients.example")
    result = import_patients(any_app, write_csv(tmp_path, edited, BEN, name="p2.csv"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert get_patient(any_app, "MRN1").email == "ann.lee@patients.example"
    assert count_patients(any_app) == 2


def test_an_id_twice_in_one_file_is_a_problem_not_a_silent_overwrite(
    app: App, tmp_path: Path
) -> None:
    """Two rows with one id: the second is reported with its line."""
    path = write_csv(tmp_path, ANN, ANN.replace("Ann Lee", "Ann Other"))
    with pytest.raises(InputError, match="line 3: id: MRN1 appears twice in the file"):
        import_patients(app, path)


def test_a_line_break_in_a_name_is_refused(app: App, tmp_path: Path) -> None:
    """CR/LF inside a quoted name would let it inject mail headers: the row is refused."""
    path = write_csv(tmp_path, 'MRN5,"Eve\r\nBcc: all@elsewhere.example",,,,,no,,no,')
    with pytest.raises(InputError, match=r"line \d: name: required; one line"):
        import_patients(app, path)
    assert count_patients(app) == 0


def test_markup_in_a_name_is_kept_exactly_as_written(app: App, tmp_path: Path) -> None:
    """A name is a name: markup is stored verbatim and escaped only where it is shown."""
    name = "<b>Fay</b> [bold]O'Neil[/bold] & {{ x }}"
    path = write_csv(tmp_path, f'MRN6,"{name}",,,,,no,,no,')
    assert import_patients(app, path).created == 1
    assert get_patient(app, "MRN6").name == name


def test_a_file_that_is_not_utf8_is_refused_with_the_byte(app: App, tmp_path: Path) -> None:
    """A Latin-1 export is one clear error: save as UTF-8."""
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\nMRN7,Zo\xe9 Blanc,,,,,no,,no,\n").encode("latin-1"))
    with pytest.raises(InputError) as caught:
        import_patients(app, path)
    assert caught.value.why == f"not UTF-8 text (byte {len(HEADER) + 8})"
    assert caught.value.fix == "save the file as UTF-8 CSV"


def test_a_utf8_file_with_a_byte_order_mark_imports(app: App, tmp_path: Path) -> None:
    """Spreadsheets often write a BOM; the first column is still ``id``."""
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\n" + BEN + "\n").encode("utf-8"))
    assert import_patients(app, path).created == 1


def test_an_empty_file_is_refused(app: App, tmp_path: Path) -> None:
    """No header line at all: say the file is empty."""
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_patients(app, path)
    assert (caught.value.why, caught.value.fix) == (
        "the file is empty", "the first line names the columns")


def test_a_header_without_rows_imports_nothing(app: App, tmp_path: Path) -> None:
    """Only the column names: zero patients, no error."""
    result = import_patients(app, write_csv(tmp_path))
    assert (result.created, result.updated, result.skipped) == (0, 0, [])


def test_a_missing_file_is_refused(app: App, tmp_path: Path) -> None:
    """A wrong path is an error naming it, not a traceback."""
    with pytest.raises(InputError, match="file not found"):
        import_patients(app, tmp_path / "nope.csv")


def test_an_unknown_column_is_refused_once_with_a_suggestion(app: App, tmp_path: Path) -> None:
    """A misspelt column would drop its data silently: the header is refused, nothing imported."""
    header = HEADER.replace("email,phone", "emial,phone")
    path = write_csv(tmp_path, ANN, BEN, header=header)
    with pytest.raises(InputError) as caught:
        import_patients(app, path, skip_invalid=True)
    assert caught.value.why == ("1 problem(s), nothing imported:\n"
                                "  line 1: unknown column 'emial' — did you mean 'email'?")
    assert count_patients(app) == 0


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out(
    app: App, tmp_path: Path
) -> None:
    """Only id and name are required columns."""
    path = write_csv(tmp_path, "Gus Hale,MRN8", header="name,id")
    assert import_patients(app, path).created == 1
    assert get_patient(app, "MRN8").name == "Gus Hale"


def test_a_missing_required_column_is_refused(app: App, tmp_path: Path) -> None:
    """Without a name column no row can be valid: say which column is missing."""
    path = write_csv(tmp_path, "MRN9,h@patients.example", header="id,email")
    with pytest.raises(InputError, match="line 1: missing column 'name'"):
        import_patients(app, path)


def test_a_row_with_more_values_than_columns_is_a_row_problem(
    app: App, tmp_path: Path
) -> None:
    """An unquoted comma in a name shifts the row: it is reported, not guessed at."""
    path = write_csv(tmp_path, ANN, "MRN10,Lee, Ann,,,,,no,,no,,")
    result = import_patients(app, path, skip_invalid=True)
    assert result.created == 1
    assert result.skipped == ["line 3: more values than columns"]


def test_add_patient_creates_then_updates_and_audits_both(app: App) -> None:
    """Adding an existing id updates it; each change leaves an audit row."""
    fields: dict[str, str | None] = {"id": "MRN11", "name": "Ida Moss"}
    assert add_patient(app, fields)[1] is True
    assert add_patient(app, {**fields, "email": "ida@patients.example"})[1] is False
    assert get_patient(app, "MRN11").email == "ida@patients.example"
    with transaction(app.engine) as session:
        actions = [a.action for a in session.exec(select(AuditRow).order_by(AuditRow.id))]
    assert actions[-2:] == ["patient.create", "patient.update"]


def test_add_patient_with_a_bad_value_writes_nothing(app: App) -> None:
    """Consent without a caregiver address is refused whole."""
    with pytest.raises(InputError, match="caregiver_consent: consent given but no"):
        add_patient(app, {"id": "MRN12", "name": "Jo Kim", "caregiver_consent": "yes"})
    assert count_patients(app) == 0
