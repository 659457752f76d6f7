"""Every email template renders under StrictUndefined, escapes markup and reads plainly."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from email_samples import contexts_for, sample_contexts, sample_style, sample_visits

from carepath.adapters.templates import EMAILS, EmailTemplates
from carepath.config.resources import templates_dir
from carepath.domain.messages.notices import Recipient, digest_subject, patient_subject
from carepath.domain.messages.visits import CalendarVisit
from carepath.errors import ConfigError


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.styles: list[str] = []
        self.stylesheets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.styles.extend(v or "" for k, v in attrs if k == "style")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.stylesheets.append(data)


def tags_of(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def templates() -> EmailTemplates:
    return EmailTemplates()


@pytest.mark.parametrize("name", EMAILS)
def test_every_template_renders_text_and_html_from_one_sample_context(
        templates: EmailTemplates, name: str) -> None:
    """Both bodies render with the sample context; nothing is left undefined."""
    body = templates.render(name, sample_contexts()[name])
    assert body.text.strip() and body.html.strip()
    assert "Undefined" not in body.text + body.html


@pytest.mark.parametrize("name", [n for n in EMAILS if n.startswith("patient")])
def test_patient_emails_use_a_real_table_large_type_and_inline_styles(
        templates: EmailTemplates, name: str) -> None:
    """A <table> with <th> headers, 20px text, and styles inlined (clients drop <style>):
    the one <style> block left holds only the phone layout's @media rules."""
    body = templates.render(name, sample_contexts()[name])
    parsed = tags_of(body.html)
    assert "table" in parsed.tags and "th" in parsed.tags
    assert parsed.tags.count("style") == 1
    (sheet,) = parsed.stylesheets
    assert sheet.strip().startswith("@media screen and (max-width: 480px)")
    rules = re.findall(r"\{([^{}]*)\}", sheet)
    declarations = [d.strip() for rule in rules for d in rule.split(";") if d.strip()]
    assert declarations and all(d.endswith("!important") for d in declarations)
    assert any("font-size: 20px" in s for s in parsed.styles)


def test_the_schedule_repeats_the_ms_advice(templates: EmailTemplates) -> None:
    """Stay cool, the two-hour rule and the walking aid appear in both bodies."""
    body = templates.render("patient_schedule", sample_contexts()["patient_schedule"])
    for phrase in ("Stay cool", "two-hour rule", "walking aid"):
        assert phrase in body.text and phrase in body.html


def test_markup_in_a_name_is_escaped_in_html_and_left_as_text_in_plain(
        templates: EmailTemplates) -> None:
    """A name like <script> shows as text; it never becomes markup."""
    context = sample_contexts()["patient_reminder"]
    context["recipient"] = {"name": "<script>alert(1)</script> & Co", "role": "patient"}
    body = templates.render("patient_reminder", context)
    assert "<script>" not in body.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in body.html
    assert "<script>alert(1)</script> & Co" in body.text


def test_a_missing_variable_is_an_error_not_a_blank(templates: EmailTemplates) -> None:
    """StrictUndefined: a context without the visit fails loudly."""
    context: dict[str, Any] = dict(sample_contexts()["patient_reminder"])
    del context["visit"]
    with pytest.raises(Exception, match="visit"):
        templates.render("patient_reminder", context)


def test_a_broken_template_folder_is_reported_when_loaded(tmp_path: Path) -> None:
    """Templates are checked when the renderer is built: every missing one is named."""
    (tmp_path / "patient_schedule.html.j2").write_text("{% if %}")
    with pytest.raises(ConfigError) as caught:
        EmailTemplates(tmp_path)
    assert len(caught.value.problems) == 2 * len(EMAILS)


def test_the_checkout_templates_are_the_ones_found() -> None:
    """templates_dir() finds templates/emails with every email's two files."""
    folder = templates_dir()
    for name in EMAILS:
        assert (folder / f"{name}.html.j2").is_file() and (folder / f"{name}.txt.j2").is_file()


PATIENT = Recipient("ava@patients.example", "Ava Thompson")
CAREGIVER = Recipient("family@patients.example", "", "caregiver")
PATIENT_EMAILS = [n for n in EMAILS if n.startswith("patient")]
# A count whose noun disagrees with it: "1 appointments", "3 appointment", "1 hours".
WRONG_NUMBER = re.compile(r"\b1 (?:new )?(?:appointments|visits|cancellations|hours)\b|"
                          r"\b(?:[02-9]|\d\d+) (?:new )?(?:appointment|visit|cancellation|hour)\b")


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("recipient", [PATIENT, CAREGIVER], ids=["patient", "caregiver"])
@pytest.mark.parametrize("name", EMAILS)
def test_every_template_reads_right_with_one_and_with_several_visits(
        templates: EmailTemplates, name: str, count: int, recipient: Recipient) -> None:
    """With one visit and with three, for a patient and a caregiver: every count agrees
    with its noun, and each visit is listed in both bodies."""
    body = templates.render(name, contexts_for(count, recipient)[name])
    html_text = re.sub(r"<[^>]+>", " ", body.html)
    for text in (body.text, html_text):
        assert not WRONG_NUMBER.search(text), WRONG_NUMBER.search(text)
    if name in ("patient_schedule", "patient_cancelled_many", "therapist_digest"):
        for day in range(count):
            assert f"{10 + day} March 2027" in body.text and f"{10 + day} March 2027" in body.html


