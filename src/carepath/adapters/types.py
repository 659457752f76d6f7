"""Moved to ``carepath.adapters.db.types``; this path stays for the migrations, which name
``carepath.adapters.types.UTCDateTime`` and must keep working as written."""

from carepath.adapters.db.types import *  # noqa: F403
