"""Column types that keep time honest on every database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware (UTC).

    SQLite's ``DateTime(timezone=True)`` silently drops the offset; this type rejects naive
    values on the way in and re-attaches UTC on the way out, so both backends agree.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive or non-datetime value {value!r}: store aware datetimes")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class minutes_of(FunctionElement[str]):  # noqa: N801 - an SQL aggregate
    """Aggregate: ``"m1,m2,…"``, the epoch minutes of a ``UTCDateTime`` column of bookings
    (whole minutes) over the group's rows, in the order of the other arguments.

    Two of them (starts, ends) give one therapist's or resource unit's bookings as two short
    texts instead of one result row per booking: a month of a large clinic's diary is ten
    thousand bookings, and the database joins them far faster than rows are fetched. Read
    with :func:`parse_minutes`.
    """

    type = String()
    inherit_cache = True


def parse_minutes(text: str) -> list[int]:
    """The numbers of a :class:`minutes_of` text (the C JSON parser: twice as fast as int())."""
    numbers: list[int] = json.loads(f"[{text}]")
    return numbers


def _sqlite_minute(compiler: SQLCompiler, clause: Any, **kw: Any) -> str:
    # Stored as UTC text ("2027-03-01 14:30:00.000000"); the times are after 1970, so integer
    # division floors like ``to_minute``. SQLite's date functions round a fraction of a
    # second to the millisecond (06:59:59.9999 reads as 07:00): fine for booking times,
    # which are whole minutes (``parse_local``, migration 0006), not for other instants.
    column = compiler.process(clause, **kw)
    if getattr(compiler.dialect.dbapi, "sqlite_version_info", (0,)) >= (3, 38):
        return f"(unixepoch({column}) / 60)"
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / 60)"


def _postgresql_minute(compiler: SQLCompiler, clause: Any, **kw: Any) -> str:
    # FLOOR, not a cast alone: casting a numeric to BIGINT rounds half a minute up.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(clause, **kw)}) / 60) AS BIGINT)"


@compiles(minutes_of, "sqlite")
def _minutes_of_sqlite(element: minutes_of, compiler: SQLCompiler, **kw: Any) -> str:
    # No ORDER BY inside an aggregate before SQLite 3.44; it needs none: the aggregates of a
    # group step through the same rows in the same order.
    column = next(iter(element.clauses))
    return f"group_concat({_sqlite_minute(compiler, column, **kw)}, ',')"


@compiles(minutes_of, "postgresql")
def _minutes_of_postgresql(element: minutes_of, compiler: SQLCompiler, **kw: Any) -> str:
    column, *order = element.clauses
    by = ", ".join(compiler.process(c, **kw) for c in order)
    return (f"string_agg(CAST({_postgresql_minute(compiler, column, **kw)} AS TEXT), ','"
            f"{f' ORDER BY {by}' if by else ''})")
