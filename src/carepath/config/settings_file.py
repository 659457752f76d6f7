"""The optional settings file: the same settings as the environment, written down once.

``CAREPATH_SETTINGS_FILE=/etc/carepath/settings.toml`` names a TOML file whose keys are the
environment names without the prefix, in lower case::

    home = "/var/lib/carepath"          # relative paths are taken from the file's folder
    config_dir = "/etc/carepath/config"
    database_url = "postgresql://carepath@db/carepath"
    mail_transport = "smtp"
    smtp_host = "mail.example.org"
    smtp_port = 587

A variable set in the environment wins over the file. Secrets (``smtp_password``,
``caldav_password``) are refused here: they come only from the environment.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from carepath.errors import InputError

VARIABLE = "CAREPATH_SETTINGS_FILE"
KEYS = ("home", "config_dir", "database_url", "actor", "mail_transport", "smtp_host",
        "smtp_port", "smtp_security", "smtp_username", "smtp_timeout", "caldav_username",
        "dispatch_seconds", "reminder_seconds", "daily_at", "lease_seconds",
        "lease_renew_seconds", "web_url", "db_connect_timeout", "db_statement_timeout")
SECRETS = ("smtp_password", "caldav_password", "web_secret")
PATHS = ("home", "config_dir")


def read_settings_file(env: Mapping[str, str], base: Path) -> dict[str, str]:
    """``CAREPATH_*`` values from the file named by ``CAREPATH_SETTINGS_FILE`` ({} if unset)."""
    name = env.get(VARIABLE)
    if not name:
        return {}
    path = (base / name).resolve()
    data = _load(path)
    problems = [problem for key, value in data.items() if (problem := _problem(key, value))]
    if problems:
        raise InputError(str(path), "; ".join(problems),
                         "see the settings table in docs/configuration.md")
    return {f"CAREPATH_{key.upper()}": _text(path, key, value) for key, value in data.items()}


def _load(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(VARIABLE, f"{path} not found", "point it at the settings file, "
                         "or unset it") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(str(path), f"not a TOML file ({error})",
                         "write one key = value per line; quote text") from None


def _problem(key: str, value: object) -> str:
    if key in SECRETS:
        return (f"{key}: secrets are read only from the environment "
                f"(set CAREPATH_{key.upper()} instead)")
    if key not in KEYS:
        close = difflib.get_close_matches(key, KEYS, n=1)
        return f"{key}: unknown setting" + (f" (did you mean {close[0]!r}?)" if close else "")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"{key}: expected text or a number"
    if key == "database_url" and _has_password(str(value)):
        return ("database_url: holds a password, and secrets are read only from the "
                "environment (set CAREPATH_DATABASE_URL there, or keep the password in "
                "PostgreSQL's ~/.pgpass)")
    return ""


def _has_password(url: str) -> bool:
    """user:password@ before the host, or a password= query parameter."""
    authority = url.partition("://")[2].split("/", 1)[0]
    return ":" in authority.rpartition("@")[0] or bool(
        re.search(r"[?&]password=", url, re.IGNORECASE))


def _text(path: Path, key: str, value: object) -> str:
    text = str(value)
    return str((path.parent / text).resolve()) if key in PATHS else text
