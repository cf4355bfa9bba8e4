"""Imports flow one way: scripts -> sparkify -> sql_queries. Read from the sources (ast), every import counted,
the ones inside functions too: sql_queries imports nothing of sparkify, nothing imports a script, and the
modules of sparkify import each other without a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = {p.stem for p in ROOT.glob("*.py")}
PACKAGES = ("sparkify", "sql_queries")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The modules `name` imports (`from package import module` counts as the module, else as the package)."""
    path = MODULES[name]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = name.split(".")[:len(name.split(".")) - node.level + (path.name == "__init__.py")]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES}
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def internal(name: str) -> set[str]:
    """What `name` imports of sparkify itself."""
    return {m for m in GRAPH[name] if m in MODULES and m.startswith("sparkify")}


def test_the_import_graph_is_read():
    """(The parser finds what it must: a vacuous graph would pass every test below.)"""
    assert "sql_queries" in GRAPH["sparkify.warehouse"]
    assert "sparkify.pipeline.steps" in GRAPH["sparkify.pipeline.load"]
    assert "sql_queries.statement" in GRAPH["sql_queries.jobs"]
    assert "sparkify.copy.producer" in GRAPH["sparkify.copy.emulator"]
    assert {"etl", "create_tables", "analytics", "create_cluster", "delete_cluster"} <= SCRIPTS


@pytest.mark.parametrize("name", [m for m in MODULES if m.startswith("sql_queries")])
def test_sql_queries_imports_nothing_of_sparkify_nor_a_script(name):
    bad = {m for m in GRAPH[name] if m.split(".")[0] == "sparkify" or m.split(".")[0] in SCRIPTS}
    assert not bad, f"{name} imports {sorted(bad)}: sql_queries is a leaf (scripts -> sparkify -> sql_queries)"


@pytest.mark.parametrize("name", [m for m in MODULES if m.startswith("sparkify")])
def test_sparkify_imports_no_script(name):
    bad = {m for m in GRAPH[name] if m.split(".")[0] in SCRIPTS}
    assert not bad, f"{name} imports the script(s) {sorted(bad)}: scripts call the library, not the reverse"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, as the list of its modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_sparkify_has_no_import_cycle():
    graph = {name: internal(name) for name in MODULES if name.startswith("sparkify")}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
