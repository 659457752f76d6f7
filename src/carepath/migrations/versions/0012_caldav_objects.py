"""caldav_object: the ETag of each object carepath last wrote to a therapist's calendar

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carepath.adapters.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "caldav_object",
        sa.Column("therapist_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("etag", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("written_at", carepath.adapters.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("therapist_id", "uid"),
    )


def downgrade() -> None:
    op.drop_table("caldav_object")
