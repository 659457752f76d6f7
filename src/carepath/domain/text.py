"""Text shown on a terminal or stored as a label: nothing in it may steer the terminal.

Control characters (C0, DEL, C1 — ESC and CSI start terminal escapes; CR and LF forge new
lines), line and paragraph separators and text-direction characters (CVE-2021-42574) are
written as visible escapes such as ``\\x1b`` instead of being passed through.
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                    "\u2066-\u2069\ud800-\udfff]")
# What json.dumps leaves raw (it escapes only C0): escaped the same way inside JSON strings.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                             "\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every unsafe character written as a visible escape."""
    return UNSAFE.sub(_escape, text)


def printable_json(text: str) -> str:
    """JSON text (from json.dumps) with the characters it leaves raw escaped as \\uXXXX."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(…), +cmd|…,
# -2+3, @SUM(…)); tab and carriage return start one in some importers too (OWASP: CSV
# injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as the text it is: text that would start a
    formula gets a leading apostrophe; numbers and empty cells are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
