"""Long-running entry points: processes that wire the app (``carepath.bootstrap``) and drive
the services on their own, e.g. ``carepath serve``'s scheduler loop."""
