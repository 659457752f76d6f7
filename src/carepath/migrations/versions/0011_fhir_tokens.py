"""fhir: API tokens for the FHIR read API (stored as SHA-256 hashes, with their scopes)

Revision ID: 0011
Revises: 0006
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carepath.adapters.types

revision: str = "0011"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", carepath.adapters.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", carepath.adapters.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("fhir_token")
