"""The CalDAV server going away: publishing fails with one clear DeliveryFailed and changes
nothing; when the server is back, the next publish brings every visit over (the sync is
derived from the database, so nothing waits in memory and nothing is lost)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from reliability_support import free_port

from availability import running
from carepath.adapters.caldav import CalDavCalendar
from carepath.errors import CarepathError
from carepath.services import App
from carepath.services.calendars import publish_calendars
from carepath.services.messaging_testing import add_patient_row, book, weekly
from carepath.testing import radicale_server

NY = ZoneInfo("America/New_York")


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
    with running("Radicale", radicale_server(tmp_path, port)):
        report = publish_calendars(app)
        remote = CalDavCalendar(url, username="carepath", password=None)
        try:
            objects = remote.objects()
        finally:
            remote.close()
    assert report.created == 3 and len(objects) == 3
