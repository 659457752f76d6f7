"""What must hold of every patient's timeline, checked straight from the tables.

Deliberately independent of the engine: plain SQL, its own reading of the config's exclusive
groups, no import from ``carepath.domain.timeline`` or ``carepath.services``. A bug in the
engine's rules cannot hide itself here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from carepath.domain.config.models import Config

RUNNING = ("planned", "active")


def lanes_of(config: Config, pathway_id: str) -> set[str]:
    pathway = config.pathways.get(pathway_id)
    return {pathway_id, *(pathway.timeline.exclusive if pathway else [])}


def timeline_problems(engine: Engine, config: Config, now: datetime) -> list[str]:
    """Every broken rule, one line each; empty when the timelines are sound."""
    with engine.connect() as db:
        episodes = db.execute(text("SELECT id, patient_id, pathway_id, state FROM episode")).all()
        booked = db.execute(text(
            "SELECT a.id, a.episode_id, a.start_utc FROM appointment a "
            "WHERE a.status = 'booked' AND a.episode_id IS NOT NULL")).all()
        cancelled = db.execute(text(
            "SELECT id, uid, sequence FROM appointment WHERE status = 'cancelled'")).all()
        keys = {k for (k,) in db.execute(text(
            "SELECT idempotency_key FROM outbox WHERE idempotency_key LIKE 'invite:%'"))}
        audit = db.execute(text(
            "SELECT entity_id, action, detail FROM audit WHERE entity = 'episode' "
            "ORDER BY id")).all()
        claims = db.execute(text(
            "SELECT episode_id, lane FROM episode_claim WHERE released_at IS NULL")).all()
    state = {e.id: e.state for e in episodes}
    problems = _exclusive(episodes, config)
    problems += _future_visits(booked, state, now)
    problems += _cancels_sent(cancelled, keys)
    problems += _audited(episodes, audit)
    problems += _claims(episodes, claims, config)
    return problems


def _exclusive(episodes: list, config: Config) -> list[str]:  # type: ignore[type-arg]
    held: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in episodes:
        if e.state in RUNNING:
            for lane in lanes_of(config, e.pathway_id):
                held[(e.patient_id, lane)].append(e.id)
    return [f"patient {p}: episodes {ids} all running in lane {lane}"
            for (p, lane), ids in held.items() if len(ids) > 1]


def _future_visits(booked: list, state: dict[int, str], now: datetime) -> list[str]:  # type: ignore[type-arg]
    problems = []
    for visit in booked:
        start = visit.start_utc
        if isinstance(start, str):  # SQLite hands back text through a bare connection
            start = datetime.fromisoformat(start)
        if start.tzinfo is None:  # SQLite stores UTC without its offset
            start = start.replace(tzinfo=UTC)
        if start > now and state.get(visit.episode_id) != "active":
            problems.append(f"visit {visit.id} booked for {start:%Y-%m-%d} on episode "
                            f"{visit.episode_id}, which is {state.get(visit.episode_id)}")
    return problems


def _cancels_sent(cancelled: list, keys: set[str]) -> list[str]:  # type: ignore[type-arg]
    problems = []
    for visit in cancelled:
        prefix = f"invite:{visit.uid}:{visit.sequence}:CANCEL:"
        if not any(k.startswith(prefix) for k in keys):
            problems.append(f"visit {visit.id} cancelled without its CANCEL invite")
    return problems


def _audited(episodes: list, audit: list) -> list[str]:  # type: ignore[type-arg]
    """Replaying the audit log of each episode ends in the state the table holds."""
    replayed: dict[str, str] = {}
    problems = []
    for entity_id, action, detail in audit:
        fields = json.loads(detail or "{}")
        if action == "episode.enrol":
            replayed[entity_id] = "active"
        elif "after" in fields:
            if replayed.get(entity_id) != fields.get("before"):
                problems.append(f"episode {entity_id}: audit says {action} from "
                                f"{fields.get('before')}, but it was {replayed.get(entity_id)}")
            replayed[entity_id] = fields["after"]
    for e in episodes:
        if replayed.get(str(e.id)) != e.state:
            problems.append(f"episode {e.id} is {e.state}; its audit log ends at "
                            f"{replayed.get(str(e.id))}")
    return problems


def _claims(episodes: list, claims: list, config: Config) -> list[str]:  # type: ignore[type-arg]
    held: dict[int, set[str]] = defaultdict(set)
    for episode_id, lane in claims:
        held[episode_id].add(lane)
    problems = []
    for e in episodes:
        wanted = lanes_of(config, e.pathway_id) if e.state in RUNNING else set()
        if held.get(e.id, set()) != wanted:
            problems.append(f"episode {e.id} ({e.state}) holds {sorted(held.get(e.id, set()))}, "
                            f"should hold {sorted(wanted)}")
    return problems
