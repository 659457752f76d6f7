"""The config's therapists and resources mirrored into their tables (for foreign keys)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import ResourceRow, TherapistRow
from carepath.services import App


def sync_config(app: App) -> None:
    """Mirror therapists and resources from the config into their tables.

    Rows that left the config are kept (history points at them) but marked inactive.
    """
    clinic = app.config.clinic
    therapists = {t.id: {"name": t.name, "email": t.email, "senior": t.senior,
                         "skills": ",".join(t.skills)} for t in clinic.therapists}
    resources = {r.id: {"name": r.name, "kind": r.kind, "capacity": r.capacity,
                        "provides": ",".join(r.provides)} for r in clinic.resources}
    with transaction(app.engine) as session:
        _mirror(session, TherapistRow, therapists)
        _mirror(session, ResourceRow, resources)


_Mirrored = TypeVar("_Mirrored", TherapistRow, ResourceRow)


def _mirror(session: Session, table: type[_Mirrored], wanted: dict[str, dict[str, Any]]) -> None:
    existing = {row.id: row for row in session.exec(select(table))}
    for ident, values in wanted.items():
        row = existing.pop(ident, None) or table(id=ident, **values)
        for name, value in {**values, "active": True}.items():
            setattr(row, name, value)
        session.add(row)
    for gone in existing.values():
        gone.active = False
        session.add(gone)
