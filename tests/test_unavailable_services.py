"""A service a test needs that cannot run fails CI and skips elsewhere (tests/availability.py),
and no test skips around that rule."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from availability import postgres_url, running, unavailable
from carepath.testing import Inbox, smtp_server

TESTS = Path(__file__).parent
# Skips that are not a missing service, each with its reason.
OTHER_SKIPS = {
    "reliability/test_output_files.py": "a device node needs CAP_MKNOD: a privilege, not a service",
}


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_an_unavailable_service_fails_the_run(ci: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="Radicale is down — CI must run this"):
        unavailable("Radicale is down")


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_elsewhere_an_unavailable_service_skips_with_its_reason(
        ci: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="^Radicale is down$"):
        unavailable("Radicale is down")


def test_postgresql_not_configured_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREPATH_TEST_POSTGRES_URL", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CAREPATH_TEST_POSTGRES_URL"):
        postgres_url()


def test_a_server_that_cannot_start_is_unavailable_but_a_failing_test_stays_a_failure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real aiosmtpd on a port already taken cannot start: that fails CI. Once one runs,
    an error inside the block is the test's own, never turned into a skip. (aiosmtpd waits
    its whole ready timeout, 5 s by default, before it reports a bind that failed at once.)"""
    monkeypatch.setenv("CI", "true")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(pytest.fail.Exception, match="aiosmtpd could not start.*in use"), \
                running("aiosmtpd", smtp_server(Inbox(), port=port, ready_timeout=0.2)):
            pass  # pragma: no cover
    with pytest.raises(OSError, match="the test's own"), \
            running("aiosmtpd", smtp_server(Inbox())) as port:
        assert port > 0
        raise OSError("the test's own")


def test_every_skip_goes_through_the_policy() -> None:
    """A plain ``pytest.skip`` would pass CI silently when its service is missing."""
    plain = re.compile(r"pytest\.skip\(|pytest\.importorskip\(|mark\.skipif\(")
    found = {str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
             if path.name != "availability.py" and path != Path(__file__)
             and plain.search(path.read_text(encoding="utf-8"))}
    assert found == set(OTHER_SKIPS)
