"""Every email template renders under StrictUndefined, escapes markup and reads plainly."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from email_samples import sample_contexts

from carepath.adapters.templates import EMAILS, EmailTemplates
from carepath.errors import ConfigError
from carepath.resources import templates_dir


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.styles.extend(v or "" for k, v in attrs if k == "style")


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
    """A <table> with <th> headers, 20px text, and styles inlined (clients drop <style>)."""
    body = templates.render(name, sample_contexts()[name])
    parsed = tags_of(body.html)
    assert "table" in parsed.tags and "th" in parsed.tags
    assert "style" not in parsed.tags
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
