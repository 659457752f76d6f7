"""Minutes computed by the database agree with Python's ``to_minute``, on every backend."""

from __future__ import annotations

import sqlite3.dbapi2
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from carepath.adapters.types import UTCDateTime, minutes_of, parse_minutes
from carepath.domain.scheduling.availability import to_minute

MOMENTS = [  # booking times are whole minutes (see parse_local and migration 0006)
    datetime(2027, 3, 14, 6, 59, tzinfo=UTC),  # the minute before the New York spring change
    datetime(2027, 3, 14, 7, 0, tzinfo=UTC),
    datetime(2027, 11, 7, 1, 30, tzinfo=ZoneInfo("America/New_York")),  # the first 01:30
    datetime(2027, 11, 7, 1, 30, tzinfo=ZoneInfo("America/New_York")).replace(fold=1),
    datetime(2030, 1, 1, 0, 5, tzinfo=ZoneInfo("Australia/Sydney")),
    datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
]


def _minutes(url: str) -> list[tuple[int, int]]:
    engine = create_engine(url)
    table = Table("visit_times", MetaData(), Column("id", Integer, primary_key=True),
                  Column("start_utc", UTCDateTime()), Column("end_utc", UTCDateTime()))
    try:
        table.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(insert(table), [
                {"start_utc": moment, "end_utc": moment + timedelta(minutes=45)}
                for moment in MOMENTS])
            start, end = table.c.start_utc, table.c.end_utc
            starts, ends = connection.execute(select(
                minutes_of(start, start, end), minutes_of(end, start, end))).one()
        return list(zip(parse_minutes(starts), parse_minutes(ends), strict=True))
    finally:
        engine.dispose()


EXPECTED = sorted((to_minute(m), to_minute(m + timedelta(minutes=45))) for m in MOMENTS)


def test_minutes_agree_with_to_minute_and_pair_up(db_url: str) -> None:
    """Offsets and both 01:30s of a fall-back night honoured, and each start beside its own
    end (SQLite, PostgreSQL)."""
    assert sorted(_minutes(db_url)) == EXPECTED


def test_minutes_on_sqlite_before_unixepoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.38 has no unixepoch(): the strftime form gives the same minutes."""
    monkeypatch.setattr(sqlite3.dbapi2, "sqlite_version_info", (3, 37, 2))
    sql = str(select(minutes_of(Column("start_utc", UTCDateTime()))).compile(
        create_engine("sqlite://")))
    assert "strftime" in sql and "unixepoch" not in sql
    assert sorted(_minutes("sqlite://")) == EXPECTED