@pytest.mark.parametrize("count", [1, 3])
def test_subjects_count_in_the_right_number(count: int) -> None:
    """"Cancelled: 1 appointment on …", "Cancelled: 3 appointments from …"; a digest too."""
    visits = sample_visits(count)
    style = sample_style()
    subjects = [patient_subject(kind, style, visits[0], count=count)
                for kind in ("schedule", "added", "cancelled_many")]
    subjects.append(digest_subject(visits, style))
    for subject in subjects:
        assert not WRONG_NUMBER.search(subject), subject
    assert subjects[2].startswith("Cancelled: 1 appointment on Wednesday" if count == 1
                                  else "Cancelled: 3 appointments from Wednesday")


@pytest.mark.parametrize("name", ["patient_cancelled", "patient_cancelled_many"])
def test_a_caregivers_cancellation_never_invites_them_to_come(
        templates: EmailTemplates, name: str) -> None:
    """Written for the caregiver: the patient's visit, nobody needs to come, no invitation."""
    for count in (1, 3):
        body = templates.render(name, contexts_for(count, CAREGIVER)[name])
        for text in (body.text, body.html):
            assert "welcome to come" not in text
            assert "nobody needs to come" in text
            assert "Ava asked us to keep you informed" in text
            assert "Please do NOT come" not in text and "Please do <strong>not</strong>" not in text


def test_a_caregiver_is_welcome_to_a_visit_that_takes_place(templates: EmailTemplates) -> None:
    """Reminder and schedule to a caregiver: about Ava's visit, and an invitation to come."""
    for name in ("patient_reminder", "patient_schedule", "patient_changed"):
        body = templates.render(name, contexts_for(1, CAREGIVER)[name])
        assert "You are welcome to come along" in body.text
        assert "Hello," in body.text  # no name of theirs on file: no guessed name
    changed = templates.render("patient_changed", contexts_for(1, CAREGIVER)["patient_changed"])
    assert "Ava's appointment has changed" in changed.text


@pytest.mark.parametrize("name", PATIENT_EMAILS)
def test_every_patient_email_says_how_to_reach_and_get_into_the_clinic(
        templates: EmailTemplates, name: str) -> None:
    """Phone, directions, parking, step-free entrance and website from clinic.yaml, in
    both bodies; the phone is a tap-to-call link in HTML; the notice to give is asked for
    a visit that still takes place."""
    body = templates.render(name, contexts_for(1, PATIENT)[name])
    contact = sample_style().contact
    for value in (contact.phone, contact.directions, contact.parking,
                  contact.accessible_entrance, contact.website):
        assert value and value in body.text and value in body.html, value
    assert 'href="tel:+15185550134"' in body.html
    assert ("at least 24 hours before" in body.text) == ("cancelled" not in name)


def test_without_a_phone_the_email_says_to_reply(templates: EmailTemplates) -> None:
    """A clinic with no phone in clinic.yaml: "Reply to this email", no empty "Call us"."""
    context = contexts_for(1, PATIENT)["patient_reminder"]
    context["clinic"] = {**context["clinic"], "phone": None}
    body = templates.render("patient_reminder", context)
    assert "Call us" not in body.text and "Reply to this email, at least 24 hours" in body.text


def test_the_self_service_and_feed_links_show_only_when_the_web_app_gives_them(
        templates: EmailTemplates) -> None:
    """manage_url and feed_url are optional: absent, nothing is said; present, both bodies
    carry them (escaped in HTML); a cancelled visit offers no change link."""
    plain = templates.render("patient_reminder", contexts_for(1, PATIENT)["patient_reminder"])
    assert "Or online" not in plain.text and "subscribe" not in plain.html

    def links(visit: CalendarVisit) -> str:
        return f"https://care.example/v/{visit.appointment.id}?t=a&b"

    contexts = contexts_for(3, PATIENT, links=links, feed_url="https://care.example/feed/x")
    reminder = templates.render("patient_reminder", contexts["patient_reminder"])
    assert "https://care.example/v/1?t=a&b" in reminder.text
    assert 'href="https://care.example/v/1?t=a&amp;b"' in reminder.html
    assert "https://care.example/feed/x" in reminder.text + reminder.html
    schedule = templates.render("patient_schedule", contexts["patient_schedule"])
    assert all(f"https://care.example/v/{i}?t=a&b" in schedule.text for i in (1, 2, 3))
    cancelled = templates.render("patient_cancelled", contexts["patient_cancelled"])
    assert "care.example/v/" not in cancelled.text + cancelled.html
