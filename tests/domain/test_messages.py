"""iMIP emails have the MIME shape clients honour, stable ids, and no way to inject headers."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest
import vobject
from invite_samples import STAMP, golden, make_style, make_visit

from carepath.domain.config.models import Config
from carepath.domain.messages.invites import invite_for
from carepath.domain.messages.mime import Body, Mailbox, compose, message_id_for, to_bytes
from carepath.errors import InputError

SENDER = Mailbox("scheduling@riverside-rehab.example", "Riverside Rehabilitation Center")
BODY = Body("Hello\n", "<p>Hello</p>\n")


def invite_email(config: Config, status: str = "booked", to: Mailbox | None = None,
                 key: str = "invite:1") -> EmailMessage:
    invite = invite_for(make_visit(config, status=status, sequence=int(status != "booked")),
                        make_style(config), attendee="m.alvarez@riverside-rehab.example",
                        attendee_name="Maria Alvarez", stamp=STAMP)
    recipient = to or Mailbox("m.alvarez@riverside-rehab.example", "Maria Alvarez")
    return compose(sender=SENDER, to=recipient, subject="Appointment 10 March 2027",
                   body=BODY, idempotency_key=key, date=STAMP, invite=invite)


def parsed(message: EmailMessage) -> EmailMessage:
    result = email.message_from_bytes(to_bytes(message), policy=policy.default)
    assert isinstance(result, EmailMessage)
    return result


@pytest.mark.parametrize(("status", "method"), [("booked", "REQUEST"), ("cancelled", "CANCEL")])
def test_an_invite_email_is_mixed_alternative_with_calendar_and_an_ics_attachment(
        config: Config, status: str, method: str) -> None:
    """multipart/mixed ⟶ (alternative: plain, html, calendar; method=…) + invite.ics."""
    message = parsed(invite_email(config, status))
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    kinds = [p.get_content_type() for p in alternative.iter_parts()]
    assert kinds == ["text/plain", "text/html", "text/calendar"]
    calendar = list(alternative.iter_parts())[2]
    assert calendar.get_param("method") == method
    assert str(calendar.get_param("charset")).upper() == "UTF-8"
    assert vobject.readOne(calendar.get_content()).method.value == method
    assert attachment.get_filename() == "invite.ics"


def test_the_message_id_is_stable_for_one_key_and_differs_between_keys(config: Config) -> None:
    """A resend of the same change carries the same Message-ID."""
    first, again = invite_email(config), invite_email(config)
    other = invite_email(config, key="invite:2")
    assert first["Message-ID"] == again["Message-ID"] == message_id_for(
        "invite:1", "riverside-rehab.example")
    assert other["Message-ID"] != first["Message-ID"]


def test_an_invite_email_matches_its_golden_file_byte_for_byte(config: Config) -> None:
    """Fixed clock and key → the same bytes, boundaries included."""
    golden("invite_request.eml", to_bytes(invite_email(config)))


@pytest.mark.parametrize("hostile", ["Eve\r\nBcc: all@example.org", "Eve\nX-Evil: 1", "a\x00b"])
def test_a_display_name_with_line_breaks_is_rejected_at_input(hostile: str) -> None:
    """CR, LF and control characters in a name never reach a header."""
    with pytest.raises(InputError):
        Mailbox("eve@example.org", hostile)


@pytest.mark.parametrize("hostile", ["eve@example.org\r\nBcc: x@y.org", "a@b.org, c@d.org",
                                     "<a@b.org>", "not an address"])
def test_an_address_that_is_not_one_plain_address_is_rejected(hostile: str) -> None:
    """A recipient is exactly one address: no lists, brackets or line breaks."""
    with pytest.raises(InputError):
        Mailbox(hostile)


def test_a_subject_with_a_line_break_is_rejected(config: Config) -> None:
    """Subjects are one line."""
    with pytest.raises(InputError):
        compose(sender=SENDER, to=SENDER, subject="Hi\r\nBcc: x@y.org", body=BODY,
                idempotency_key="k", date=STAMP)


def test_quotes_commas_and_brackets_in_a_name_are_escaped_not_parsed(config: Config) -> None:
    """A hostile but one-line display name stays inside one quoted header value."""
    hostile = Mailbox("m.alvarez@riverside-rehab.example", 'Eve "x" <evil@example.org>, bob@x.org')
    message = parsed(invite_email(config, to=hostile))
    (address,) = message["To"].addresses
    assert address.addr_spec == "m.alvarez@riverside-rehab.example"
    assert address.display_name == 'Eve "x" <evil@example.org>, bob@x.org'
    assert "Bcc" not in message and len(message.get_all("To")) == 1


def test_the_output_layer_refuses_line_breaks_even_past_input_checks() -> None:
    """EmailMessage itself refuses CR/LF in a header: a second line of defence."""
    message = EmailMessage(policy=policy.SMTP)
    with pytest.raises(ValueError):
        message["Subject"] = "Hi\r\nBcc: x@y.org"


def test_the_date_header_is_utc_from_the_given_clock() -> None:
    """Time comes in as an argument; the Date header shows it in UTC."""
    message = compose(sender=SENDER, to=SENDER, subject="Hi", body=BODY, idempotency_key="k",
                      date=datetime(2027, 3, 1, 7, 0, tzinfo=UTC))
    assert message["Date"] == "Mon, 01 Mar 2027 07:00:00 +0000"
