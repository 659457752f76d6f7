"""Load: processes fighting over the same slots never double-book, and the dispatcher drains
an outbox into a real SMTP server losing and doubling nothing. Small counts here; the bench
(``python -m bench reliability``) runs 8 x 500 bookings and 10,000 messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import Inbox, postgres_schema, smtp_server
from sqlalchemy.exc import IntegrityError

from availability import running
from bench.load import contested_bookings, drain_outbox, open_app
from carepath.services import App
from carepath.testing import overlapping_bookings
from database_templates import copy_sqlite


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def load_app(request: pytest.FixtureRequest, tmp_path: Path, config_dir: Path,
             sqlite_template: Path) -> Iterator[App]:
    """An app on a fresh database of each backend, clock at 2027-02-22."""
    if request.param == "sqlite":
        app = open_app(tmp_path / "home", copy_sqlite(sqlite_template, tmp_path / "home" / "c.db"),
                       config_dir)
        yield app
        app.engine.dispose()
        return
    with postgres_schema() as url:
        app = open_app(tmp_path / "home", url, config_dir)
        yield app
        app.engine.dispose()


@pytest.mark.slow
def test_eight_processes_racing_for_the_same_slots_never_double_book(
    load_app: App, config_dir: Path
) -> None:
    """Each round all eight want the same time with one therapist: at most one wins, every
    other try is a clean SlotTaken, and no therapist or room unit is double-booked."""
    rounds = 8
    report = contested_bookings(load_app, config_dir, processes=8, rounds=rounds,
                                backend=load_app.engine.dialect.name)
    print(report.summary())
    assert report.other == {}, report.other
    assert report.attempts == 8 * rounds and 1 <= report.won <= rounds
    assert report.taken == report.attempts - report.won
    assert report.overlaps == []


def test_the_dispatcher_drains_an_outbox_into_smtp_without_loss_or_doubles(
    load_app: App,
) -> None:
    """Every queued message reaches the SMTP server exactly once; nothing stays pending."""
    inbox = Inbox()
    with running("aiosmtpd", smtp_server(inbox)) as port:
        report = drain_outbox(load_app, 300, inbox, port)
    print(report.summary())
    assert (report.lost, report.doubled, report.pending_after) == (0, 0, 0)
    assert report.delivered == 300


def test_the_overlap_check_can_see_a_double_booking(load_app: App, config_dir: Path) -> None:
    """The checker the load tests trust reports two visits forced onto one therapist
    (PostgreSQL's exclusion constraint refuses even the forced write)."""
    from bench.load import seed_visits
    from carepath.adapters.db import transaction
    from carepath.adapters.tables import AppointmentRow

    first, second = seed_visits(load_app, config_dir, 2)

    def force() -> None:
        with transaction(load_app.engine) as session:
            a, b = session.get(AppointmentRow, first), session.get(AppointmentRow, second)
            assert a is not None and b is not None
            b.therapist_id, b.start_utc, b.end_utc = a.therapist_id, a.start_utc, a.end_utc
            session.add(b)

    if load_app.engine.dialect.name == "postgresql":  # the exclusion constraint refuses it
        with pytest.raises(IntegrityError):
            force()
        return
    force()
    assert overlapping_bookings(load_app)
