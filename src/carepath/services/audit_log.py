"""The audit log read back: who changed what, and when (``carepath audit``).

Every use case writes its audit row in the same transaction as the change (``App.audit``), so
this list is complete: a change without its row would have rolled back with it. Filters are
plain equality on stored columns — an entity named "%" is not a wildcard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import AuditRow
from carepath.services import App


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to show: ``entity`` is ``kind`` or ``kind:id``; ``since`` is UTC."""

    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    limit: int = 200


def audit_entries(app: App, wanted: AuditFilter) -> list[dict[str, Any]]:
    """Audit rows matching ``wanted``, oldest first (the last ``limit`` of them)."""
    query = select(AuditRow).order_by(col(AuditRow.id).desc()).limit(wanted.limit)
    if wanted.entity:
        query = query.where(AuditRow.entity == wanted.entity)
    if wanted.entity_id:
        query = query.where(AuditRow.entity_id == wanted.entity_id)
    if wanted.actor:
        query = query.where(AuditRow.actor == wanted.actor)
    if wanted.since:
        query = query.where(col(AuditRow.at) >= wanted.since)
    with transaction(app.engine) as session:
        rows = list(session.exec(query))
    return [_entry(row) for row in reversed(rows)]


def _entry(row: AuditRow) -> dict[str, Any]:
    at = row.at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"id": row.id, "at": at, "actor": row.actor, "action": row.action,
            "entity": row.entity, "entity_id": row.entity_id,
            "detail": json.loads(row.detail or "{}")}
