"""Security, checked the way an auditor would after a day of real use: secrets come only from
the environment and appear in no output, log or file; everything holding patient data is
owner-only; every change is in the audit log with who and when; invites and subjects carry
no diagnosis by default."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import Result
from reliability_support import Cli, Inbox, assert_clean, smtp_server
from typer.testing import CliRunner

from availability import running
from carepath.config.settings import Settings

# The tests share one module-scoped day of commands: one worker runs them all (built once).
pytestmark = pytest.mark.xdist_group("security-day")

SECRETS = {"CAREPATH_SMTP_PASSWORD": "pw-SMTP-5ecret", "CAREPATH_CALDAV_PASSWORD": "pw-DAV-5ecret"}
DB_SECRET = "pw-DB-5ecret"
ACTOR = "alice.admin"
# Each command changes something; each must leave at least one audit row.
CHANGES = (
    ("patients", "import", "{config}/demo-patients.csv"),
    ("patients", "add", "MRN2001", "--name", "Zed Quinn"),
    ("enroll", "MRN1001", "post-relapse", "--start", "2027-03-01"),
    ("enroll", "MRN1002", "stable-boosters", "--start", "2027-03-01"),
    ("appointments", "cancel", "2", "--reason", "patient request"),
    ("appointments", "complete", "1"),
    ("appointments", "no-show", "3"),
    ("therapists", "leave", "chen", "--from", "2027-05-03", "--to", "2027-05-04"),
    ("goals", "set", "1", "t25fw", "--target", "8"),
    ("measure", "record", "1", "t25fw", "10.5"),
    ("recovery", "record", "1", "--yes"),
    ("episodes", "complete", "2"),
)
OUTPUTS = (
    ("dispatch",),
    ("calendar", "export", "-o", "{home}/calendars/alvarez.ics", "--therapist", "alvarez"),
    ("calendar", "export", "-o", "{home}/calendars/MRN1001.ics", "--patient", "MRN1001"),
    ("report", "episode", "1", "-o", "{home}/reports/episode-1.html"),
    ("appointments", "export", "--format", "csv", "-o", "{home}/appointments.csv"),
    ("db", "info"),
    ("audit",),
    ("outbox", "list"),
    ("runs", "list"),
)
DIAGNOSIS = re.compile(r"(?i:sclerosis|relaps|demyelinat)|\bMS\b")  # MS: capitals only


@dataclass
class Day:
    """What a day of clinic work left behind: outputs, log lines, audit deltas, files."""

    cli: Cli
    outputs: list[Result] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    audited: dict[str, int] = field(default_factory=dict)


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


def _audit_count(cli: Cli) -> int:
    return len(json.loads(cli("audit", "--format", "json", "--limit", "100000").stdout))


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory, config_dir: Path) -> Iterator[Day]:
    """Every change and output command once, with secrets in the environment."""
    home = tmp_path_factory.mktemp("secure") / "home"
    cli = Cli(home, config_dir, CliRunner())
    result = Day(cli)
    handler, root = _Collect(result.logs), logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        for args in (*CHANGES, *OUTPUTS):
            filled = [a.format(home=home, config=config_dir) for a in args]
            before = _audit_count(cli) if args in CHANGES else 0
            outcome = cli(*filled, CAREPATH_ACTOR=ACTOR, **SECRETS)
            result.outputs.append(outcome)
            assert outcome.exit_code == 0, f"{filled}: {outcome.output}"
            if args in CHANGES:
                result.audited[" ".join(args[:2])] = _audit_count(cli) - before
        yield result
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def test_secrets_never_appear_in_output_logs_or_files(day: Day) -> None:
    """Passwords from the environment are in no command output, log record or file."""
    texts = [r.output for r in day.outputs] + day.logs
    blobs = [p.read_bytes() for p in day.cli.home.rglob("*") if p.is_file()]
    for secret in SECRETS.values():
        assert not any(secret in text for text in texts)
        assert not any(secret.encode() in blob for blob in blobs)


def test_db_info_masks_a_password_in_the_database_url(cli: Cli) -> None:
    """A database URL's password is shown as *** even when the server cannot be reached."""
    url = f"postgresql://carepath:{DB_SECRET}@127.0.0.1:9/carepath"
    result = cli("db", "info", CAREPATH_DATABASE_URL=url)
    assert_clean(result)
    assert DB_SECRET not in result.output and "carepath:***@" in result.output


def test_settings_repr_and_public_view_mask_secrets(tmp_path: Path) -> None:
    """The settings object never shows a password, however it is printed."""
    settings = Settings.from_env({**SECRETS, "CAREPATH_HOME": str(tmp_path),
                                  "CAREPATH_DATABASE_URL": f"postgresql://u:{DB_SECRET}@h/db"})
    shown = repr(settings) + str(settings) + json.dumps(settings.public())
    assert not any(s in shown for s in (*SECRETS.values(), DB_SECRET))


