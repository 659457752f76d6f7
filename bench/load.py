"""Load, the way a busy clinic makes it: processes fighting over the same slots, and a
dispatcher draining a long outbox into a real SMTP server.

- ``contested_bookings``: N processes, each owning one booster visit (a different patient),
  step through the same list of times with Dr Alvarez, in lock-step (a barrier per round),
  and each tries to move its visit there. One may win a round; every other try must end in
  ``SlotTaken``. Afterwards no therapist, room unit or equipment unit is double-booked.
- ``drain_outbox``: queue M messages, then ``dispatch`` them through ``SmtpTransport`` to
  aiosmtpd on 127.0.0.1; count what arrived by Message-ID (none lost, none doubled).

Used by ``tests/reliability`` with small counts and by ``python -m bench reliability``.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from carepath import bootstrap
from carepath.adapters.clock import FixedClock
from carepath.adapters.db import transaction
from carepath.adapters.tables import OutboxRow
from carepath.config.loader import load_config
from carepath.config.settings import Settings
from carepath.services import App
from carepath.testing import overlapping_bookings

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2027, 2, 22, 7, 0, tzinfo=NEW_YORK)  # the week before the contested week
CONTESTED_THERAPIST = "alvarez"
WEEK = date(2027, 3, 1)  # the booster visits' first week: every target lies inside it


@dataclass
class RaceReport:
    """What N processes racing for the same slots did, and what the database holds after."""

    backend: str
    processes: int
    rounds: int
    won: int = 0
    taken: int = 0
    other: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    overlaps: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return self.won + self.taken + sum(self.other.values())

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0

    def summary(self) -> str:
        rate = self.attempts / self.seconds if self.seconds else 0.0
        median = statistics.median(self.latencies) * 1000 if self.latencies else 0.0
        return (f"{self.backend}: {self.processes} processes x {self.rounds} bookings = "
                f"{self.attempts} attempts, {self.won} won, {self.taken} SlotTaken, "
                f"{sum(self.other.values())} other {dict(self.other)}; overlaps "
                f"{len(self.overlaps)}; latency p50 {median:.1f} ms, p99 "
                f"{self.percentile(0.99):.1f} ms; {rate:.0f} attempts/s")


def open_app(home: Path, url: str, config_dir: Path, actor: str = "load") -> App:
    settings = Settings(home=home, config_dir=config_dir, database_url=url, actor=actor)
    return bootstrap.open_app(settings, FixedClock(NOW), config=load_config(config_dir))


def targets(app: App) -> list[datetime]:
    """Every 15-minute start in Alvarez's hours in the contested week (Mon–Fri)."""
    therapist = app.config.therapist(CONTESTED_THERAPIST)
    starts = []
    for offset in range(5):
        day = WEEK + timedelta(days=offset)
        for hours in therapist.working_hours.on(day.weekday()):
            moment = datetime.combine(day, hours.start, NEW_YORK)
            end = datetime.combine(day, hours.end, NEW_YORK)
            while moment + timedelta(minutes=45) <= end:
                starts.append(moment)
                moment += timedelta(minutes=15)
    return starts


def seed_visits(app: App, config_dir: Path, processes: int) -> list[int]:
    """One booster episode per process (a different patient each); its first visit's id."""
    from carepath.services import scheduling
    from carepath.services.patients import import_patients

    import_patients(app, config_dir / "demo-patients.csv")
    ids = []
    for number in range(processes):
        enrolment = scheduling.enroll(app, f"MRN10{number + 10:02d}", "stable-boosters", WEEK)
        ids.append(enrolment.appointment_ids[0])
    return ids


