"""What the fault tests run in a child process, so that it can be killed with SIGKILL.

Imported once by the forkserver (preload), so each child starts warm: the modules open_app
would import lazily are imported here.
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from carepath.adapters.clock import FixedClock
from carepath.adapters.mail import FolderTransport, SmtpOptions, SmtpTransport, Transport
from carepath.bootstrap import open_app
from carepath.config.loader import load_config
from carepath.config.settings import Settings
from carepath.services.outbox import dispatch
from carepath.testing import StallingTransport

import_module("alembic.command")
import_module("alembic.runtime.migration")


def dispatcher(options: dict[str, Any], ready: Any) -> None:
    """Open the app at ``options["now"]``, say so, then dispatch through a stalling
    transport (SMTP on ``options["port"]``, or the home's mail folder) until done."""
    home, config_dir = Path(options["home"]), Path(options["config_dir"])
    app = open_app(Settings(home=home, config_dir=config_dir, database_url=options["url"],
                            actor="dispatcher"),
                   FixedClock(datetime.fromisoformat(options["now"])),
                   config=load_config(config_dir))
    inner: Transport = (SmtpTransport(SmtpOptions("127.0.0.1", options["port"], timeout=10))
                        if options.get("port") else FolderTransport(app.settings.mail_dir))
    ready.set()
    dispatch(app, StallingTransport(inner, options["stall"]))
