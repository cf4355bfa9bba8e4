"""The test suite's own rules (CONTRIBUTING.md, "How to write a test here"), read from its files: fixtures live in
tests/fixtures and each name means one thing; helpers live in tests/helpers and nothing imports a conftest or a
test module; the schema comes from sql_queries; the levels' fixtures exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import sql_queries
from tests.helpers import PROJECT

TESTS = PROJECT / "tests"
FIXTURES = TESTS / "fixtures"


def python_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT).with_suffix("").parts)


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            out += [base] + [f"{base}.{a.name}" for a in node.names]
    return out


def conftest_value(name: str):
    """A constant of tests/conftest.py, read from its text (no module imports a conftest)."""
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    [value] = [node.value for node in tree.body if isinstance(node, ast.Assign)
               and any(isinstance(target, ast.Name) and target.id == name for target in node.targets)]
    return ast.literal_eval(value)


def fixture_definitions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
            and any("pytest.fixture" in ast.unparse(d) for d in node.decorator_list)]


def test_nothing_imports_a_conftest_or_a_test_module():
    found = [(module_name(path), name) for path in python_files() for name in imported_modules(path)
             if name.startswith("tests.") and re.search(r"\.(conftest|test_\w+)$", name)]
    assert found == [], "import from tests/helpers instead"


def test_helpers_are_plain_code():
    """tests/helpers holds no fixture and uses none: fixtures are in tests/fixtures."""
    helpers = sorted((TESTS / "helpers").rglob("*.py"))
    assert [(p.name, f) for p in helpers for f in fixture_definitions(p)] == []
    assert [(p.name, m) for p in helpers for m in imported_modules(p) if m.startswith("tests.fixtures")] == []


def test_the_only_conftest_is_the_sessions():
    assert [p.relative_to(TESTS).as_posix() for p in TESTS.rglob("conftest.py")] == ["conftest.py"]


def test_every_fixture_module_is_loaded():
    modules = sorted(module_name(p) for p in FIXTURES.glob("*.py") if p.name != "__init__.py")
    assert sorted(conftest_value("pytest_plugins")) == modules


def test_each_fixture_name_is_defined_once():
    """A name means one thing suite-wide: no fixture is defined twice, nor redefined by a test module."""
    where: dict[str, list[str]] = {}
    for path in python_files():
        for name in fixture_definitions(path):
            where.setdefault(name, []).append(path.relative_to(TESTS).as_posix())
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}


def test_the_levels_start_from_fixtures_that_exist():
    shared = {name for p in [*FIXTURES.glob("*.py"), TESTS / "conftest.py"] for name in fixture_definitions(p)}
    assert conftest_value("DB_FIXTURES") | conftest_value("AWS_FIXTURES") <= shared


@pytest.mark.parametrize("table", sql_queries.SCHEMA_TABLES)
def test_no_test_writes_the_schema_by_hand(table):
    """The warehouse's CREATE TABLEs come from sql_queries (tests/helpers/schema.py), never copied into a test."""
    pattern = re.compile(rf"create\s+(temp\w*\s+)?table\s+(if\s+not\s+exists\s+)?{table}\s*\(", re.IGNORECASE)
    copies = [p.relative_to(TESTS).as_posix() for p in python_files() if pattern.search(p.read_text(encoding="utf-8"))]
    assert copies == []
