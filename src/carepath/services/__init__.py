"""Use cases: load → decide (domain) → save and queue effects, in one transaction.

``App`` carries what every use case needs — settings, the checked config, the engine, the
clock and the table of event handlers — so that the CLI, the flows and the tests call the
same functions. ``carepath.bootstrap.open_app`` builds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session

from carepath.adapters.clock import Clock
from carepath.adapters.tables import AuditRow
from carepath.config.settings import Settings
from carepath.domain.config.models import Config

if TYPE_CHECKING:
    from carepath.services.events import Handlers


@dataclass
class App:
    settings: Settings
    config: Config
    engine: Engine
    clock: Clock
    handlers: Handlers  # who hears each domain event (``carepath.bootstrap.event_handlers``)

    def audit(
        self, session: Session, action: str, entity: str, entity_id: object, **detail: Any
    ) -> None:
        """Record who did what, when; written in the caller's transaction."""
        session.add(AuditRow(at=self.clock.now(), actor=self.settings.actor, action=action,
                             entity=entity, entity_id=str(entity_id),
                             detail=json.dumps(detail, default=str, sort_keys=True)))
