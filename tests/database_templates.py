"""Fresh databases at the newest schema, without running the migrations for every test.

Each pytest process migrates one template once — a SQLite file, and (when configured) a
PostgreSQL database — and every test gets its own copy: the same empty, migrated database
it would get from ``carepath db upgrade``, for a file copy or a ``CREATE DATABASE …
TEMPLATE`` instead of seventeen migrations. The migrations themselves are tested in
tests/adapters/test_migrations.py, from an empty database.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from carepath.adapters.db import ensure_schema, make_engine


def migrated_sqlite_file(folder: Path) -> Path:
    """A SQLite database at head in ``folder`` (closed, so its write-ahead log is folded in)."""
    path = folder / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    return path


def copy_sqlite(template: Path, target: Path) -> str:
    """A copy of ``template`` at ``target``; its URL."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


class PostgresTemplate:
    """One migrated database on the server of ``base_url``; fresh copies of it on demand."""

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
        self.admin: Engine = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.name = f"carepath_template_{uuid.uuid4().hex[:12]}"
        self._execute(f"CREATE DATABASE {self.name}")
        engine = make_engine(self._url(self.name))
        with engine.begin() as connection:  # the exclusion constraints need it
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
        ensure_schema(engine)
        engine.dispose()  # a template takes no connections while it is copied

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """The URL of a new copy of the template, dropped after the block."""
        name = f"carepath_test_{uuid.uuid4().hex[:12]}"
        # The default strategy (PostgreSQL 15+: through the write-ahead log) copies a small
        # database faster than STRATEGY FILE_COPY, which forces two checkpoints a copy.
        self._execute(f"CREATE DATABASE {name} TEMPLATE {self.name}")
        try:
            yield self._url(name)
        finally:
            self._execute(f"DROP DATABASE {name} WITH (FORCE)")  # a leaked connection too

    def close(self) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin.dispose()

    def _url(self, database: str) -> str:
        return self.base.set(database=database).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(statement)
