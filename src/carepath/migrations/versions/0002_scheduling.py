"""scheduling: run-time therapist leave, cadence windows, and PostgreSQL exclusion constraints

On PostgreSQL two bookings that overlap in time can never both commit: EXCLUDE USING gist
on (therapist, time range) and (patient, time range) for active appointments, and on
(resource, unit, time range) for active resource bookings. SQLite serializes write
transactions instead (BEGIN IMMEDIATE), and the service re-reads busy times inside them.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import carepath.adapters.types  # noqa: F401

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


EXCLUSIONS = (
    ("appointment", "ex_appointment_therapist_time",
     "therapist_id WITH =, tstzrange(start_utc, end_utc) WITH &&",
     "status IN ('booked', 'completed')"),
    ("appointment", "ex_appointment_patient_time",
     "patient_id WITH =, tstzrange(start_utc, end_utc) WITH &&",
     "status IN ('booked', 'completed')"),
    ("resource_booking", "ex_resource_booking_unit_time",
     "resource_id WITH =, unit WITH =, tstzrange(start_utc, end_utc) WITH &&",
     "active"),
)


def upgrade() -> None:
    op.create_table('therapist_leave',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', carepath.adapters.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('therapist_leave', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_therapist_leave_therapist_id'), ['therapist_id'], unique=False)

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_first', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('window_last', sa.Date(), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for table, name, elements, where in EXCLUSIONS:
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} "
                       f"EXCLUDE USING gist ({elements}) WHERE ({where})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, name, _, _ in EXCLUSIONS:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('window_last')
        batch_op.drop_column('window_first')
    with op.batch_alter_table('therapist_leave', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_therapist_leave_therapist_id'))
    op.drop_table('therapist_leave')
