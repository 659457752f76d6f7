"""The CalDAV server going away: publishing fails with one clear DeliveryFailed and changes
nothing; when the server is back, the next publish brings every visit over (the sync is
derived from the database, so nothing waits in memory and nothing is lost)."""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from reliability_support import free_port

from carepath.adapters.caldav import CalDavCalendar
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.calendars import publish_calendars
from carepath.services.messaging_testing import add_patient_row, book, weekly

NY = ZoneInfo("America/New_York")


@contextmanager
def radicale(folder: Path, port: int) -> Iterator[None]:
    """Radicale on 127.0.0.1:``port``, storing in ``folder``; any user name, rights for all."""
    config = folder / "radicale.conf"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n"
        f"[rights]\ntype = authenticated\n[storage]\nfilesystem_folder = {folder / 'dav'}\n"
        "[logging]\nlevel = info\n")
    process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        _wait_for(process, b"Listening on", 20)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


def _wait_for(process: subprocess.Popen[bytes], marker: bytes, seconds: float) -> None:
    assert process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and selector.select(timeout=deadline - time.monotonic()):
        line = process.stderr.readline()
        if marker in line:
            return
        if not line:
            break
    raise RuntimeError("Radicale did not start")


def _with_caldav(app: App, url: str) -> App:
    clinic = app.config.clinic
    therapists = [t.model_copy(update={"caldav_url": url}) if t.id == "alvarez" else t
                  for t in clinic.therapists]
    app.config = app.config.model_copy(
        update={"clinic": clinic.model_copy(update={"therapists": therapists})})
    app.settings = type(app.settings)(**{**vars(app.settings), "caldav_username": "carepath"})
    return app


@pytest.mark.slow
def test_caldav_gone_then_back_publishes_every_visit(app: App, tmp_path: Path) -> None:
    """Down: a clear error, nothing half-done. Back: all three visits arrive."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/carepath/alvarez/"
    _with_caldav(app, url)
    add_patient_row(app, "P1", "Jane Doe", "jane@example.org")
    book(app, "P1", weekly(datetime(2027, 3, 2, 9, 0, tzinfo=NY), 3, therapist_id="alvarez"))
    with pytest.raises(CarepathError):
        publish_calendars(app)
    with radicale(tmp_path, port):
        report = publish_calendars(app)
        remote = CalDavCalendar(url, username="carepath", password=None)
        try:
            objects = remote.objects()
        finally:
            remote.close()
    assert report.created == 3 and len(objects) == 3
