"""Escalations stored before version 2 of the stored decision (a dictionary of flags and
sentences, see ``domain.goals.escalation_codec``) still tell the therapist why and when to
reassess and, at level 2, the physician. Escalations the review raises today are told in
tests/services/test_escalation_messages.py."""

from __future__ import annotations

import email
import json
from datetime import datetime
from email import policy
from zoneinfo import ZoneInfo

from carepath.adapters.db import transaction
from carepath.adapters.tables import EscalationRow, PatientRow
from carepath.services import App
from carepath.services.events import EscalationRaised, publish
from carepath.services.messaging_testing import add_patient_row, book, weekly
from carepath.services.outbox import list_outbox, show

NY = ZoneInfo("America/New_York")


def raise_legacy_escalation(app: App, *, level: int, physician: bool) -> int:
    """A row as an earlier carepath stored it, its evidence written as that version did."""
    add_patient_row(app, "MRN1", "Ava Thompson", "ava@patients.example")
    with transaction(app.engine) as session:
        patient = session.get(PatientRow, "MRN1")
        assert patient is not None
        patient.physician_email = "referrals@neuro.example"
        session.add(patient)
    ids = book(app, "MRN1", weekly(datetime(2027, 3, 8, 9, 0, tzinfo=NY), 2))
    evidence = {"summary": "No MCID improvement", "facts": ["6MWT 310 m → 312 m"],
                "actions": ["tell therapist alvarez", "reassessment booked"],
                "notify_therapist": "alvarez", "notify_physician": physician}
    with transaction(app.engine) as session:
        row = EscalationRow(episode_id=1, level=level, kind="stall", dedupe_key=f"k{level}",
                            summary="No MCID improvement in two reviews", status="scheduled",
                            evidence=json.dumps(evidence), appointment_id=ids[1],
                            assigned_to="okafor" if level == 2 else None,
                            proposed_pathway="progression-review" if level == 2 else None,
                            created_at=app.clock.now(), updated_at=app.clock.now())
        session.add(row)
        session.flush()
        assert row.id is not None
        publish(session, app, EscalationRaised(row.id, level, "stall"))
        publish(session, app, EscalationRaised(row.id, level, "stall"))  # idempotent
        return row.id


def escalation_mail(app: App) -> list[tuple[str, str]]:
    return [(e.kind, e.recipient) for e in reversed(list_outbox(app))
            if e.kind.startswith("escalation")]


def test_a_stored_level_one_tells_the_episodes_therapist_why_and_when(app: App) -> None:
    """One email to the therapist, with the reason and the reassessment's time."""
    raise_legacy_escalation(app, level=1, physician=False)
    assert escalation_mail(app) == [("escalation.therapist", "m.alvarez@riverside-rehab.example")]
    entry = next(e for e in list_outbox(app) if e.kind == "escalation.therapist")
    message = email.message_from_string(show(app, entry.id).body, policy=policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "have not improved" in text and "Monday 15 March 2027, 9:00 AM" in text
    assert "Ava" not in text and "A.T." in text


def test_a_stored_level_two_tells_the_case_reviewer_and_the_physician(app: App) -> None:
    """The senior therapist and the referring physician, who sees the name; the subject not."""
    raise_legacy_escalation(app, level=2, physician=True)
    assert escalation_mail(app) == [
        ("escalation.therapist", "m.alvarez@riverside-rehab.example"),
        ("escalation.therapist", "g.okafor@riverside-rehab.example"),
        ("escalation.physician", "referrals@neuro.example")]
    letter = next(e for e in list_outbox(app) if e.kind == "escalation.physician")
    assert "Ava" not in letter.subject and "MCID" not in letter.subject
    message = email.message_from_string(show(app, letter.id).body, policy=policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ava Thompson (our id MRN1)" in text and "Progression review" in text
    assert "progression-review" not in text and "not booked yet" in text
    assert "Monday 15 March 2027" in text  # what is booked: the reassessment
