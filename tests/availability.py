"""What a test does when a service it needs cannot run here (PostgreSQL, a Prefect server,
Radicale, aiosmtpd, Chromium): in CI (``CI=true``) the run fails — CI must run every test,
and a skip there would silently drop a part of the proof; on a developer's machine the test
skips and says why. Every such path goes through ``unavailable``
(tests/test_unavailable_services.py holds the suite to it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")
NO_POSTGRES = "PostgreSQL not configured: set CAREPATH_TEST_POSTGRES_URL (CI does) to run this"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip elsewhere, with ``reason``."""
    if in_ci():
        pytest.fail(f"{reason} — CI must run this test", pytrace=False)
    pytest.skip(reason)


def postgres_url() -> str:
    """The PostgreSQL server the tests may use (``CAREPATH_TEST_POSTGRES_URL``)."""
    url = os.environ.get("CAREPATH_TEST_POSTGRES_URL")
    if not url:
        unavailable(NO_POSTGRES)
    return url


@contextmanager
def running(what: str, server: AbstractContextManager[T]) -> Iterator[T]:
    """``server`` (a real service on 127.0.0.1) for the block; one that cannot start is
    ``unavailable``, while a failure inside the block stays the test's own."""
    with ExitStack() as stack:
        try:
            value = stack.enter_context(server)
        except (OSError, RuntimeError, ImportError) as error:
            unavailable(f"{what} could not start on 127.0.0.1: {error}")
        yield value
