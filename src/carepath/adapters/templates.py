"""Email templates on disk → message bodies: Jinja2, autoescaped HTML, strict variables.

Each email is a pair ``NAME.html.j2`` and ``NAME.txt.j2`` rendered from one context.
HTML is autoescaped (a name with markup shows as text, never as markup) and the layout's
stylesheet is inlined with css-inline, because many mail clients drop ``<style>`` blocks.
The ``@media`` rules that turn the visits table into cards on a phone cannot be inlined:
css-inline keeps them (``keep_at_rules``) in one ``<style>`` block, with ``!important`` so
they win over the inlined styles in the clients that read them (Apple Mail, the Gmail
and Outlook apps); a client that drops them shows the table.
``StrictUndefined`` turns a missing variable into an error in CI, not a blank in a
patient's inbox; ``check`` compiles every template when the renderer is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from carepath.config.resources import templates_dir
from carepath.domain.messages.mime import Body
from carepath.domain.messages.notices import count_text
from carepath.errors import ConfigError, ConfigProblem

EMAILS = ("patient_schedule", "patient_changed", "patient_cancelled", "patient_cancelled_many",
          "patient_reminder", "therapist_invite", "therapist_digest", "escalation_therapist",
          "escalation_physician")


class EmailTemplates:
    """Renders the text and HTML bodies of one email from one context."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or templates_dir()
        self.env = Environment(
            loader=FileSystemLoader(str(self.folder)),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2"),
                                         default_for_string=True, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["count"] = count_text  # {{ n|count("appointment") }}
        self._inliner = css_inline.CSSInliner(keep_style_tags=False, keep_at_rules=True)
        self.check()

    def check(self) -> None:
        """Compile every email's two templates now; report each one that is missing or broken."""
        problems = []
        for name in EMAILS:
            for suffix in ("html.j2", "txt.j2"):
                try:
                    self.env.get_template(f"{name}.{suffix}")
                except Exception as error:  # noqa: BLE001 — every template error is reported
                    problems.append(ConfigProblem(
                        file=str(self.folder / f"{name}.{suffix}"),
                        line=getattr(error, "lineno", None),
                        field="template", value=None, message=str(error),
                        hint="fix the template or restore it from the release"))
        if problems:
            raise ConfigError(problems)

    def render(self, name: str, context: dict[str, Any]) -> Body:
        """The plain-text and HTML bodies of email ``name``."""
        text = self.env.get_template(f"{name}.txt.j2").render(context)
        html = self.env.get_template(f"{name}.html.j2").render(context)
        return Body(text=_tidy(text), html=self._inliner.inline(html))


def _tidy(text: str) -> str:
    """Collapse the blank lines template logic leaves behind: at most one in a row."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"
