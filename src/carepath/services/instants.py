"""Reading instants people type, for the CLI and importers: the domain's one typed-time policy
(``carepath.domain.typed_time``) with its refusals turned into one clear input error."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from carepath.domain.timeutil import to_utc
from carepath.domain.typed_time import TypedTimeError, read_instant
from carepath.errors import InputError


def parse_instant(text: str | None, zone: str, what: str = "time") -> datetime:
    """``2027-03-01`` (start of that day), ``2027-03-01T10:30`` or with an offset → aware UTC."""
    return to_utc(typed_instant(text or "", ZoneInfo(zone), what))


def typed_instant(text: str, zone: ZoneInfo, what: str = "time", *,
                  whole_minutes: bool = False) -> datetime:
    """The aware instant (in ``zone`` unless an offset was typed), or an ``InputError``."""
    try:
        return read_instant(text, zone, whole_minutes=whole_minutes)
    except TypedTimeError as error:
        label = f"{what} {text.strip()!r}" if what == "time" else what
        raise InputError(label, error.why, error.fix) from None
