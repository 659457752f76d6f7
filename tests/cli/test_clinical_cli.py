"""From the shell: the two-hour rule's hold shows on visits and calendars until cleared;
a progression review records devices, orthotics and the caregiver's role; GAS −1 is typed
without `--`; accept fails loudly when it cannot book."""

from __future__ import annotations

import email
import json
from datetime import date, timedelta
from email import policy
from pathlib import Path
from typing import Any

from carepath.adapters.clock import FixedClock, SystemClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import AppointmentRow
from carepath.bootstrap import open_app
from carepath.errors import InputError
from carepath.services import App
from cli_helpers import invoke


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return str(result.output)


def _calendar_text(outbox_id: int) -> str:
    """The text/calendar part of a queued message, unfolded."""
    from carepath.cli.common import open_app
    from carepath.services.outbox import show

    message = email.message_from_string(show(open_app(), outbox_id).body,
                                        policy=policy.default)
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return "".join(str(p.get_content()) for p in parts).replace("\r\n ", "")


def _invites() -> list[dict[str, Any]]:
    entries = json.loads(ok("outbox", "list", "--format", "json"))
    return [e for e in entries if e["kind"] == "invite.request"]


def _ago(hours: int) -> str:
    return (SystemClock().now() - timedelta(hours=hours)).isoformat(timespec="minutes")


def _tomorrow() -> str:
    return (SystemClock().now() + timedelta(days=1)).date().isoformat()


def test_two_hour_failures_hold_progression_until_a_therapist_clears_it(
        shell: Path) -> None:
    ok("enroll", "MRN1002", "post-relapse", "--start", _tomorrow(), "--partial")
    ok("recovery", "record", "1", "--no", "--at", _ago(72))
    ok("recovery", "record", "1", "--no", "--at", _ago(2))
    invites = _invites()
    assert "1 new escalation" in ok("review")
    [update] = _invites()[: len(_invites()) - len(invites)]  # newest first
    assert "HOLD PROGRESSION" in _calendar_text(update["id"])
    booked = json.loads(ok("appointments", "list", "--status", "booked", "--format", "json"))
    assert booked and all(v["hold"] == "HOLD progression" for v in booked)
    therapist = booked[0]["therapist_id"]
    ok("calendar", "export", "-o", str(shell / "t.ics"), "--therapist", therapist)
    ok("calendar", "export", "-o", str(shell / "p.ics"), "--patient", "MRN1002")
    assert "HOLD PROGRESSION" in (shell / "t.ics").read_text().replace("\r\n ", "")
    assert "HOLD PROGRESSION" not in (shell / "p.ics").read_text().replace("\r\n ", "")
    [hold] = json.loads(ok("holds", "list", "--format", "json"))
    assert hold["episode_id"] == 1 and hold["active"] is True
    assert invoke("holds", "clear", str(hold["id"])).exit_code != 0  # a reason is required
    before_clear = len(_invites())
    ok("holds", "clear", str(hold["id"]), "--reason", "recovered within 2 h twice")
    assert len(_invites()) == before_clear + 1  # the next visit's invite, without the hold
    assert json.loads(ok("holds", "list", "--format", "json")) == []
    after = json.loads(ok("appointments", "list", "--status", "booked", "--format", "json"))
    assert all(v["hold"] == "" for v in after)
    assert "hold.clear" in ok("audit")
    assert invoke("holds", "clear", str(hold["id"]), "--reason", "again").exit_code != 0


def test_a_review_visit_records_devices_orthotics_and_the_caregivers_role(
        shell: Path) -> None:
    ok("enroll", "MRN1002", "progression-review", "--start", _tomorrow(), "--partial")
    [first, *_] = json.loads(ok("appointments", "list", "--format", "json"))
    assert first["caregiver_invited"] is True
    ident = str(first["id"])
    assert invoke("visit-review", "record", ident).exit_code == 2  # nothing to record
    ok("visit-review", "record", ident, "--devices", "cane; rollator", "--orthotics",
       "AFO right", "--caregiver-role", "helps with transfers", "--caregiver-present")
    [shown] = json.loads(ok("visit-review", "show", ident, "--format", "json"))
    assert (shown["assistive_devices"], shown["orthotics"], shown["caregiver_role"],
            shown["caregiver_present"]) == ("cane; rollator", "AFO right",
                                            "helps with transfers", True)


