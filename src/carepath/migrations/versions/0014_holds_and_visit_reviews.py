"""progression_hold (the two-hour rule's "hold progression", until cleared) and
visit_review (devices, orthotics and the caregiver's role recorded at a progression review)

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carepath.adapters.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "progression_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("created_at", carepath.adapters.types.UTCDateTime(), nullable=False),
        sa.Column("cleared_at", carepath.adapters.types.UTCDateTime(), nullable=True),
        sa.Column("cleared_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("clear_reason", sqlmodel.sql.sqltypes.AutoString(length=500),
                  nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"]),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_progression_hold_episode_id"), "progression_hold", ["episode_id"])
    op.create_table(
        "visit_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("assistive_devices", sqlmodel.sql.sqltypes.AutoString(length=500),
                  nullable=False),
        sa.Column("orthotics", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("caregiver_role", sqlmodel.sql.sqltypes.AutoString(length=500),
                  nullable=False),
        sa.Column("caregiver_present", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", carepath.adapters.types.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id"),
    )


def downgrade() -> None:
    op.drop_table("visit_review")
    op.drop_index(op.f("ix_progression_hold_episode_id"), table_name="progression_hold")
    op.drop_table("progression_hold")
