"""run: host, pid, engine, owner token, Prefect flow-run id; lease: fencing token and engine;
patient_ref: numbers that stand for patients in Prefect parameters

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=False, server_default=""))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("engine", sqlmodel.sql.sqltypes.AutoString(length=20),
                                   nullable=False, server_default="cli"))
        batch.add_column(sa.Column("owner_token", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
    with op.batch_alter_table("lease") as batch:
        batch.add_column(sa.Column("token", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("engine", sqlmodel.sql.sqltypes.AutoString(length=20),
                                   nullable=False, server_default="serve"))
    op.create_table(
        "patient_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id"),
    )


def downgrade() -> None:
    op.drop_table("patient_ref")
    with op.batch_alter_table("lease") as batch:
        batch.drop_column("engine")
        batch.drop_column("token")
    with op.batch_alter_table("run") as batch:
        for column in ("flow_run_id", "owner_token", "engine", "pid", "host"):
            batch.drop_column(column)
