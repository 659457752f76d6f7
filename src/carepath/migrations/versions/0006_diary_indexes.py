"""diary indexes: covering indexes for reading busy times; no index on appointment.status;
booking times on whole minutes

``carepath slots`` at a large clinic reads thousands of bookings per answer. With an index
on ``appointment.status`` (a column of a handful of values) SQLite's planner chose it over
the (therapist, start) range and scanned every booked visit; the new indexes hold every
column the read needs, so the table itself is not touched.

Scheduling counts whole minutes, and the diary is read as epoch minutes computed by the
database. A booking time with seconds (typed by hand before times were checked) is floored
to its minute here, as the engine always read it; flooring keeps touching visits touching.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _floor_booking_times()
    op.drop_index("ix_appointment_status", table_name="appointment")
    op.drop_index("ix_appointment_therapist_start", table_name="appointment")
    op.create_index("ix_appointment_therapist_time", "appointment",
                    ["therapist_id", "start_utc", "end_utc", "status", "patient_id"])
    op.drop_index("ix_resource_booking_resource_start", table_name="resource_booking")
    op.create_index("ix_resource_booking_resource_time", "resource_booking",
                    ["resource_id", "start_utc", "end_utc", "active", "unit", "appointment_id"])


def _floor_booking_times() -> None:
    bind = op.get_bind()
    for table in ("appointment", "resource_booking"):
        if bind.dialect.name != "postgresql":  # SQLite text: "2027-03-01 14:30:15.250000"
            for column in ("start_utc", "end_utc"):
                op.execute(sa.text(
                    f"UPDATE {table} SET {column} = substr({column}, 1, 16) || :whole "
                    f"WHERE substr({column}, 17) <> :whole").bindparams(whole=":00.000000"))
            continue
        # Row by row, earliest first: the exclusion constraints check each row as it
        # changes, and a visit floored before the one ending in its first minute would
        # overlap that one for a few seconds.
        off_minute = (f"SELECT id FROM {table} WHERE start_utc <> date_trunc('minute', "
                      "start_utc) OR end_utc <> date_trunc('minute', end_utc) ORDER BY start_utc")
        for ident in bind.execute(sa.text(off_minute)).scalars().all():
            bind.execute(sa.text(
                f"UPDATE {table} SET start_utc = date_trunc('minute', start_utc), "
                "end_utc = date_trunc('minute', end_utc) WHERE id = :id"), {"id": ident})


def downgrade() -> None:
    op.drop_index("ix_resource_booking_resource_time", table_name="resource_booking")
    op.create_index("ix_resource_booking_resource_start", "resource_booking",
                    ["resource_id", "start_utc"])
    op.drop_index("ix_appointment_therapist_time", table_name="appointment")
    op.create_index("ix_appointment_therapist_start", "appointment",
                    ["therapist_id", "start_utc"])
    op.create_index("ix_appointment_status", "appointment", ["status"])
