"""The episode report: everything from the database is escaped; charts are inline."""

from datetime import datetime

from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.services import App
from carepath.services.booking_store import episode_appointments
from carepath.services.escalations import dismiss_escalation, list_escalations
from carepath.services.goals import record_measurement, record_recovery, review_all
from carepath.services.patients import add_patient
from carepath.services.report import render_episode_report
from goal_helpers import NEW_YORK, active_episode


def test_markup_typed_by_people_is_shown_not_run(app: App) -> None:
    """A patient name and a dismissal reason with markup come out as text."""
    episode = active_episode(app)
    add_patient(app, {"id": "MRN1", "name": "Jane <b>Doe</b>", "email": "MRN1@example.org"})
    app.clock = FixedClock(datetime(2027, 3, 29, 11, tzinfo=NEW_YORK))
    for day, value in ((1, "40"), (8, "41"), (15, "41"), (29, "40")):
        record_measurement(app, episode, "bbs", value, at=datetime(2027, 3, day, 10,
                                                                   tzinfo=NEW_YORK))
    record_recovery(app, episode, False, at=datetime(2027, 3, 16, 12, tzinfo=NEW_YORK))
    review_all(app, now=app.clock.now())
    [escalation] = list_escalations(app)
    dismiss_escalation(app, escalation.id, "<script>alert(1)</script>")
    html = render_episode_report(app, episode)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Doe</b>" not in html and "Jane &lt;b&gt;Doe&lt;/b&gt;" in html
    assert html.count("<svg") == 3 and "no real change: 37–43" in html
    with transaction(app.engine) as session:  # the enrolment's visits and the reassessment
        booked = sum(a.status == "booked" for a in episode_appointments(session, episode))
    assert booked > 5 and f"0 completed, {booked} booked" in html and "<td>NO</td>" in html