def test_a_secret_in_a_config_file_is_refused(cli: Cli, config_dir: Path, tmp_path: Path) -> None:
    """Config files cannot carry a password: the key is unknown, so validation fails."""
    import shutil

    folder = tmp_path / "config"
    shutil.copytree(config_dir, folder)
    clinic = folder / "clinic.yaml"
    clinic.write_text(clinic.read_text() + "\nsmtp_password: hunter2\n")
    result = cli("config", "validate", str(folder))
    assert_clean(result)
    assert result.exit_code == 2 and "smtp_password" in result.output


def test_a_failed_smtp_login_leaves_no_password_behind(cli: Cli) -> None:
    """A rejected login is recorded with the server's reason, never the password (plain or
    base64 as sent on the wire)."""
    from aiosmtpd.smtp import AuthResult

    def refuse(*_: object) -> AuthResult:
        return AuthResult(success=False, handled=False)

    assert cli("patients", "add", "MRN7", "--name", "Ann Lee", "--email",
               "ann@example.org").exit_code == 0
    assert cli("enroll", "MRN7", "stable-boosters", "--start", "2027-03-01").exit_code == 0
    refusing = smtp_server(Inbox(), authenticator=refuse, auth_require_tls=False)
    with running("aiosmtpd", refusing) as port:
        env = {"CAREPATH_MAIL_TRANSPORT": "smtp", "CAREPATH_SMTP_PORT": str(port),
               "CAREPATH_SMTP_USERNAME": "clinic", **SECRETS}
        sent = cli("dispatch", **env)
    shown = cli("outbox", "list", "--format", "json").stdout + sent.output
    password = SECRETS["CAREPATH_SMTP_PASSWORD"]
    wire = base64.b64encode(f"\0clinic\0{password}".encode()).decode()
    assert_clean(sent)
    assert "535" in shown and password not in shown and wire not in shown


def _modes(home: Path) -> dict[str, str]:
    found = {str(home): oct(stat.S_IMODE(home.stat().st_mode))}
    for path in home.rglob("*"):
        found[str(path.relative_to(home))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_every_file_holding_patient_data_is_owner_only(day: Day) -> None:
    """The home, database, mail, calendar feeds, reports and exports: no group/other bits."""
    modes = _modes(day.cli.home)
    assert {"carepath.db", "mail", "calendars/alvarez.ics", "reports/episode-1.html",
            "appointments.csv"} <= set(modes)
    assert any(name.startswith("mail/") and name.endswith(".eml") for name in modes)
    wide = {name: mode for name, mode in modes.items() if int(mode, 8) & 0o077}
    assert wide == {}


def test_a_report_over_a_world_readable_file_becomes_owner_only(day: Day, tmp_path: Path) -> None:
    """Rewriting an existing 0644 file still leaves it 0600 (O_TRUNC alone keeps the mode)."""
    target = tmp_path / "shared" / "episode.html"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o644)
    result = day.cli("report", "episode", "1", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_every_change_is_in_the_audit_log_with_who_and_when(day: Day) -> None:
    """Each changing command adds audit rows naming the actor and a UTC time."""
    assert all(added >= 1 for added in day.audited.values()), day.audited
    rows = json.loads(day.cli("audit", "--format", "json", "--limit", "100000").stdout)
    mine = [r for r in rows if r["actor"] == ACTOR]
    assert len(mine) == sum(day.audited.values())
    assert all(r["at"].endswith("Z") and r["action"] and r["entity_id"] for r in mine)


def test_an_imported_patient_has_its_own_audit_row(day: Day) -> None:
    """`carepath audit --entity patient:ID` shows the import that created the patient."""
    rows = json.loads(day.cli("audit", "--entity", "patient:MRN1001", "--format", "json").stdout)
    assert [r["action"] for r in rows][:1] == ["patient.create"]
    assert rows[0]["detail"]["source"] == "demo-patients.csv"


def _messages(home: Path) -> list[EmailMessage]:
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted((home / "mail").glob("*.eml"))]


def _texts(message: EmailMessage) -> list[str]:
    return [part.get_content() if part.get_content_maintype() == "text"
            else part.get_payload(decode=True).decode("utf-8", "replace")
            for part in message.walk() if not part.is_multipart()]


def test_subjects_and_invites_carry_no_diagnosis(day: Day, config: object) -> None:
    """No subject, no therapist invite and no therapist feed names MS or a relapse."""
    clinic = config.clinic  # type: ignore[attr-defined]
    therapists = {t.email for t in clinic.therapists}
    messages = _messages(day.cli.home)
    invites = [m for m in messages if m["To"].addresses[0].addr_spec in therapists]
    assert messages and invites
    for message in messages:
        subject = str(message["Subject"])
        assert not DIAGNOSIS.search(subject), subject
    for invite in invites:
        for text in _texts(invite):
            leak = DIAGNOSIS.search(text)
            assert leak is None, (invite["Subject"], leak)
    feed = (day.cli.home / "calendars" / "alvarez.ics").read_text()
    assert not DIAGNOSIS.search(feed)
