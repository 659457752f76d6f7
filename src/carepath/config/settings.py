"""Settings, read once from the environment (prefix ``CAREPATH_``) and frozen.

Secrets (SMTP password, CalDAV password) come only from the environment and are never
printed: ``Settings.__repr__`` masks them. Nothing here is read at import time; callers
build ``Settings.from_env(os.environ)`` at start-up and pass it down.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypedDict

from carepath.config.resources import bundled_config_dir
from carepath.config.settings_file import read_settings_file
from carepath.domain.text import printable
from carepath.errors import InputError

SECRET_FIELDS = frozenset({"smtp_password", "caldav_password", "web_secret"})


@dataclass(frozen=True)
class Settings:
    home: Path
    config_dir: Path
    database_url: str
    actor: str = "admin"
    mail_transport: str = "folder"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout: float = 30.0
    caldav_username: str | None = None
    caldav_password: str | None = field(default=None, repr=False)
    caldav_ca_bundle: Path | None = None
    # The orchestrator (``carepath serve``): sweep intervals and the lease that fences it.
    dispatch_seconds: float = 60.0
    reminder_seconds: float = 300.0
    daily_at: str = "06:00"  # clinic time of the daily sweeps (goal review, boosters, reviews)
    lease_seconds: float = 180.0
    lease_renew_seconds: float = 30.0
    web_secret: str | None = field(default=None, repr=False)
    web_url: str | None = None
    db_connect_timeout: float = 10.0  # seconds to wait for the database to answer a connect
    db_statement_timeout: float = 300.0  # seconds any one statement may run (0: no limit)

    @classmethod
    def from_env(cls, env: Mapping[str, str], cwd: Path | None = None) -> Settings:
        """Build settings from ``env``; relative paths are taken from ``cwd``.

        ``CAREPATH_SETTINGS_FILE`` may name a TOML file of the same settings; the
        environment wins over it (see ``carepath.config.settings_file``).
        """
        base = cwd or Path.cwd()
        env = {**read_settings_file(env, base), **env}
        home = (base / env.get("CAREPATH_HOME", "var")).resolve()
        config_dir = _config_dir(env, base)
        url = env.get("CAREPATH_DATABASE_URL") or f"sqlite:///{home / 'carepath.db'}"
        transport = env.get("CAREPATH_MAIL_TRANSPORT", "folder")
        security = env.get("CAREPATH_SMTP_SECURITY", "none")
        _choice("CAREPATH_MAIL_TRANSPORT", transport, ("folder", "smtp"))
        _choice("CAREPATH_SMTP_SECURITY", security, ("starttls", "tls", "none"))
        return cls(
            home=home, config_dir=config_dir, database_url=url,
            actor=_actor(env),
            mail_transport=transport,
            smtp_host=env.get("CAREPATH_SMTP_HOST", "127.0.0.1"),
            smtp_port=_integer(env, "CAREPATH_SMTP_PORT", 465 if security == "tls" else 25),
            smtp_security=security,
            smtp_username=env.get("CAREPATH_SMTP_USERNAME"),
            smtp_password=env.get("CAREPATH_SMTP_PASSWORD"),
            smtp_timeout=float(_integer(env, "CAREPATH_SMTP_TIMEOUT", 30)),
            caldav_username=env.get("CAREPATH_CALDAV_USERNAME"),
            caldav_password=env.get("CAREPATH_CALDAV_PASSWORD"),
            caldav_ca_bundle=_ca_bundle(env, base),
            **_orchestrator(env),
            web_secret=_web_secret(env),
            web_url=_web_url(env),
            db_connect_timeout=_seconds(env, "CAREPATH_DB_CONNECT_TIMEOUT", 10.0),
            db_statement_timeout=_seconds(env, "CAREPATH_DB_STATEMENT_TIMEOUT", 300.0, zero=True),
        )

    def public(self) -> dict[str, str]:
        """Every setting as text, secrets masked: safe to print or log."""
        return {
            f.name: ("***" if getattr(self, f.name) and f.name in SECRET_FIELDS
                     else str(getattr(self, f.name)))
            for f in fields(self)
        } | {"database_url": mask_url(self.database_url)}

    def __repr__(self) -> str:  # the dataclass repr would show a password inside the URL
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in self.public().items()) + ")"

    @property
    def mail_dir(self) -> Path:
        return self.home / "mail"

    @property
    def calendars_dir(self) -> Path:
        return self.home / "calendars"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ***: a database URL may carry one."""
    return re.sub(r"(?<=://)([^/@:]*):[^/]*@", r"\1:***@", url)


