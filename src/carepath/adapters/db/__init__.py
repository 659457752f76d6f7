"""The persistence seam: everything that knows carepath is stored in SQL.

- ``engine``: URLs, engines and the unit of work (``transaction``);
- ``schema``: Alembic upgrades to this code's head revision;
- ``tables``: the SQLModel tables, ``types``: the column types (aware datetimes);
- ``mapping``: rows turned into domain values, in one place per value;
- ``errors``: a driver's failure said as what happened, for the CLI.

Services reach the database through these modules and hand out domain values or view
models, never rows; the CLI and the domain import none of them (``tests/test_layers.py``).
"""

from carepath.adapters.db.engine import (
    DRIVERS,
    SQLITE_LOCK_WAIT,
    DatabaseUnusable,
    make_engine,
    parse_database_url,
    transaction,
)
from carepath.adapters.db.schema import (
    HEAD,
    MIGRATIONS,
    current_revision,
    ensure_schema,
    known_revisions,
    stored_revision,
    upgrade,
)

__all__ = ["DRIVERS", "HEAD", "MIGRATIONS", "SQLITE_LOCK_WAIT", "DatabaseUnusable",
           "current_revision", "ensure_schema", "known_revisions", "make_engine",
           "parse_database_url", "stored_revision", "transaction", "upgrade"]
