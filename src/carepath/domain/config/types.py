"""The scalar types of configuration files, each with a message an admin can act on.

A broken value raises ``Invalid``: the message says what is wrong, ``hint`` the fix, and
``field`` (optional) the key or list index it is about when the rule is checked on the
enclosing value. The loader turns it into file, line, field path, value and hint.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
import zoneinfo
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from carepath.domain.messages.addresses import address_problem
from carepath.domain.timeutil import ClockRange


class Invalid(ValueError):
    """A value rule broken, with the fix; ``field`` names the key it is about, when the
    rule is checked on the enclosing mapping (e.g. ``min`` of a measure)."""

    def __init__(self, message: str, hint: str = "", field: str | int | None = None) -> None:
        super().__init__(message)
        self.hint, self.field = hint, field


_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PHONE = re.compile(r"[0-9+() ./-]+")
# Bidirectional overrides can make text read differently from what it is (CVE-2021-42574).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise Invalid("not a valid id", "use lower-case letters, digits, - and _, "
                      "starting with a letter or digit (e.g. gait-trainer)")
    return value


def _email(value: str) -> str:
    if _has_control(value) or address_problem(value):
        raise Invalid("not one email address", "write a single address "
                      "like name@example.org (no spaces, line breaks, names or angle brackets)")
    return value


def _plain_text(value: str) -> str:
    if _has_control(value):
        raise Invalid("contains line breaks or control characters",
                      "write one plain line of text")
    return value


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) == "Cc" or c in _BIDI for c in value)


def country_code(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise Invalid("not a two-letter country code", "write an ISO 3166 code in capitals, "
                      "such as US, CA or GB")
    return value


Identifier = Annotated[str, Field(max_length=64), AfterValidator(_identifier)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
PlainText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain_text)]


def parse_ranges(value: object) -> object:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [_parse_range(v, i) if isinstance(v, str) else v for i, v in enumerate(value)]
    return value


def parse_range(value: object) -> object:
    """One clock range (``hours: "09:00-11:00"``), checked like a list's."""
    if isinstance(value, str):
        return _parse_range(value, None)
    return value


def _parse_range(text: str, index: int | None) -> ClockRange:
    try:
        return ClockRange.parse(text)
    except ValueError as error:
        if not re.fullmatch(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", text):
            reason = "not a clock range"
        elif "ends before" in str(error):
            reason = "the range ends before it starts"
        else:
            reason = "not a valid time of day"
        raise Invalid(reason, "write HH:MM-HH:MM on a 24-hour clock, start before end "
                      "(e.g. 08:00-12:00)", field=index) from None


def zone_hint(value: str) -> str:
    close = difflib.get_close_matches(value, sorted(zoneinfo.available_timezones()), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "use a name from the IANA time zone database, such as America/New_York"


def web_address(value: str) -> str:
    """A CalDAV URL: https, or http only to this machine (credentials never cross a network
    in clear)."""
    if not re.fullmatch(r"https?://[^\s]+", value):
        raise Invalid("not a web address", "write the calendar URL, starting with https://")
    if value.startswith("http://") and not is_loopback_url(value):
        raise Invalid("http:// would send the calendar password and patient visits in clear",
                      "use the server's https:// address (http:// is allowed only for a "
                      "server on this machine: 127.0.0.1, ::1 or localhost)")
    return value


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is this machine (127.0.0.0/8, ::1 or localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _phone(value: str) -> str:
    if not _PHONE.fullmatch(value) or sum(c.isdigit() for c in value) < 5:
        raise Invalid("not a phone number", "write the number patients dial, with digits, "
                      "spaces, + ( ) - . / only (e.g. +1 518 555 0134)")
    return value


def _https_link(value: str) -> str:
    if not re.fullmatch(r"https://[^\s<>\"']+", value):
        raise Invalid("not an https web address", "write the full address, starting with "
                      "https:// (e.g. https://riverside-rehab.example)")
    return value


Phone = Annotated[str, Field(max_length=40), AfterValidator(_phone)]
WebLink = Annotated[str, Field(max_length=300), AfterValidator(_https_link)]
# A sentence or two for patients (directions, parking): one line, longer than a name.
Sentence = Annotated[str, Field(min_length=1, max_length=600), AfterValidator(_plain_text)]