def _config_dir(env: Mapping[str, str], base: Path) -> Path:
    if env.get("CAREPATH_CONFIG_DIR"):
        return (base / env["CAREPATH_CONFIG_DIR"]).resolve()
    local = base / "config"
    return local.resolve() if (local / "clinic.yaml").is_file() else bundled_config_dir()


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(name, f"{value!r} is not one of {', '.join(allowed)}",
                         f"set {name} to one of them")


def _ca_bundle(env: Mapping[str, str], base: Path) -> Path | None:
    """``CAREPATH_CALDAV_CA_BUNDLE``: a readable PEM file of the CA(s) CalDAV servers use."""
    name, raw = "CAREPATH_CALDAV_CA_BUNDLE", env.get("CAREPATH_CALDAV_CA_BUNDLE", "")
    if not raw:
        return None
    path = (base / raw).resolve()
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as error:
        raise InputError(name, f"cannot read {path}: {error.strerror}",
                         "point it at the PEM file of your CalDAV server's CA") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InputError(name, f"{path} holds no PEM certificate",
                         "point it at the CA's certificate in PEM form (-----BEGIN "
                         "CERTIFICATE-----), not at a key or a DER file")
    return path


WEB_SECRET_MIN = 32


def _web_secret(env: Mapping[str, str]) -> str | None:
    """``CAREPATH_WEB_SECRET`` signs patient links and feed addresses: long enough to guess
    no faster than the HMAC itself."""
    raw = env.get("CAREPATH_WEB_SECRET", "")
    if not raw:
        return None
    if len(raw) < WEB_SECRET_MIN:
        raise InputError("CAREPATH_WEB_SECRET", f"is {len(raw)} characters, shorter than "
                         f"{WEB_SECRET_MIN}", "set it to a random value, e.g. the output of "
                         "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return raw


def _web_url(env: Mapping[str, str]) -> str | None:
    """``CAREPATH_WEB_URL``: where people reach the web app; links in emails start with it."""
    raw = env.get("CAREPATH_WEB_URL", "").strip().rstrip("/")
    if not raw:
        return None
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?", raw):
        raise InputError("CAREPATH_WEB_URL", f"{raw!r} is not a web address",
                         "set it to the app's address, e.g. https://care.example.org")
    return raw


def _actor(env: Mapping[str, str]) -> str:
    """Who the audit log records: one visible line (a terminal escape or a line break in
    CAREPATH_ACTOR would be stored, then replayed by every ``carepath audit``)."""
    raw = env.get("CAREPATH_ACTOR") or env.get("USER") or "admin"
    return printable(raw.strip())[:100] or "admin"


def _seconds(env: Mapping[str, str], name: str, default: float, *, zero: bool = False) -> float:
    """A number of seconds (fractions allowed, at most a day); 0 means "no limit" only where
    ``zero`` allows it."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value >= 0 if zero else value > 0):  # NaN fails every comparison
        what = "a number of seconds (0: no limit)" if zero else "a positive number of seconds"
        raise InputError(name, f"{raw[:40]!r} is not {what}", f"set {name}={default:g}")
    if value > 86_400:
        raise InputError(name, f"{raw[:40]!r} is not a number of seconds up to a day (86400)",
                         f"set {name}={default:g}")
    return value


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InputError(name, f"{raw!r} is not a whole number", f"set {name}=25") from None


class _Orchestrator(TypedDict):
    dispatch_seconds: float
    reminder_seconds: float
    daily_at: str
    lease_seconds: float
    lease_renew_seconds: float


def _orchestrator(env: Mapping[str, str]) -> _Orchestrator:
    """The sweep intervals and the lease timing; the renewal must come well before expiry."""
    values: _Orchestrator = {
        "dispatch_seconds": _seconds(env, "CAREPATH_DISPATCH_SECONDS", 60),
        "reminder_seconds": _seconds(env, "CAREPATH_REMINDER_SECONDS", 300),
        "daily_at": _clock_time(env, "CAREPATH_DAILY_AT", "06:00"),
        "lease_seconds": _seconds(env, "CAREPATH_LEASE_SECONDS", 180),
        "lease_renew_seconds": _seconds(env, "CAREPATH_LEASE_RENEW_SECONDS", 30),
    }
    if values["lease_renew_seconds"] * 2 > values["lease_seconds"]:
        raise InputError("CAREPATH_LEASE_RENEW_SECONDS",
                         f"{values['lease_renew_seconds']:g} s is more than half of "
                         f"CAREPATH_LEASE_SECONDS ({values['lease_seconds']:g} s)",
                         "set CAREPATH_LEASE_RENEW_SECONDS to at most half of it, e.g. 30 "
                         "for a 180 s lease")
    return values


def _clock_time(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name) or default
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw)
    if match is None:
        raise InputError(name, f"{raw!r} is not a time of day", f"set {name}={default} (HH:MM)")
    return f"{int(match[1]):02d}:{match[2]}"
