"""Patients as validated values, and the parsing of patient rows (CLI or CSV).

Names and addresses are checked at input: no control characters (CR/LF would let a name
inject mail headers), no angle brackets in addresses. Markup in names is allowed (a name is
a name) and escaped at output by the templates.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from carepath.domain.messages.addresses import address_problem
from carepath.domain.scheduling.planning import PatientPreferences
from carepath.domain.text import UNSAFE
from carepath.domain.timeutil import WEEKDAYS, ClockRange

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PHONE = re.compile(r"^[0-9+() .-]{3,40}$")
# C0 and C1 controls, line/paragraph separators and bidi overrides (CVE-2021-42574): a name
# is one line that reads as what it is; lone surrogates cannot be stored as UTF-8.
_CONTROL = UNSAFE
MAX_WINDOWS_TEXT = 200  # the stored column's width
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}

COLUMNS = (
    "id", "name", "email", "phone", "preferred_weekdays", "time_windows", "heat_sensitive",
    "caregiver_email", "caregiver_consent", "physician_email",
)


@dataclass(frozen=True)
class Patient:
    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    preferred_weekdays: tuple[int, ...] = ()
    time_windows: tuple[ClockRange, ...] = ()
    heat_sensitive: bool = False
    caregiver_email: str | None = None
    caregiver_consent: bool = False
    physician_email: str | None = None

    @property
    def initials(self) -> str:
        """Initials for minimum-necessary invites: "Jane Q. Doe" → "J.Q.D."."""
        parts = [p for p in re.split(r"[\s-]+", self.name) if p and p[0].isalnum()]
        return "".join(p[0].upper() + "." for p in parts) or "?"

    @property
    def preferences(self) -> PatientPreferences:
        return PatientPreferences(self.preferred_weekdays, self.time_windows, self.heat_sensitive)


@dataclass
class RowProblems:
    """What is wrong with one input row, column by column."""

    problems: list[str] = field(default_factory=list)

    def add(self, column: str, message: str) -> None:
        self.problems.append(f"{column}: {message}")


def parse_patient(row: Mapping[str, str | None]) -> tuple[Patient | None, list[str]]:
    """A ``Patient`` from text fields, or the list of problems (column: what is wrong)."""
    errors = RowProblems()
    unknown = sorted(set(row) - set(COLUMNS) - {""})
    for column in unknown:
        errors.add(column, f"unknown column (expected: {', '.join(COLUMNS)})")
    text = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
    ident = text.get("id", "")
    if not _ID.match(ident):
        errors.add("id", "required; letters, digits, . _ - (at most 64)")
    name = text.get("name", "")
    if not name or len(name) > 200 or _CONTROL.search(name):
        errors.add("name", "required; one line of at most 200 characters, without control "
                   "or text-direction characters")
    patient = Patient(
        id=ident, name=name,
        email=_email(text.get("email", ""), "email", errors),
        phone=_phone(text.get("phone", ""), errors),
        preferred_weekdays=_weekdays(text.get("preferred_weekdays", ""), errors),
        time_windows=_windows(text.get("time_windows", ""), errors),
        heat_sensitive=_flag(text.get("heat_sensitive", ""), "heat_sensitive", errors),
        caregiver_email=_email(text.get("caregiver_email", ""), "caregiver_email", errors),
        caregiver_consent=_flag(text.get("caregiver_consent", ""), "caregiver_consent", errors),
        physician_email=_email(text.get("physician_email", ""), "physician_email", errors),
    )
    if patient.caregiver_consent and not patient.caregiver_email:
        errors.add("caregiver_consent", "consent given but no caregiver_email")
    return (None, errors.problems) if errors.problems else (patient, [])


def _email(value: str, column: str, errors: RowProblems) -> str | None:
    if not value:
        return None
    problem = address_problem(value)
    if problem:
        errors.add(column, f"{value[:60]!r} {problem}")
        return None
    return value


def _phone(value: str, errors: RowProblems) -> str | None:
    if value and not _PHONE.match(value):
        errors.add("phone", "digits, spaces and + ( ) . - only")
        return None
    return value or None


def _weekdays(value: str, errors: RowProblems) -> tuple[int, ...]:
    days: list[int] = []
    for part in re.split(r"[\s,;/]+", value.lower()):
        if not part:
            continue
        if part[:3] not in WEEKDAYS:
            errors.add("preferred_weekdays", f"{part[:20]!r} is not a weekday (use mon,tue,…)")
            continue
        days.append(WEEKDAYS.index(part[:3]))
    return tuple(sorted(set(days)))


def _windows(value: str, errors: RowProblems) -> tuple[ClockRange, ...]:
    windows: list[ClockRange] = []
    for part in re.split(r"[;,]", value):
        if part.strip():
            try:
                windows.append(ClockRange.parse(part))
            except ValueError as error:
                errors.add("time_windows", str(error))
    if len(format_windows(tuple(windows))) > MAX_WINDOWS_TEXT:
        errors.add("time_windows", f"{len(windows)} windows are too many; merge them "
                   f"(at most {MAX_WINDOWS_TEXT} characters)")
    return tuple(sorted(windows))


def _flag(value: str, column: str, errors: RowProblems) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered not in _FALSE:
        errors.add(column, f"{value[:20]!r} is not yes/no")
    return False


def format_weekdays(days: tuple[int, ...]) -> str:
    return ",".join(WEEKDAYS[d] for d in days)


def format_windows(windows: tuple[ClockRange, ...]) -> str:
    return ";".join(str(w) for w in windows)


REQUIRED_COLUMNS = ("id", "name")


def header_problems(columns: Iterable[str]) -> list[str]:
    """What is wrong with an import file's header: unknown columns, missing required ones.

    An unknown column is refused rather than ignored: a misspelt ``emial`` would otherwise
    drop every patient's email without a word.
    """
    present = [column for column in columns if column]
    problems = []
    for column in present:
        if column not in COLUMNS:
            close = difflib.get_close_matches(column.strip().lower(), COLUMNS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "expected: " + ", ".join(COLUMNS)
            problems.append(f"unknown column {column[:40]!r} — {hint}")
    problems += [f"missing column {c!r}" for c in REQUIRED_COLUMNS if c not in present]
    return problems
