"""What carepath accepts as an email address — one rule for import and for sending.

carepath's mail goes out without SMTPUTF8, so an address must be ASCII: an internationalized
address would be imported and then every message to it skipped. The local part is RFC 5322
atext and dots (no quoted strings, comments or routes), and may not contain ``=?``: an RFC 2047
encoded word there turns the ``To:`` header into a display name in some readers.
"""

from __future__ import annotations

import re

# atext and dots, without the apostrophe, which carepath has always refused (it ends SQL
# strings and shell words in the scripts admins write around their exports). Dots are not
# held to RFC 5322's dot-atom: addresses such as "a..b@" exist and mail servers take them.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&*+/=?^_`{|}~.-]+$")
_DOMAIN = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*"
                     r"[A-Za-z0-9]$")
LIKE = "name@example.org"


def address_problem(value: str) -> str | None:
    """Why ``value`` is not a usable address, or None."""
    if not value.isascii():
        return ("has letters outside ASCII, which carepath's mail cannot send (no SMTPUTF8) "
                "— use an ASCII address; a domain can be written as xn--…")
    local, at, domain = value.rpartition("@")
    if not at or len(value) > 254 or len(local) > 64:
        return f"is not an email address like {LIKE}"
    if "=?" in local:
        return "holds an encoded word (=?…?=), which mail readers would show as a name"
    if not _LOCAL.match(local) or not _DOMAIN.match(domain):
        return f"is not an email address like {LIKE}"
    return None
