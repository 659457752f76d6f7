"""goals: target kind and baseline time on goals; assignee and proposed pathway on escalations

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import carepath.adapters.types  # noqa: F401

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_kind", sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default="mcid"))
        batch_op.add_column(sa.Column("baseline_at",
                                      carepath.adapters.types.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.alter_column("target_kind", server_default=None)
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to", sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column("proposed_pathway",
                                      sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_column("proposed_pathway")
        batch_op.drop_column("assigned_to")
    with op.batch_alter_table("goal", schema=None) as batch_op:
        batch_op.drop_column("baseline_at")
        batch_op.drop_column("target_kind")
