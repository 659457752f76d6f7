"""The rings hold: the functional core imports no database, network, clock or outer ring, and
the web app's handlers and the CLI's commands reach the database only through the services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "carepath"

# what each ring may not import (a module or any of its submodules)
FORBIDDEN = {
    "domain": ("sqlalchemy", "sqlmodel", "alembic", "prefect", "apscheduler", "socket",
               "smtplib", "ssl", "httpx", "requests", "time", "carepath.adapters",
               "carepath.services", "carepath.cli", "carepath.web", "carepath.fhir",
               "carepath.settings"),
    "web": ("sqlalchemy", "sqlmodel", "carepath.adapters"),
    # the CLI calls services: no SQL, no tables, no sessions of its own
    "cli": ("sqlalchemy", "sqlmodel", "carepath.adapters.db", "carepath.adapters.tables",
            "carepath.adapters.types"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("ring", sorted(FORBIDDEN))
def test_a_ring_imports_nothing_it_should_not(ring: str) -> None:
    modules = sorted((SRC / ring).rglob("*.py"))
    assert modules, f"no modules under {ring}"
    found = [f"{path.relative_to(SRC)} imports {name}"
             for path in modules for name in sorted(_imports(path))
             for banned in FORBIDDEN[ring] if name == banned or name.startswith(banned + ".")]
    assert found == []
