""""Hold progression": the two-hour rule failed, so the next sessions must not get harder.

A review that finds the failures opens a hold on the episode (with its escalation); the
therapist's visit list, the visits' calendar descriptions and the episode's plan show it
until a therapist clears it — who, when and why are kept and audited. Plain functions taking
the app and returning dataclasses, for the CLI and the web app alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from carepath.adapters.db import transaction
from carepath.adapters.tables import EpisodeRow, ProgressionHoldRow
from carepath.errors import InputError, NotFound
from carepath.services import App
from carepath.services.events import ProgressionHoldChanged, publish

HOLD_TEXT = "HOLD PROGRESSION: do not make this session harder (two-hour rule)"


@dataclass(frozen=True)
class HoldView:
    id: int
    episode_id: int
    patient_id: str
    escalation_id: int | None
    reason: str
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str
    clear_reason: str

    @property
    def active(self) -> bool:
        return self.cleared_at is None


def place_hold(session: Session, app: App, episode_id: int, escalation_id: int | None,
               reason: str, now: datetime) -> ProgressionHoldRow:
    """Open a hold on the episode in the caller's transaction (one open hold at a time)."""
    existing = session.exec(select(ProgressionHoldRow).where(
        ProgressionHoldRow.episode_id == episode_id,
        col(ProgressionHoldRow.cleared_at).is_(None))).first()
    if existing is not None:
        return existing
    row = ProgressionHoldRow(episode_id=episode_id, escalation_id=escalation_id,
                             reason=reason[:500], created_at=now)
    session.add(row)
    session.flush()
    app.audit(session, "hold.place", "episode", episode_id, hold=row.id,
              escalation=escalation_id)
    _update_next_invite(session, app, episode_id, now, "hold on progression placed")
    return row


def _update_next_invite(session: Session, app: App, episode_id: int, now: datetime,
                        reason: str) -> None:
    """The next visit's invite must say (or stop saying) HOLD: messaging re-sends it."""
    publish(session, app, ProgressionHoldChanged(episode_id, now, reason))


def held_episodes(session: Session, episode_ids: Iterable[int | None]) -> set[int]:
    """Which of these episodes have a hold not yet cleared (one query)."""
    wanted = {e for e in episode_ids if e is not None}
    if not wanted:
        return set()
    rows = session.exec(select(ProgressionHoldRow.episode_id).where(
        col(ProgressionHoldRow.episode_id).in_(wanted),
        col(ProgressionHoldRow.cleared_at).is_(None)))
    return set(rows)


def list_holds(app: App, *, episode_id: int | None = None,
               include_cleared: bool = False) -> list[HoldView]:
    """Holds, newest first: the active ones, or every one with ``include_cleared``."""
    query = (select(ProgressionHoldRow, EpisodeRow.patient_id)
             .join(EpisodeRow, col(EpisodeRow.id) == ProgressionHoldRow.episode_id)
             .order_by(col(ProgressionHoldRow.id).desc()))
    if episode_id is not None:
        query = query.where(ProgressionHoldRow.episode_id == episode_id)
    if not include_cleared:
        query = query.where(col(ProgressionHoldRow.cleared_at).is_(None))
    with transaction(app.engine) as session:
        return [_view(row, patient) for row, patient in session.exec(query)]


def clear_hold(app: App, hold_id: int, reason: str) -> HoldView:
    """A therapist clears the hold: the patient recovers within two hours again."""
    if not reason.strip():
        raise InputError(f"hold {hold_id}", "clearing a hold needs a reason",
                         "say why, e.g. --reason 'recovered within 2 h after the last two "
                         "sessions'")
    with transaction(app.engine) as session:
        row = session.get(ProgressionHoldRow, hold_id)
        if row is None:
            raise NotFound("hold", hold_id, "list them with: carepath holds list")
        if row.cleared_at is not None:
            raise InputError(f"hold {hold_id}", f"was already cleared by {row.cleared_by} "
                             f"on {row.cleared_at:%Y-%m-%d}")
        row.cleared_at, row.cleared_by = app.clock.now(), app.settings.actor[:100]
        row.clear_reason = reason.strip()[:500]
        session.add(row)
        app.audit(session, "hold.clear", "episode", row.episode_id, hold=hold_id,
                  reason=row.clear_reason)
        session.flush()
        _update_next_invite(session, app, row.episode_id, row.cleared_at,
                            "hold on progression cleared")
        episode = session.get(EpisodeRow, row.episode_id)
        return _view(row, episode.patient_id if episode else "")


def _view(row: ProgressionHoldRow, patient_id: str) -> HoldView:
    assert row.id is not None
    return HoldView(row.id, row.episode_id, patient_id, row.escalation_id, row.reason,
                    row.created_at, row.cleared_at, row.cleared_by, row.clear_reason)
