"""Reading a visit's wall-clock start a person typed: the one typed-time policy
(``carepath.domain.typed_time``) with whole minutes required, like the schedule."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from carepath.services.instants import typed_instant


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """``2027-03-02 09:00`` / ``2027-03-02T09:00`` (clinic zone) or with an offset → aware."""
    return typed_instant(text, zone, whole_minutes=True)
