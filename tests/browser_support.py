"""One headless Chromium for the browser tests (the web app and the email layouts).

The browser is Debian's ``chromium`` (``.ci/run`` installs it); nothing is downloaded at run
time. Where it is missing the browser tests skip with the reason on a developer's machine and
fail in CI (``CI=true``), so a landing never silently loses them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from availability import unavailable

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CAREPATH_CHROMIUM") or shutil.which("chromium")


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        unavailable("Debian's chromium is not installed (apt-get install chromium)")
    return path


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright browser driving the system Chromium with a fresh profile."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="carepath-chromium-") as profile, \
            sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True,
            args=[a for a in CHROMIUM_FLAGS if a != "--headless"])
        try:
            yield context
        finally:
            context.close()
