"""Moved to ``carepath.adapters.db.tables``; this path stays for existing importers."""

from carepath.adapters.db.tables import *  # noqa: F403
