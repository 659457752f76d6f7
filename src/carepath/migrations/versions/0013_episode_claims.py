"""episode_claim: the lanes running episodes hold, one per patient and lane (partial unique)

Existing running episodes each claim their own pathway's lane (one running episode of a
pathway per patient). Where a patient already has two running episodes of one pathway, the
oldest keeps the claim and the others are reported here: ``carepath episodes repair``
(which knows the config's exclusive groups and sends the CANCELs) settles them.

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carepath.adapters.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    claim = op.create_table(
        "episode_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("claimed_at", carepath.adapters.types.UTCDateTime(), nullable=False),
        sa.Column("released_at", carepath.adapters.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_episode_claim_episode_id", "episode_claim", ["episode_id"])
    op.create_index("ux_episode_claim_running", "episode_claim", ["patient_id", "lane"],
                    unique=True, sqlite_where=sa.text("released_at IS NULL"),
                    postgresql_where=sa.text("released_at IS NULL"))
    _claim_running_episodes(claim)


def _claim_running_episodes(claim: sa.Table) -> None:
    rows = op.get_bind().execute(sa.text(
        "SELECT id, patient_id, pathway_id FROM episode "
        "WHERE state IN ('planned', 'active') ORDER BY start_date, id")).all()
    now, kept, claims, duplicates = datetime.now(UTC), {}, [], []
    for episode_id, patient_id, pathway_id in rows:
        key = (patient_id, pathway_id)
        if key in kept:
            duplicates.append(f"episode {episode_id} ({patient_id}, {pathway_id}) beside "
                              f"episode {kept[key]}")
            continue
        kept[key] = episode_id
        claims.append({"episode_id": episode_id, "patient_id": patient_id, "lane": pathway_id,
                       "claimed_at": now, "released_at": None})
    if claims:
        op.bulk_insert(claim, claims)
    if duplicates:  # said once, at upgrade time, where the admin sees it
        print(f"episode_claim: {len(claims)} running episode(s) claimed; {len(duplicates)} "
              "duplicate(s) left for `carepath episodes repair`: " + "; ".join(duplicates),
              file=sys.stderr)


def downgrade() -> None:
    op.drop_index("ux_episode_claim_running", table_name="episode_claim")
    op.drop_index("ix_episode_claim_episode_id", table_name="episode_claim")
    op.drop_table("episode_claim")
