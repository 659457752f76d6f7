"""``carepath fhir export``: the clinic as one FHIR R4 Bundle, streamed entry by entry.

The bundle is written as it is read (a batch of patients at a time), so memory stays flat
however large the clinic. A ``collection`` bundle gives each entry a ``fullUrl`` under
``BASE``; a ``transaction`` bundle adds ``PUT Type/id`` requests, so a FHIR server keeps
carepath's ids and every reference resolves. ``--since`` exports the whole record of every
patient with a change since that day (so references still resolve inside the bundle).

Files are written owner-only (0600) through a temporary file renamed into place; a
symbolic link as the target is refused rather than followed.
"""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import IO, Any

from carepath.adapters.db import transaction
from carepath.adapters.output_file import open_output_file
from carepath.adapters.tables import PatientRow
from carepath.domain.timeutil import local_datetime
from carepath.errors import InputError, NotFound
from carepath.fhir import codes, mappers, store
from carepath.services import App
from carepath.services.booking_store import clinic_zone

BASE = codes.CANONICAL_BASE


@dataclass
class ExportReport:
    resources: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def count(self, resource: dict[str, Any]) -> None:
        self.resources += 1
        kind = resource["resourceType"]
        self.by_type[kind] = self.by_type.get(kind, 0) + 1


def export_bundle(app: App, out: IO[str], *, patient_id: str | None = None,
                  since: date | None = None, as_transaction: bool = False) -> ExportReport:
    """Write the Bundle to ``out`` (see the module docstring); returns what it wrote."""
    if patient_id is not None and since is not None:
        raise InputError("--patient and --since", "given together", "pass one of them")
    report = ExportReport()
    kind = "transaction" if as_transaction else "collection"
    out.write(json.dumps({"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": kind,
                          "timestamp": mappers.instant(app.clock.now(), clinic_zone(app))})[:-1])
    out.write(', "entry": [\n')
    first = True
    for resource in resources(app, patient_id=patient_id, since=since):
        out.write(("" if first else ",\n") + json.dumps(entry(resource, as_transaction),
                                                        ensure_ascii=False))
        first = False
        report.count(resource)
    out.write("\n]}\n")
    return report


def entry(resource: dict[str, Any], as_transaction: bool) -> dict[str, Any]:
    path = f"{resource['resourceType']}/{resource['id']}"
    found: dict[str, Any] = {"fullUrl": f"{BASE}/{path}", "resource": resource}
    if as_transaction:
        found["request"] = {"method": "PUT", "url": path}
    return found


def resources(app: App, *, patient_id: str | None = None,
              since: date | None = None) -> Iterator[dict[str, Any]]:
    """Every resource of the export, clinic first, then patient by patient."""
    zone = clinic_zone(app)
    start = local_datetime(since, time(0, 0), zone, shift_gap=True) if since else None
    with transaction(app.engine) as session:
        if patient_id is not None and session.get(PatientRow, patient_id) is None:
            raise NotFound("patient", patient_id, "list them with: carepath patients list")
        yield from store.clinic_resources(app.config, store.pathway_versions(session))
        ids = [patient_id] if patient_id is not None else None
        for batch in store.patient_batches(session, ids, since=start):
            yield from store.patient_resources(session, app.config, zone, batch)
            session.expunge_all()  # the batch's rows are written; let them go
        if patient_id is None:
            for message in store.staff_messages(session, app.config, since=start):
                yield mappers.communication(message, zone)


def export_to_file(app: App, path: Path, *, force: bool = False,
                   **options: Any) -> ExportReport:
    """Export into ``path``, owner-only, replacing it whole only when the export succeeded
    (never through a symbolic link: see ``adapters.output_file``)."""
    with open_output_file(path, force=force) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8")
        report = export_bundle(app, out, **options)
        out.flush()
        out.detach()  # the raw stream is synced and closed by open_output_file
    return report


def export_to_stdout(app: App, **options: Any) -> ExportReport:
    return export_bundle(app, sys.stdout, **options)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--since {text[:30]!r}", "is not a date",
                         "write it as YYYY-MM-DD") from None

