"""What `carepath web` prints while it serves holds no patient data: not the patient's name,
MRN or email, and not the secret token of a patient link (which stands for the patient)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from web_support import WEB_URL, Clinic

from carepath.adapters.db import transaction
from carepath.services.calendar_views import load_visits
from carepath.services.web_links import manage_url
from carepath.testing import free_port


def _listening(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # a readiness probe: each try waits on the socket
        assert process.poll() is None, "carepath web exited"
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
    raise AssertionError("carepath web did not listen")


def _get(url: str) -> None:
    # a refused link is still a request the log could have recorded
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=30).read()  # noqa: S310 - a local test server


def test_serving_pages_and_patient_links_logs_no_patient_data(clinic: Clinic,
                                                              tmp_path: Path) -> None:
    with transaction(clinic.app.engine) as session:
        (view,) = load_visits(session, clinic.app, [clinic.visits[1]])
    link = manage_url(clinic.app, view)
    assert link is not None
    token = link.rsplit("/", 1)[-1]
    port, log = free_port(), tmp_path / "web.log"
    settings = clinic.app.settings
    env = {**os.environ, "CAREPATH_HOME": str(settings.home),
           "CAREPATH_CONFIG_DIR": str(settings.config_dir),
           "CAREPATH_WEB_SECRET": settings.web_secret or "", "CAREPATH_WEB_URL": WEB_URL}
    env.pop("CAREPATH_DATABASE_URL", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("carepath")), "web", "--port", str(port),
             "--insecure-cookies"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _listening(port, process)
            base = f"http://127.0.0.1:{port}"
            for path in ["/login", link.removeprefix(WEB_URL), f"/v/{token[:-2]}xx", "/day",
                         "/nowhere"]:
                _get(base + path)
        finally:
            process.terminate()
            process.wait(timeout=30)
    printed = log.read_text(errors="replace")
    assert "carepath web on" in printed  # the log was captured
    for secret in [token, "MRN1", "Jane", "Doe", "MRN1@example.org"]:
        assert secret not in printed, f"the log holds {secret!r}:\n{printed}"
