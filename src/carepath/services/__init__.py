"""Use cases: load → decide (domain) → save and queue effects, in one transaction.

``App`` carries what every use case needs — settings, the checked config, the engine and
the clock — so that the CLI, the flows and the tests call the same functions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, select

from carepath.adapters.clock import Clock, SystemClock
from carepath.adapters.db import ensure_schema, make_engine
from carepath.adapters.tables import AuditRow, ResourceRow, TherapistRow
from carepath.config_loader import load_config
from carepath.domain.config import Config
from carepath.errors import InputError
from carepath.settings import Settings


@dataclass
class App:
    settings: Settings
    config: Config
    engine: Engine
    clock: Clock

    @classmethod
    def open(
        cls, settings: Settings, clock: Clock | None = None, *, config: Config | None = None
    ) -> App:
        """Load the config, build the engine, upgrade the schema and sync the config."""
        _make_home(settings.home)
        config = config or load_config(settings.config_dir)
        engine = make_engine(settings.database_url,
                             connect_timeout=settings.db_connect_timeout,
                             statement_timeout=settings.db_statement_timeout)
        ensure_schema(engine)
        _restrict_sqlite_file(settings.database_url)
        app = cls(settings=settings, config=config, engine=engine, clock=clock or SystemClock())
        sync_config(app)
        import carepath.services.wiring  # noqa: F401  (event subscribers, e.g. messaging)

        return app

    def audit(
        self, session: Session, action: str, entity: str, entity_id: object, **detail: Any
    ) -> None:
        """Record who did what, when; written in the caller's transaction."""
        session.add(AuditRow(at=self.clock.now(), actor=self.settings.actor, action=action,
                             entity=entity, entity_id=str(entity_id),
                             detail=json.dumps(detail, default=str, sort_keys=True)))


def _make_home(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(home, 0o700)  # patient data lives here: owner only
    except OSError as error:
        raise InputError("CAREPATH_HOME", f"cannot use {home} ({error.strerror})",
                         "point CAREPATH_HOME at a folder you can write") from None


def _restrict_sqlite_file(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists():
                os.chmod(candidate, 0o600)


def sync_config(app: App) -> None:
    """Mirror therapists and resources from the config into their tables (for foreign keys).

    Rows that left the config are kept (history points at them) but marked inactive.
    """
    from carepath.adapters.db import transaction

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
