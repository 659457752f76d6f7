"""Appointments out: plain records in the clinic's zone, and the JSON or CSV export.

Read-only, and apart from the scheduling engine, so listing or exporting appointments imports
no placement code. Rows are read a chunk at a time (``CHUNK``), never as ORM objects, so a
large clinic's year is never held in memory at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select as core_select
from sqlmodel import Session, col

from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow, ResourceBookingRow
from carepath.domain.text import spreadsheet_cell
from carepath.errors import InputError
from carepath.services import App

EXPORT_FIELDS = ("id", "uid", "episode_id", "patient_id", "therapist_id", "visit_type",
                 "visit_name", "seq", "start", "end", "minutes", "status", "sequence", "fixed",
                 "resources", "caregiver_invited")


def appointment_records(app: App, session: Session, *, since: datetime | None = None,
                        until: datetime | None = None, patient_id: str | None = None,
                        therapist_id: str | None = None,
                        status: str | None = None) -> list[dict[str, Any]]:
    """Appointments as plain records; times in the clinic's zone, ISO 8601 with offsets."""
    return list(iter_records(app, session, since=since, until=until, patient_id=patient_id,
                             therapist_id=therapist_id, status=status))


CHUNK = 2000  # rows read, converted and written at a time: memory stays flat


def iter_records(app: App, session: Session, *, since: datetime | None = None,
                 until: datetime | None = None, patient_id: str | None = None,
                 therapist_id: str | None = None,
                 status: str | None = None) -> Iterator[dict[str, Any]]:
    """``appointment_records`` a chunk at a time, in (start, id) order: plain rows, not ORM
    objects, so nothing piles up in the session."""
    zone, a = ZoneInfo(app.config.clinic.timezone), AppointmentRow
    query = core_select(col(a.id), col(a.uid), col(a.episode_id), col(a.patient_id),
                        col(a.therapist_id), col(a.visit_type), col(a.visit_name), col(a.seq),
                        col(a.start_utc), col(a.end_utc), col(a.status), col(a.sequence),
                        col(a.fixed), col(a.caregiver_invited)
                        ).order_by(col(a.start_utc), col(a.id))
    for column, value in ((a.patient_id, patient_id), (a.therapist_id, therapist_id),
                          (a.status, status)):
        if value:
            query = query.where(col(column) == value)
    if since:
        query = query.where(col(a.start_utc) >= since)
    if until:
        query = query.where(col(a.start_utc) < until)
    result = session.execute(query.execution_options(yield_per=CHUNK))
    for rows in result.partitions(CHUNK):
        units = _units(session, [r.id for r in rows])
        for r in rows:
            yield {
                "id": r.id, "uid": r.uid, "episode_id": r.episode_id,
                "patient_id": r.patient_id, "therapist_id": r.therapist_id,
                "visit_type": r.visit_type, "visit_name": r.visit_name, "seq": r.seq,
                "start": r.start_utc.astimezone(zone).isoformat(),
                "end": r.end_utc.astimezone(zone).isoformat(),
                "minutes": int((r.end_utc - r.start_utc).total_seconds() // 60),
                "status": r.status, "sequence": r.sequence, "fixed": r.fixed,
                "resources": ";".join(units.get(r.id, [])),
                "caregiver_invited": r.caregiver_invited,
            }


def _units(session: Session, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    booking = ResourceBookingRow
    for chunk in range(0, len(ids), 500):
        for appointment_id, resource_id, unit in session.execute(core_select(
                col(booking.appointment_id), col(booking.resource_id), col(booking.unit)).where(
                col(booking.appointment_id).in_(ids[chunk:chunk + 500]),
                col(booking.active).is_(True)).order_by(col(booking.id))):
            found.setdefault(appointment_id, []).append(f"{resource_id}#{unit}")
    return found


def export_appointments(app: App, fmt: str = "json", **filters: Any) -> str:
    """Every appointment as JSON or CSV text (ISO 8601 with offsets)."""
    out = io.StringIO()
    write_appointments(app, out, fmt, **filters)
    return out.getvalue()


def write_appointments(app: App, out: TextIO, fmt: str = "json", **filters: Any) -> int:
    """``export_appointments`` written to ``out`` as it is read, a chunk at a time: a large
    clinic's year is never held in memory at once. Returns how many were written."""
    if fmt not in ("json", "csv"):
        raise InputError(f"format {fmt!r}", "unknown", "use json or csv")
    count = 0
    with transaction(app.engine) as session:
        records = iter_records(app, session, **filters)
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            for record in records:  # a cell a spreadsheet would run as a formula is quoted
                writer.writerow({key: spreadsheet_cell(value) for key, value in record.items()})
                count += 1
            return count
        # The same text as json.dumps(records, indent=2), one record at a time.
        for record in records:
            text = json.dumps(record, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            out.write(("[\n  " if not count else ",\n  ") + text)
            count += 1
        out.write("\n]" if count else "[]")
    return count
