"""``carepath dispatch``, ``outbox list|show|retry`` and ``calendar export`` from the shell."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from sqlmodel import select
from typer.testing import CliRunner

from availability import running
from carepath.adapters.db import transaction
from carepath.adapters.tables import OutboxRow
from carepath.bootstrap import open_app
from carepath.cli import app
from carepath.config.settings import Settings
from carepath.services.messaging_testing import add_patient_row, book, weekly
from database_templates import copy_sqlite

runner = CliRunner()
NY = ZoneInfo("America/New_York")


@pytest.fixture
def env(tmp_path: Path, config_dir: Path, sqlite_template: Path) -> Iterator[dict[str, str]]:
    """A home with one patient and three booked visits (queued on the wall clock)."""
    copy_sqlite(sqlite_template, tmp_path / "home" / "carepath.db")
    values = {"COLUMNS": "240", "CAREPATH_HOME": str(tmp_path / "home"),
              "CAREPATH_CONFIG_DIR": str(config_dir), "CAREPATH_ACTOR": "cli-test"}
    application = open_app(Settings.from_env({**os.environ, **values}))
    add_patient_row(application, "MRN1", "Ava Thompson", "ava@patients.example")
    book(application, "MRN1", weekly(datetime(2030, 3, 4, 9, 0, tzinfo=NY), 3))
    application.engine.dispose()
    yield values


def cli(env: dict[str, str], *args: str) -> Any:
    return runner.invoke(app, list(args), env=env)


def test_dispatch_writes_every_message_to_the_mail_folder(env: dict[str, str]) -> None:
    """The folder transport is the default: one private .eml per message."""
    result = cli(env, "dispatch")
    assert result.exit_code == 0, result.output
    assert "sent 4, retrying later 0, dead 0" in result.output
    mail = Path(env["CAREPATH_HOME"]) / "mail"
    files = list(mail.glob("*.eml"))
    assert len(files) == 4
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_outbox_list_and_show_report_status_and_the_whole_message(env: dict[str, str]) -> None:
    """list as JSON; show --body prints the MIME message."""
    rows = json.loads(cli(env, "outbox", "list", "--format", "json").output)
    assert [r["status"] for r in rows] == ["pending"] * 4
    shown = cli(env, "outbox", "show", str(rows[0]["id"]), "--body")
    assert shown.exit_code == 0 and "Message-ID:" in shown.output


def test_retrying_a_pending_message_is_one_clear_line(env: dict[str, str]) -> None:
    """A refused retry is an error line and a non-zero exit, not a traceback."""
    result = cli(env, "outbox", "retry", "1")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "cannot become" in result.output


def test_retry_of_a_sent_message_queues_it_again(env: dict[str, str]) -> None:
    """After dispatch, retry puts the message back to pending."""
    cli(env, "dispatch")
    assert cli(env, "outbox", "retry", "1").exit_code == 0
    rows = json.loads(cli(env, "outbox", "list", "--status", "pending",
                          "--format", "json").output)
    assert [r["id"] for r in rows] == [1]


def test_calendar_export_writes_a_feed_both_parsers_read(env: dict[str, str],
                                                         tmp_path: Path) -> None:
    """--therapist ID -o FILE.ics: every upcoming visit, owner-only."""
    target = tmp_path / "out" / "alvarez.ics"
    result = cli(env, "calendar", "export", "--therapist", "alvarez", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert len(Calendar.from_ical(target.read_bytes()).walk("VEVENT")) == 3
    assert len(vobject.readOne(target.read_text()).vevent_list) == 3
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    patient = tmp_path / "out" / "ava.ics"
    assert cli(env, "calendar", "export", "--patient", "MRN1", "-o", str(patient)).exit_code == 0


@pytest.mark.parametrize("args", [["calendar", "export", "-o", "x.ics"],
                                  ["calendar", "export", "--patient", "NOPE", "-o", "x.ics"],
                                  ["calendar", "export", "--therapist", "nobody", "-o", "x.ics"],
                                  ["outbox", "show", "999"],
                                  ["outbox", "list", "--status", "lost"]])
def test_mistakes_are_one_line_and_a_non_zero_exit(env: dict[str, str], args: list[str]) -> None:
    """Missing or unknown ids and bad options never show a traceback."""
    result = cli(env, *args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output and "error:" in result.output


def test_calendar_publish_without_caldav_urls_skips_every_therapist(env: dict[str, str]) -> None:
    """No caldav_url in the example clinic: nothing is pushed, each therapist is named."""
    result = cli(env, "calendar", "publish")
    assert result.exit_code == 0 and "skipped" in result.output and "alvarez" in result.output


def test_retry_all_dead_requeues_every_dead_message(env: dict[str, str]) -> None:
    """After, say, a wrong SMTP password every message is dead; one command queues them all."""
    application = open_app(Settings.from_env({**os.environ, **env}))
    with transaction(application.engine) as session:
        for row in session.exec(select(OutboxRow)):
            row.status = "dead"
            session.add(row)
    application.engine.dispose()
    result = cli(env, "outbox", "retry", "--all-dead")
    assert result.exit_code == 0 and "4 dead message(s) are pending again" in result.output
    assert "sent 4" in cli(env, "dispatch").output
    assert cli(env, "outbox", "retry", "3", "--all-dead").exit_code != 0


def test_calendar_publish_names_an_event_changed_on_the_server_before_restoring_it(
        tmp_path: Path, config_dir: Path) -> None:
    """Publish, edit one event on the Radicale server, publish again: the output says which
    visit changed on the server and that carepath's version is back; a wrong TLS setup is
    one line that says what to fix."""
    import shutil

    from carepath.adapters.caldav import CalDavCalendar
    from carepath.testing import free_port, radicale_server

    folder = tmp_path / "config"
    shutil.copytree(config_dir, folder)
    with running("Radicale", radicale_server(tmp_path, free_port())) as dav:
        clinic = folder / "clinic.yaml"
        clinic.write_text(clinic.read_text().replace(
            "email: m.alvarez@riverside-rehab.example\n",
            f"email: m.alvarez@riverside-rehab.example\n    caldav_url: {dav}/alvarez/clinic/\n",
            1))
        values = {"COLUMNS": "240", "CAREPATH_HOME": str(tmp_path / "home"),
                  "CAREPATH_CONFIG_DIR": str(folder), "CAREPATH_CALDAV_USERNAME": "carepath"}
        application = open_app(Settings.from_env({**os.environ, **values}))
        add_patient_row(application, "MRN1", "Ava Thompson", "ava@patients.example")
        book(application, "MRN1", weekly(datetime(2030, 3, 4, 9, 0, tzinfo=NY), 2))
        application.engine.dispose()
        assert "created 2" in cli(values, "calendar", "publish").output
        calendar = CalDavCalendar(f"{dav}/alvarez/clinic/", username="someone")
        uid, remote = sorted(calendar.objects().items())[0]
        calendar.put(uid, remote.ics.replace(b"SUMMARY:", b"SUMMARY:Moved by hand "))
        calendar.close()
        result = cli(values, "calendar", "publish")
        assert result.exit_code == 0, result.output
        assert "restored 1" in result.output
        assert "changed on the server since the last publish" in result.output
        assert "was changed on the server; carepath's version restored" in result.output
        clinic.write_text(clinic.read_text().replace(dav, dav.replace("http:", "https:")))
        broken = cli(values, "calendar", "publish")
    assert broken.exit_code != 0 and "Traceback" not in broken.output
    assert "TLS handshake failed" in broken.output and "permanently" in broken.output
