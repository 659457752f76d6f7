"""Reading a wall-clock time a person typed, in the clinic's zone, honestly on DST nights.

Times are to the minute, like the schedule: ``09:00:30`` is refused, not rounded.

``2027-03-14 02:30`` does not exist in New York (clocks jump from 02:00 to 03:00): that is
an error naming the first valid time, never a silent shift. ``2027-11-07 01:30`` happens
twice: it means the first one (EDT), as calendar clients read it (RFC 5545 §3.3.5); write
an offset (``01:30-05:00``) for the second.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from carepath.domain.timeutil import NonexistentLocalTime, local_datetime
from carepath.errors import InputError


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """``2027-03-02 09:00`` / ``2027-03-02T09:00`` (clinic zone) or with an offset → aware."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(f"time {raw!r}", "not a date and time",
                         "write e.g. 2027-03-02 09:00") from None
    if moment.second or moment.microsecond:
        raise InputError(f"time {raw!r}", "visits start on a whole minute",
                         f"write e.g. {moment:%Y-%m-%d %H:%M}")
    if moment.tzinfo is not None:
        return moment
    try:
        return local_datetime(moment.date(), moment.time(), zone)
    except NonexistentLocalTime as error:
        later = local_datetime(moment.date(), moment.time(), zone, shift_gap=True)
        valid = (later - timedelta(minutes=later.minute % 60)).time()
        raise InputError(f"time {raw!r}", str(error),
                         f"pick {max(valid, time(0)):%H:%M} or later") from None