def _racer(settings: dict[str, Any], appointment_id: int, rounds: int, barrier: Any,
           results: Any) -> None:
    from carepath.errors import SlotTaken
    from carepath.services.scheduling_changes import reschedule

    app = open_app(Path(settings["home"]), settings["url"], Path(settings["config_dir"]))
    slots = targets(app)
    outcomes: list[tuple[str, float]] = []
    window = [time.time(), time.time()]  # wall clock: comparable across processes
    try:
        for number in range(rounds):
            barrier.wait(timeout=120)
            if number == 0:
                window[0] = time.time()
            began = time.perf_counter()
            try:
                reschedule(app, appointment_id, slots[number % len(slots)], CONTESTED_THERAPIST)
                kind = "won"
            except SlotTaken:
                kind = "taken"
            except Exception as error:  # counted and shown: the test fails on any
                kind = f"{type(error).__name__}: {str(error)[:80]}"
            outcomes.append((kind, time.perf_counter() - began))
        window[1] = time.time()
    finally:
        results.put((outcomes, window))
        app.engine.dispose()


def contested_bookings(app: App, config_dir: Path, *, processes: int, rounds: int,
                       backend: str) -> RaceReport:
    """Race ``processes`` spawned processes for ``rounds`` rounds; count and check."""
    ids = seed_visits(app, config_dir, processes)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    settings = {"home": str(app.settings.home), "url": app.settings.database_url,
                "config_dir": str(config_dir)}
    workers = [ctx.Process(target=_racer, args=(settings, ident, rounds, barrier, results))
               for ident in ids]
    for worker in workers:
        worker.start()
    report = RaceReport(backend, processes, rounds)
    windows = []
    for _ in workers:
        outcomes, window = results.get(timeout=3600)
        windows.append(window)
        for kind, seconds in outcomes:
            report.latencies.append(seconds)
            if kind in ("won", "taken"):
                setattr(report, kind, getattr(report, kind) + 1)
            else:
                report.other[kind] += 1
    report.seconds = max(w[1] for w in windows) - min(w[0] for w in windows)
    for worker in workers:
        worker.join(timeout=60)
    report.overlaps = overlapping_bookings(app)
    return report


@dataclass
class DrainReport:
    queued: int
    delivered: int
    distinct: int
    seconds: float
    pending_after: int

    @property
    def lost(self) -> int:
        return self.queued - self.distinct

    @property
    def doubled(self) -> int:
        return self.delivered - self.distinct

    def summary(self) -> str:
        return (f"dispatch: {self.queued} queued, {self.delivered} delivered to SMTP, "
                f"{self.lost} lost, {self.doubled} doubled, {self.pending_after} still pending; "
                f"{self.queued / self.seconds:.0f} messages/s")


def queue_messages(app: App, count: int) -> None:
    """``count`` small, distinct messages in the outbox, as one transaction would queue them."""
    from email.message import EmailMessage

    from sqlalchemy import insert

    now = app.clock.now()
    rows = []
    for number in range(count):
        message = EmailMessage()
        message_id = f"<load-{number}@riverside-ms.example>"
        message["Message-ID"], message["Subject"] = message_id, f"Load {number}"
        message["From"] = app.config.clinic.organizer_email
        message["To"] = f"patient{number}@patients.example"
        message.set_content(f"Message {number}.\n")
        rows.append({"idempotency_key": f"load:{number}", "message_id": message_id,
                     "kind": "load", "recipient": str(message["To"]),
                     "subject": str(message["Subject"]), "body": message.as_string(),
                     "status": "pending", "attempts": 0, "next_attempt_at": now,
                     "created_at": now, "last_error": ""})
    with transaction(app.engine) as session:
        session.execute(insert(OutboxRow), rows)


def drain_outbox(app: App, count: int, inbox: Any, port: int) -> DrainReport:
    """Queue ``count`` messages and dispatch them all to the SMTP server on ``port``."""
    from carepath.adapters.mail import SmtpOptions, SmtpTransport
    from carepath.services.outbox import dispatch

    queue_messages(app, count)
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port, timeout=30))
    began = time.perf_counter()
    dispatch(app, transport)
    seconds = time.perf_counter() - began
    ids = [i for i in inbox.message_ids() if i.startswith("<load-")]
    with transaction(app.engine) as session:
        pending = len(session.exec(select(OutboxRow.id).where(
            OutboxRow.status == "pending")).all())
    return DrainReport(count, len(ids), len(set(ids)), seconds, pending)
