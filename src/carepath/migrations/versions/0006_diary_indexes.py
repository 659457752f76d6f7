"""diary indexes: covering indexes for reading busy times; no index on appointment.status

``carepath slots`` at a large clinic reads thousands of bookings per answer. With an index
on ``appointment.status`` (a column of a handful of values) SQLite's planner chose it over
the (therapist, start) range and scanned every booked visit; the new indexes hold every
column the read needs, so the table itself is not touched.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_appointment_status", table_name="appointment")
    op.drop_index("ix_appointment_therapist_start", table_name="appointment")
    op.create_index("ix_appointment_therapist_time", "appointment",
                    ["therapist_id", "start_utc", "end_utc", "status", "patient_id"])
    op.drop_index("ix_resource_booking_resource_start", table_name="resource_booking")
    op.create_index("ix_resource_booking_resource_time", "resource_booking",
                    ["resource_id", "start_utc", "end_utc", "active", "unit", "appointment_id"])


def downgrade() -> None:
    op.drop_index("ix_resource_booking_resource_time", table_name="resource_booking")
    op.create_index("ix_resource_booking_resource_start", "resource_booking",
                    ["resource_id", "start_utc"])
    op.drop_index("ix_appointment_therapist_time", table_name="appointment")
    op.create_index("ix_appointment_therapist_start", "appointment",
                    ["therapist_id", "start_utc"])
    op.create_index("ix_appointment_status", "appointment", ["status"])
