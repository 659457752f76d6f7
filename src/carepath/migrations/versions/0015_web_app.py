"""web: logins, sessions, failed sign-ins and calendar feed secrets of the web app

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carepath.adapters.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_utc = carepath.adapters.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "web_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", _text(length=64), nullable=False),
        sa.Column("password_hash", _text(length=200), nullable=False),
        sa.Column("role", _text(length=20), nullable=False),
        sa.Column("therapist_id", _text(length=64), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("disabled_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["therapist_id"], ["therapist.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "web_session",
        sa.Column("token_hash", _text(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", _text(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["web_user.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])
    op.create_index("ix_web_session_expires_at", "web_session", ["expires_at"])
    op.create_table(
        "web_login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", _text(length=64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_login_attempt_username", "web_login_attempt", ["username"])
    op.create_index("ix_web_login_attempt_at", "web_login_attempt", ["at"])
    op.create_table(
        "calendar_feed",
        sa.Column("owner_kind", _text(length=20), nullable=False),
        sa.Column("owner_id", _text(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("token_hash", _text(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("owner_kind", "owner_id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed")
    op.drop_index("ix_web_login_attempt_at", "web_login_attempt")
    op.drop_index("ix_web_login_attempt_username", "web_login_attempt")
    op.drop_table("web_login_attempt")
    op.drop_index("ix_web_session_expires_at", "web_session")
    op.drop_index("ix_web_session_user_id", "web_session")
    op.drop_table("web_session")
    op.drop_table("web_user")
