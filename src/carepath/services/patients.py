"""Patient use cases: add one, import many (all or nothing unless told), list."""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from carepath.adapters.db import transaction
from carepath.adapters.tables import PatientRow
from carepath.domain.patients import (
    Patient,
    format_weekdays,
    format_windows,
    header_problems,
    parse_patient,
)
from carepath.domain.timeutil import WEEKDAYS, ClockRange
from carepath.errors import InputError, NotFound
from carepath.services import App

MAX_IMPORT_BYTES = 20_000_000


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)


def to_row(patient: Patient, row: PatientRow | None, app: App) -> PatientRow:
    now = app.clock.now()
    row = row or PatientRow(id=patient.id, name=patient.name, created_at=now, updated_at=now)
    row.name, row.email, row.phone = patient.name, patient.email, patient.phone
    row.preferred_weekdays = format_weekdays(patient.preferred_weekdays)
    row.time_windows = format_windows(patient.time_windows)
    row.heat_sensitive = patient.heat_sensitive
    row.caregiver_email, row.caregiver_consent = patient.caregiver_email, patient.caregiver_consent
    row.physician_email = patient.physician_email
    row.updated_at = now
    return row


def from_row(row: PatientRow) -> Patient:
    return Patient(
        id=row.id, name=row.name, email=row.email, phone=row.phone,
        preferred_weekdays=tuple(WEEKDAYS.index(d) for d in row.preferred_weekdays.split(",") if d),
        time_windows=tuple(ClockRange.parse(w) for w in row.time_windows.split(";") if w),
        heat_sensitive=row.heat_sensitive, caregiver_email=row.caregiver_email,
        caregiver_consent=row.caregiver_consent, physician_email=row.physician_email,
    )


def add_patient(app: App, fields: dict[str, str | None]) -> tuple[Patient, bool]:
    """Create or update one patient; returns it and whether it was new."""
    patient, problems = parse_patient(fields)
    if patient is None:
        raise InputError("patient", "; ".join(problems), "correct the values and try again")
    with transaction(app.engine) as session:
        existing = session.get(PatientRow, patient.id)
        session.add(to_row(patient, existing, app))
        app.audit(session, "patient.update" if existing else "patient.create", "patient",
                  patient.id)
    return patient, existing is None


