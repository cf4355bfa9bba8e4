"""The test session: its fake-AWS environment, the fixtures (tests/fixtures/, one meaning per name, suite-wide)
and the level of every test.

Every test process is AWS-safe: before anything runs, the environment becomes the one fake-AWS environment
of tests/helpers/environment.py (every AWS_* variable removed, fake credentials, no instance metadata);
subprocesses inherit it, and each test starts from it again. Tests that need other AWS settings set them with
monkeypatch.

Levels (markers, declared in pyproject.toml): each test gets exactly one at collection, the highest of what it
uses and what its module declares:
- `db`: the embedded PostgreSQL (any fixture built on `pg_server`), or a module that starts a server itself
  and says so with `pytestmark = pytest.mark.db`;
- `aws`: fake AWS (moto in process or its server, the Serverless stand-in, the fault proxy, the checkip
  stand-in), no database;
- `unit`: neither: pure code, run with `pytest -m unit` in seconds;
- `slow`: pure but seconds per test (a module says so with `pytestmark = pytest.mark.slow`).
A test under tests/unit/ must come out `unit` or `slow`.

`--native-lib PATH` (test sessions only: tools/sanitize_tests.py passes the sanitizer build) makes the C
converter come from PATH instead of sparkify/copy/_native.so; the toolkit itself has no such option.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers.environment import REMOVED, aws_safe_environment, fake_aws_environment

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.aws",
    "tests.fixtures.dataapi",
    "tests.fixtures.redshift",
    "tests.fixtures.inputs",
]

LEVELS = ("unit", "slow", "aws", "db")
# The fixtures a level starts from: a test whose fixtures (with everything they use) include one has that level.
DB_FIXTURES = {"pg_server"}
AWS_FIXTURES = {"_strict_moto", "fake_serverless", "checkip"}  # _strict_moto: under moto and moto_server

_AWS_HOME = Path(tempfile.mkdtemp(prefix="sparkify-test-aws-"))


def pytest_addoption(parser):
    parser.addoption("--native-lib", metavar="PATH", default=None,
                     help="test sessions only: load the C converter from PATH (e.g. the sanitizer build)")


def pytest_configure(config):
    aws_safe_environment(os.environ, _AWS_HOME)  # before any fixture, plugin or import makes an AWS client
    path = config.getoption("--native-lib")
    if path:
        from sparkify.copy import native

        native.use_library(Path(path))  # raises (and the session stops) if it cannot be used


def pytest_unconfigure(config):
    shutil.rmtree(_AWS_HOME, ignore_errors=True)


def level_of(item: pytest.Item) -> str:
    """The one level of a test (see the module docstring): the highest of what it declares and what it uses, in
    the order of LEVELS. A declared level below what the test uses is a mistake, reported."""
    used = set(getattr(item, "fixturenames", ()))
    declared = {m.name for m in item.iter_markers() if m.name in LEVELS}
    derived = "db" if used & DB_FIXTURES else "aws" if used & AWS_FIXTURES else "unit"
    level = max([*declared, derived], key=LEVELS.index)
    if declared - {level}:
        raise pytest.UsageError(f"{item.nodeid}: declared {', '.join(sorted(declared))}, but the fixtures it uses "
                                f"make it {level}: drop the declaration")
    return level


def pytest_collection_modifyitems(config, items):
    unit_dir = Path(__file__).parent / "unit"
    for item in items:
        level = level_of(item)
        if unit_dir in Path(item.path).parents and level not in ("unit", "slow"):
            raise pytest.UsageError(f"{item.nodeid}: its fixtures make it {level}, and tests/unit/ holds only unit "
                                    "and slow tests: move it to the directory of its topic")
        item.add_marker(getattr(pytest.mark, level))


@pytest.fixture(autouse=True)
def _aws_safe():
    """Per test as well: anything that slipped into the environment since (a direct os.environ write) is
    removed again. (Its own MonkeyPatch, not the `monkeypatch` fixture: requesting that one here would
    tear the tests' own patches down after every other fixture, e.g. after pg_dsn drops its database.)"""
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.upper().startswith("AWS_") or k in REMOVED]:
            mp.delenv(name)
        for name, value in fake_aws_environment(_AWS_HOME).items():
            mp.setenv(name, value)
        yield


@pytest.fixture(autouse=True)
def _sparkify_logging(caplog):
    caplog.set_level(logging.INFO, logger="sparkify")
