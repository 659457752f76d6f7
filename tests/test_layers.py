"""The rings hold: the functional core imports no database, network, clock or outer ring, and
the web app's handlers and the CLI's commands reach the database only through the services."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "carepath"
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

# what each ring may not import (a module or any of its submodules)
FORBIDDEN = {
    "domain": ("sqlalchemy", "sqlmodel", "alembic", "prefect", "apscheduler", "socket",
               "smtplib", "ssl", "httpx", "requests", "time", "carepath.adapters",
               "carepath.services", "carepath.cli", "carepath.web", "carepath.fhir",
               "carepath.config", "carepath.bootstrap", "carepath.entrypoints"),
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


def test_service_modules_form_no_import_cycle() -> None:
    """Counting imports inside functions too: a cycle means a module reaches back to one that
    imports it (scheduling and scheduling_io share enrolment_store instead)."""
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPTS / "import_cycles.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.find_cycles(script.service_imports()) == []