def read_csv(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    """Rows with their line numbers; clear errors for missing, huge or non-UTF-8 files."""
    if not path.is_file():
        raise InputError(str(path), "file not found", "check the path")
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise InputError(str(path), f"larger than {MAX_IMPORT_BYTES // 1_000_000} MB",
                         "split the file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(str(path), f"not UTF-8 text (byte {error.start})",
                         "save the file as UTF-8 CSV") from None
    try:
        return _records(path, csv.DictReader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:  # e.g. a field longer than the csv module's limit
        raise InputError(str(path), f"not a readable CSV file ({error})",
                         "save it as CSV with one patient per line") from None


def _records(path: Path, reader: csv.DictReader[str]) -> list[tuple[int, dict[str, str | None]]]:
    if not reader.fieldnames:
        raise InputError(str(path), "the file is empty", "the first line names the columns")
    twice = sorted({c for c in reader.fieldnames if list(reader.fieldnames).count(c) > 1})
    if twice:  # DictReader would silently keep the last of two same-named columns
        raise InputError(str(path), f"column(s) {', '.join(twice)} appear twice in the header",
                         "keep one of each")
    rows: list[tuple[int, dict[str, str | None]]] = []
    for record in reader:
        if None in record:
            record.pop(None)
            record["__extra__"] = "x"
        rows.append((reader.line_num, dict(record)))
    return rows


def read_table(path: Path, columns: Sequence[str],
               required: Sequence[str]) -> list[tuple[int, dict[str, str | None]]]:
    """``read_csv`` for an importer with a fixed set of columns: an unknown column (a typo
    that would be ignored and its values replaced by defaults), a missing one, or a row with
    more values than columns stops the import, each named with the nearest valid column."""
    rows = read_csv(path)
    header = _header(path)
    problems = [f"line 1: {p}" for p in column_problems(header, columns, required)]
    problems += [f"line {line}: more values than columns ({', '.join(columns)})"
                 for line, record in rows if record.get("__extra__")]
    if problems:
        raise InputError(str(path), f"{len(problems)} problem(s), nothing imported:\n  "
                         + "\n  ".join(problems[:20]) + ("\n  …" if len(problems) > 20 else ""),
                         "fix the file: the first line names the columns")
    return rows


def column_problems(header: Sequence[str], columns: Sequence[str],
                    required: Sequence[str]) -> list[str]:
    problems = []
    for column in header:
        if column not in columns:
            close = difflib.get_close_matches(column.strip().lower(), columns, n=1, cutoff=0.5)
            hint = (f"did you mean {close[0]!r}?" if close
                    else "the columns are " + ", ".join(columns))
            problems.append(f"unknown column {column[:40]!r} — {hint}")
    problems += [f"missing column {c!r}" for c in required if c not in header]
    return problems


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as stream:  # read_csv checked it
        return [column for column in next(csv.reader(stream), []) if column]


def import_patients(app: App, path: Path, *, skip_invalid: bool = False) -> ImportResult:
    """Import a CSV of patients; nothing is written when any row is bad, unless ``skip_invalid``.

    Re-importing the same file updates patients in place and never duplicates them.
    """
    result = ImportResult()
    valid: dict[str, Patient] = {}
    problems: list[str] = []
    rows = read_csv(path)
    _check_header(path, rows)
    for line, record in rows:
        if record.pop("__extra__", None):
            problems.append(f"line {line}: more values than columns")
            continue
        patient, row_problems = parse_patient(record)
        if patient is not None and patient.id in valid:
            row_problems = [f"id: {patient.id} appears twice in the file"]
        if patient is None or row_problems:
            problems.extend(f"line {line}: {p}" for p in row_problems)
        else:
            valid[patient.id] = patient
    if problems and not skip_invalid:
        raise InputError(str(path), f"{len(problems)} problem(s), nothing imported:\n  "
                         + "\n  ".join(problems), "fix the rows, or pass --skip-invalid")
    result.skipped = problems
    with transaction(app.engine) as session:
        for patient in valid.values():
            existing = session.get(PatientRow, patient.id)
            if existing is not None and from_row(existing) == patient:
                result.unchanged += 1
                continue
            session.add(to_row(patient, existing, app))
            if existing:
                result.updated += 1
            else:
                result.created += 1
            # one row per patient too, so `carepath audit --entity patient:ID` shows imports
            app.audit(session, "patient.update" if existing else "patient.create", "patient",
                      patient.id, source=path.name)
        app.audit(session, "patient.import", "patient", path.name, created=result.created,
                  updated=result.updated, skipped=len(problems))
    return result


def _check_header(path: Path, rows: list[tuple[int, dict[str, str | None]]]) -> None:
    """A bad header spoils every row, so it stops the import even with --skip-invalid."""
    if not rows:
        return  # a header alone imports nothing, whatever it says
    problems = header_problems(column for column in rows[0][1] if column != "__extra__")
    if problems:
        raise InputError(str(path), f"{len(problems)} problem(s), nothing imported:\n  "
                         + "\n  ".join(f"line 1: {p}" for p in problems),
                         "fix the first line: it names the columns")


def list_patients(app: App) -> list[Patient]:
    with transaction(app.engine) as session:
        return [from_row(r) for r in session.exec(select(PatientRow).order_by(PatientRow.id))]


def get_patient(app: App, patient_id: str) -> Patient:
    with transaction(app.engine) as session:
        row = session.get(PatientRow, patient_id)
        if row is None:
            raise NotFound("patient", patient_id, "add it with: carepath patients add")
        return from_row(row)
