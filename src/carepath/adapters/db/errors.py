"""A database driver's failure said as what happened and what to change, in one line."""

from __future__ import annotations

from sqlalchemy.exc import ArgumentError, DatabaseError, DataError, OperationalError


def described(error: Exception) -> tuple[int, str] | None:
    """The exit code and one plain line for a database error; None when ``error`` is not
    one of those said here (it is then a bug, and shown as one)."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    line = _timeout_line(error, reason)
    if line:
        return 6, line
    if isinstance(error, OperationalError | ArgumentError):  # server down, bad URL
        return 6, (f"cannot use the database: {reason} — check CAREPATH_DATABASE_URL and "
                   "that the server runs")
    if isinstance(error, DataError):  # e.g. an id past 64 bits reaching PostgreSQL
        return 2, f"a value is out of range: {reason}"
    if isinstance(error, DatabaseError) and _DAMAGED in reason:
        return 6, f"the database is damaged: {reason} — restore it from a backup"
    return None


_DAMAGED = "malformed"  # SQLite: "database disk image is malformed"


def _timeout_line(error: Exception, reason: str) -> str | None:
    """The settings' timeouts firing, said as what happened and which setting to change."""
    if getattr(getattr(error, "orig", None), "sqlstate", None) == "57014" or (
            "statement timeout" in reason):
        return ("a database statement ran longer than CAREPATH_DB_STATEMENT_TIMEOUT allows "
                "and was cancelled; nothing was changed — raise the setting, or find what "
                "holds the database up")
    if "database is locked" in reason:  # SQLite: another writer held it past the wait
        return ("the database stayed locked by another carepath command longer than "
                "CAREPATH_DB_STATEMENT_TIMEOUT allows; nothing was changed — run it again "
                "when that command has finished, or raise the setting")
    if "timeout expired" in reason:
        return ("the database did not answer within CAREPATH_DB_CONNECT_TIMEOUT — check "
                "CAREPATH_DATABASE_URL and that the server there is up and not overloaded")
    return None
