"""Reading instants people type: an ISO date or date-time, in the clinic's zone unless an
offset is given. Kept apart so the CLI and CSV imports read times the same way."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from carepath.domain.timeutil import local_datetime, to_utc
from carepath.errors import InputError


def parse_instant(text: str | None, zone: str) -> datetime:
    """``2027-03-01`` (start of that day), ``2027-03-01T10:30`` or with an offset → aware UTC."""
    raw = (text or "").strip()
    try:
        if len(raw) == 10:
            return to_utc(local_datetime(date.fromisoformat(raw), time(0, 0), ZoneInfo(zone),
                                         shift_gap=True))
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(f"time {raw!r}", "not an ISO date or date-time",
                         "write e.g. 2027-03-01 or 2027-03-01T10:30") from None
    if moment.tzinfo is None:
        moment = local_datetime(moment.date(), moment.time(), ZoneInfo(zone), shift_gap=True)
    return to_utc(moment)
