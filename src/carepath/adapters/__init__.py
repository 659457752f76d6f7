"""Adapters: one outside thing each (database, mail, CalDAV, clock, scheduler)."""
