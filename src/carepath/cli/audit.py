"""``carepath audit``: who changed what, and when, from the audit table.

Every use case writes its audit row in the same transaction as the change (``App.audit``), so
this list is complete: a change without its row would have rolled back with it. Filters are
plain equality on stored columns — ``--entity %`` means an entity named "%", not a wildcard.
"""

from __future__ import annotations

import json
from datetime import datetime

import typer

from carepath.cli.common import FORMAT_OPTION, Format, emit, open_app
from carepath.cli.config import parse_date
from carepath.services.audit_log import AuditFilter, audit_entries
from carepath.services.instants import parse_instant


def parse_since(text: str, zone: str) -> datetime:
    """``2027-03-01`` (start of that day, clinic time) or ``2027-03-01T10:30[+01:00]`` → UTC."""
    since = parse_instant(text, zone, "--since")
    parse_date(since.date().isoformat(), "--since")  # the same range as every date option
    return since


def _split_entity(text: str) -> tuple[str | None, str | None]:
    kind, _, ident = text.partition(":")
    return (kind or None), (ident or None)


def audit(
    entity: str = typer.Option("", "--entity",
                               help="only this kind (patient) or one thing (patient:MRN1001)"),
    since: str = typer.Option("", "--since", help="from this date or date-time (clinic time)"),
    actor: str = typer.Option("", "--actor", help="only changes by this person"),
    limit: int = typer.Option(200, "--limit", min=1, max=100_000, help="the most recent N"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Every recorded change: when (UTC), who, what, to which record, with its details."""
    app = open_app()
    kind, ident = _split_entity(entity)
    wanted = AuditFilter(entity=kind, entity_id=ident, actor=actor or None, limit=limit,
                         since=parse_since(since, app.config.clinic.timezone) if since else None)
    rows = audit_entries(app, wanted)
    if fmt is Format.table:
        for row in rows:
            row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
    emit(rows, fmt, "Audit log", columns=["at", "actor", "action", "entity", "entity_id",
                                          "detail"])

