"""Alembic migrations for carepath's schema (``carepath db upgrade``)."""
