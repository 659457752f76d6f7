"""Import cycles among carepath's service modules, deferred imports (inside functions) included.

Run: ``python scripts/import_cycles.py`` — prints each strongly connected component of more
than one module (an import cycle) and the pairs closed only by a function-level import.
``TYPE_CHECKING`` imports are left out: they never run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "carepath.services"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, known: set[str]) -> dict[str, bool]:
    """Service modules ``path`` imports, each with True when only inside a function."""
    found: dict[str, bool] = {}

    def visit(node: ast.AST, deferred: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            return
        inner = deferred or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module_name(path):
                found[target] = found.get(target, True) and deferred
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    result: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            result.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            strong(node)
    return result


def service_imports() -> dict[str, dict[str, bool]]:
    """Each service module → the service modules it imports (True: only inside functions)."""
    paths = sorted((SRC / PACKAGE.replace(".", "/")).rglob("*.py"))
    known = {module_name(path) for path in paths}
    return {module_name(path): imports(path, known) for path in paths}


def find_cycles(edges: dict[str, dict[str, bool]]) -> list[list[str]]:
    """The import cycles: groups of modules that each reach every other, sorted."""
    graph = {name: set(targets) for name, targets in edges.items()}
    return sorted(group for group in components(graph) if len(group) > 1)


def main() -> int:
    edges = service_imports()
    cycles = find_cycles(edges)
    deferred_pairs = sorted(
        (a, b) for a, targets in edges.items() for b, only_deferred in targets.items()
        if a < b and b in edges and a in edges[b] and (only_deferred or edges[b][a]))
    print(f"{len(edges)} modules in {PACKAGE}; {len(cycles)} import cycle(s)")
    for group in cycles:
        print(f"  cycle of {len(group)}: {', '.join(m.rpartition('.')[2] for m in group)}")
    print(f"{len(deferred_pairs)} pair(s) importing each other, one side inside a function")
    for a, b in deferred_pairs:
        print(f"  {a.rpartition('.')[2]} <-> {b.rpartition('.')[2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
