"""Fresh databases at the newest schema, without running the migrations for every test.

Each pytest process migrates one template once — a SQLite file, and (when configured) a
PostgreSQL database — and every test gets its own copy: the same empty, migrated database
it would get from ``carepath db upgrade``, for a file copy or a ``CREATE DATABASE …
TEMPLATE`` (or a used PostgreSQL copy emptied again) instead of seventeen migrations. The
migrations themselves are tested in tests/adapters/test_migrations.py, from an empty
database.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

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


# A used copy is emptied for the next test instead of dropped: its rows deleted (foreign-key
# triggers off: it is all of them) and its sequences restarted, in milliseconds where a new
# copy takes a fifth of a second. Skipping the triggers needs a superuser; without one, or
# when a leaked connection holds a lock, every test gets a new copy as before.
EMPTY = """
DO $$
DECLARE
  name text;
  has_rows boolean;
BEGIN
  SET LOCAL session_replication_role = replica;
  FOR name IN SELECT quote_ident(tablename) FROM pg_tables
              WHERE schemaname = 'public' AND tablename <> 'alembic_version' LOOP
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM ' || name || ')' INTO has_rows;
    IF has_rows THEN
      EXECUTE 'DELETE FROM ' || name;
    END IF;
  END LOOP;
  PERFORM setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s
    JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = 'public'::regnamespace;
END $$
"""

# The schema as the catalog has it: an emptied copy is used again only when this still
# matches the template's (a test that altered a table or the revision gets a new copy).
SHAPE = """
SELECT md5(string_agg(part, ',' ORDER BY part)) FROM (
  SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS part
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT pg_get_indexdef(indexrelid) FROM pg_index
   WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
  UNION ALL
  SELECT tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT 'revision ' || version_num FROM alembic_version
) AS shape
"""


class PostgresTemplate:
    """One migrated database on the server of ``base_url``; empty copies of it on demand."""

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
        self.admin: Engine = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.name = f"carepath_template_{uuid.uuid4().hex[:12]}"
        self._execute(f"CREATE DATABASE {self.name}")
        engine = make_engine(self._url(self.name))
        with engine.begin() as connection:  # the exclusion constraints need it
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
        ensure_schema(engine)
        with engine.connect() as connection:
            self._shape = connection.exec_driver_sql(SHAPE).scalar()
        engine.dispose()  # a template takes no connections while it is copied
        self._idle: list[str] = []
        self._copies: set[str] = set()

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """The URL of an empty copy of the template for the block: a used one emptied again,
        or a new one."""
        name = self._idle.pop() if self._idle else None
        if name is None or not self._emptied(name):
            if name is not None:
                self._drop(name)
            name = self._copy()
        try:
            yield self._url(name)
        finally:
            self._idle.append(name)

    def close(self) -> None:
        for name in sorted(self._copies):
            self._drop(name)
        self._execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin.dispose()

    def _copy(self) -> str:
        name = f"carepath_test_{uuid.uuid4().hex[:12]}"
        # The default strategy (PostgreSQL 15+: through the write-ahead log) copies a small
        # database faster than STRATEGY FILE_COPY, which forces two checkpoints a copy.
        self._execute(f"CREATE DATABASE {name} TEMPLATE {self.name}")
        self._copies.add(name)
        return name

    def _drop(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # a leaked connection too
        self._copies.discard(name)

    def _emptied(self, name: str) -> bool:
        """Empty a used copy; False when it cannot be, or its schema is not the template's."""
        engine = create_engine(self._url(name), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                connection.exec_driver_sql(EMPTY)
                return bool(connection.exec_driver_sql(SHAPE).scalar() == self._shape)
        except DBAPIError:  # no superuser, or a lock held by a connection a test leaked
            return False
        finally:
            engine.dispose()

    def _url(self, database: str) -> str:
        return self.base.set(database=database).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(statement)
