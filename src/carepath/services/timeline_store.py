"""Reading a patient's timeline and keeping its lane claims, inside the caller's transaction.

Every timeline change first locks the patient's row (PostgreSQL: ``FOR NO KEY UPDATE``;
SQLite's ``BEGIN IMMEDIATE`` already serializes writers), so two processes acting on one
patient take turns; the partial unique index on ``episode_claim`` catches anything that
does not go through here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from carepath.adapters.tables import EpisodeClaimRow, EpisodeRow, PatientRow
from carepath.domain.config.models import Config
from carepath.domain.timeline import EpisodeView, PathwayRules, Timeline
from carepath.errors import CarepathError, NotFound
from carepath.services import App


class ClaimTaken(CarepathError):
    """Another transaction claimed the lane first: read the timeline again and decide again."""


def pathway_rules(config: Config) -> dict[str, PathwayRules]:
    return {p.id: PathwayRules(p.id, frozenset(p.timeline.exclusive), p.transitions.on_complete,
                               p.transitions.on_relapse, p.timeline.relapse)
            for p in config.pathways.values()}


def lock_patient(session: Session, patient_id: str) -> PatientRow:
    row = session.exec(select(PatientRow).where(PatientRow.id == patient_id)
                       .with_for_update(key_share=True)).first()
    if row is None:
        raise NotFound("patient", patient_id, "add them with: carepath patients add")
    return row


def load_timeline(session: Session, app: App, patient_id: str) -> Timeline:
    """The patient's episodes, oldest first, with every pathway's rules (row locked)."""
    lock_patient(session, patient_id)
    rows = session.exec(select(EpisodeRow).where(EpisodeRow.patient_id == patient_id)
                        .order_by(col(EpisodeRow.id))).all()
    episodes = tuple(EpisodeView(int(r.id or 0), r.pathway_id, r.state, r.start_date)
                     for r in rows)
    return Timeline(patient_id, episodes, pathway_rules(app.config))


def claim(session: Session, app: App, episode: EpisodeRow) -> None:
    """Hold the episode's lanes; ``ClaimTaken`` when a racing transaction got there first."""
    claim_all(session, app, [episode])


def claim_all(session: Session, app: App, episodes: Sequence[EpisodeRow]) -> None:
    """``claim`` for many episodes (a batch) in one flush."""
    rules, now = pathway_rules(app.config), app.clock.now()
    rows = []
    for episode in episodes:
        assert episode.id is not None
        lanes = rules.get(episode.pathway_id, PathwayRules(episode.pathway_id))
        rows += [EpisodeClaimRow(episode_id=episode.id, patient_id=episode.patient_id,
                                 lane=lane, claimed_at=now) for lane in sorted(lanes.lanes)]
    with claim_or_taken(session):
        session.add_all(rows)


def release(session: Session, app: App, episode_id: int) -> None:
    for row in session.exec(select(EpisodeClaimRow).where(
            EpisodeClaimRow.episode_id == episode_id,
            col(EpisodeClaimRow.released_at).is_(None))):
        row.released_at = app.clock.now()
        session.add(row)


@contextmanager
def claim_or_taken(session: Session) -> Iterator[None]:
    """Flush; a lost race is a clear, retryable ``ClaimTaken`` (the transaction is over)."""
    try:
        yield
        session.flush()
    except IntegrityError as error:
        if "episode_claim" not in str(error.orig):
            raise
        raise ClaimTaken("another change to this patient's timeline won the race") from None
