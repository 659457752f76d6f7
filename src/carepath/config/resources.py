"""Where the config and templates are: the environment, the checkout, or the installed copy.

Order of preference for the config directory: ``CAREPATH_CONFIG_DIR`` (via settings), then
``./config`` in the working directory, then the example clinic bundled in the package.
Templates: the checkout's ``templates/emails`` when running from source, else the bundled copy.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # carepath/, beside _bundled/
_CHECKOUT = _PACKAGE.parents[1]


def bundled_config_dir() -> Path:
    """The example clinic: the checkout's ``config/`` or the copy inside the wheel."""
    for candidate in (_CHECKOUT / "config", _PACKAGE / "_bundled" / "config"):
        if (candidate / "clinic.yaml").is_file():
            return candidate
    raise FileNotFoundError("the example config is missing from this installation")


def templates_dir() -> Path:
    """The email templates: the checkout's ``templates/emails`` or the bundled copy."""
    bundled = _PACKAGE / "_bundled" / "templates" / "emails"
    for candidate in (_CHECKOUT / "templates" / "emails", bundled):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the email templates are missing from this installation")
