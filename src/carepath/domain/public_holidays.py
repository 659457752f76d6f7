"""Public holidays by country, subdivision and year, from the ``holidays`` library, memoized.

The library builds a year's table in about a millisecond, but its first table imports every
country it knows (some 250 modules, about a tenth of a second): a command that finds one
slot spent more on that import than on the search. Tables are memoized for the process, and
one computed earlier by the same library version (kept beside the checked config by
``carepath.config.cache``) is handed in with ``remember``: the same answer, without the
import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

HolidayTable = dict[date, str]

_KNOWN: dict[tuple[str, str | None, int], HolidayTable] = {}


def public_holidays(country: str, subdivision: str | None, year: int) -> HolidayTable:
    """The public holidays of ``year``: day → name."""
    key = (country, subdivision, year)
    if key not in _KNOWN:
        import holidays  # most of the cost is this import: only for a year not yet known

        table = holidays.country_holidays(country, subdiv=subdivision, years=year)
        _KNOWN[key] = {day: str(name) for day, name in sorted(table.items())}
    return _KNOWN[key]


def remember(country: str, subdivision: str | None, year: int,
             table: Mapping[date, str]) -> None:
    """Take ``table`` as that year's answer (computed by this same library version)."""
    _KNOWN.setdefault((country, subdivision, year), dict(table))