def test_a_negative_gas_level_needs_no_double_dash(shell: Path) -> None:
    ok("enroll", "MRN1002", "post-relapse", "--start", _tomorrow(), "--partial")
    assert "recorded gas -1" in ok("measure", "record", "1", "gas", "-1", "--at", _ago(1))
    result = invoke("measure", "record", "1", "gas", "0.5", "--at", _ago(1))
    assert result.exit_code == 2 and "whole" in result.output


def _level_two_from_the_shell_home(shell: Path, config_dir: Path) -> int:
    """Chen's post-relapse patient, six weeks ago: Berg stalls, then stays put at the
    reassessment — a level-2 escalation proposing the progression review."""
    from sqlmodel import select

    from carepath.adapters.tables import EscalationRow
    from carepath.config.settings import Settings
    from carepath.services.goals import record_measurement, review_all
    from goal_helpers import visit

    home = shell / "home"
    now = SystemClock().now()  # the commands below run on the wall clock; the history is
    app = open_app(Settings(home=home, config_dir=config_dir,  # written with it held still
                            database_url=f"sqlite:///{home / 'carepath.db'}"), FixedClock(now))
    episode = _enrolled_from(app, (now - timedelta(days=50)).date())
    evaluation = visit(app, episode)  # where the engine booked it
    with transaction(app.engine) as session:
        start = session.get(AppointmentRow, evaluation).start_utc  # type: ignore[union-attr]
    for days, value in ((0, "40"), (7, "41"), (14, "41"), (28, "40")):
        record_measurement(app, episode, "bbs", value, at=start + timedelta(days=days, hours=3),
                           appointment_id=evaluation if days == 0 else None)
    review_all(app, now=start + timedelta(days=28, hours=6))
    record_measurement(app, episode, "bbs", "41", at=start + timedelta(days=40))
    review_all(app, now=start + timedelta(days=42, hours=6))
    with transaction(app.engine) as session:
        [row] = session.exec(select(EscalationRow).where(EscalationRow.level == 2))
    app.engine.dispose()
    assert row.id is not None
    return row.id


def _enrolled_from(app: App, day: date) -> int:
    """MRN9 enrolled by the engine on the first day from ``day`` the clinic lets an episode
    start (a holiday or closure moves it on)."""
    from goal_helpers import active_episode

    for offset in range(14):
        try:
            return active_episode(app, patient="MRN9", start=day + timedelta(days=offset))
        except InputError as error:
            if "the clinic is" not in str(error):
                raise
    raise AssertionError(f"no day in the two weeks from {day} opens an episode")


def test_accept_that_cannot_book_fails_loudly_and_leaves_the_escalation_open(
        shell: Path, config_dir: Path) -> None:
    escalation = _level_two_from_the_shell_home(shell, config_dir)
    shown = ok("escalations", "show", str(escalation))
    assert f"carepath escalations accept {escalation}" in shown and "<" not in shown
    assert "Progression review" in ok("escalations", "preview", str(escalation))
    today = SystemClock().now().date()
    for therapist in ("okafor", "brooks"):  # the only ones with family-education
        ok("therapists", "leave", therapist, "--from", today.isoformat(),
           "--to", (today + timedelta(days=500)).isoformat())
    refused = invoke("escalations", "accept", str(escalation))
    assert refused.exit_code == 6 and "nothing was booked" in refused.output
    assert "Traceback" not in refused.output
    [still] = [e for e in json.loads(ok("escalations", "list", "--format", "json"))
               if e["id"] == escalation]
    assert still["status"] == "open"
