"""Shared fixtures. Database tests use a real PostgreSQL server: the embedded one, started once per session.

Every test process is AWS-safe: before anything runs, every AWS_* variable is removed from the environment
(credentials, profiles, config files, container and web-identity credentials, endpoints...) and fake
credentials are set, with instance metadata disabled; subprocesses inherit that environment. Tests that
need other AWS settings set them with monkeypatch.

`--native-lib PATH` (test sessions only: tools/sanitize_tests.py passes the sanitizer build) makes the C
converter come from PATH instead of sparkify/copy/_native.so; the toolkit itself has no such option.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
from pathlib import Path

import psycopg2
import pytest

from sparkify import localdb

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("SPARKIFY_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "sparkify"))
_db_counter = itertools.count()

# The fake, harmless AWS environment every test starts from.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def aws_safe_environment(environ, home: Path) -> None:
    """Remove every AWS_* variable from `environ` and set fake credentials (see the module docstring). Config
    and credentials files point at files that do not exist, so ~/.aws is never read either."""
    for name in [k for k in environ if k.upper().startswith("AWS_")]:
        del environ[name]
    environ.update(FAKE_AWS)
    environ["AWS_CONFIG_FILE"] = str(home / "no-aws-config")
    environ["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "no-aws-credentials")


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


@pytest.fixture(autouse=True)
def _aws_safe():
    """Per test as well: anything that slipped into the environment since (a direct os.environ write) is
    removed again. (Its own MonkeyPatch, not the `monkeypatch` fixture: requesting that one here would
    tear the tests' own patches down after every other fixture, e.g. after pg_dsn drops its database.)"""
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.upper().startswith("AWS_")]:
            mp.delenv(name)
        for name, value in {**FAKE_AWS, "AWS_CONFIG_FILE": str(_AWS_HOME / "no-aws-config"),
                            "AWS_SHARED_CREDENTIALS_FILE": str(_AWS_HOME / "no-aws-credentials")}.items():
            mp.setenv(name, value)
        yield


@pytest.fixture
def moto_s3(monkeypatch):
    """An S3 client inside moto's mock_aws, in us-west-2 (the udacity-dend bucket's region), started before the
    test makes any client of its own; the environment is already AWS-safe (_aws_safe)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    from moto import mock_aws

    with mock_aws():
        import boto3

        yield boto3.client("s3", region_name="us-west-2")


@pytest.fixture(scope="session")
def native_library(pytestconfig):
    """The C converter's library, loaded. Skips only where it cannot exist (SPARKIFY_NATIVE=0, or no C
    compiler: then the toolkit runs in pure Python, which the other tests cover); with a compiler, a
    missing or unusable library fails (run `make build`)."""
    from sparkify.copy import native

    if not native.enabled():
        pytest.skip("SPARKIFY_NATIVE=0: the C converter is switched off")
    lib = native.load_library()
    if lib is not None:
        return lib
    from tools.build_native import NoCompiler, find_compiler

    try:
        find_compiler()
    except NoCompiler as exc:
        pytest.skip(f"{exc}: the C converter cannot be built here (the pure-Python path is what runs)")
    pytest.fail(f"a C compiler is installed but the C converter is not usable ({native.unavailable_reason()}): "
                "run `make build`")


@pytest.fixture(scope="session")
def pg_server():
    """One embedded PostgreSQL server for the whole test session, stopped and deleted at the end.

    Its directory is our own (not pytest's tmp_path, whose retention policy may delete the
    directories of a concurrently running session).
    """
    base = Path(tempfile.mkdtemp(prefix="sparkify-test-pg-"))
    data_dir = base / "pgdata"
    server = localdb.ensure_server(data_dir)
    yield server
    localdb.stop_server(data_dir)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_server):
    """A fresh, empty database on the session's server; dropped after the test."""
    name = f"test_{os.getpid()}_{next(_db_counter)}"
    dsn = localdb.ensure_database(pg_server, name)
    yield dsn
    localdb.drop_database(pg_server, name)


@pytest.fixture
def pg_conn(pg_dsn):
    conn = psycopg2.connect(pg_dsn)
    yield conn
    conn.close()


@pytest.fixture
def real_data() -> Path:
    """The real udacity-dend files in ../shared/data/sparkify (read-only)."""
    if not (REAL_DATA / "log_data").is_dir():
        pytest.fail(f"real data not found at {REAL_DATA}: the shared/ folder must sit beside the project checkout "
                    "(or set SPARKIFY_REAL_DATA)")
    return REAL_DATA


@pytest.fixture(autouse=True)
def _sparkify_logging(caplog):
    caplog.set_level(logging.INFO, logger="sparkify")


@pytest.fixture
def local_config(pg_server, pg_dsn, tmp_path):
    """A Config for the `postgres` engine pointing at this test's fresh database on the embedded server.

    Sources default to (non-existent) paths under tmp_path; tests replace them with dataclasses.replace.
    """
    from urllib.parse import parse_qs, urlparse

    from sparkify.config import ClusterSettings, Config, S3Settings

    u = urlparse(pg_dsn)
    host = parse_qs(u.query)["host"][0]
    return Config(
        engine="postgres",
        s3=S3Settings(
            log_data=str(tmp_path / "log_data"),
            log_jsonpath=str(tmp_path / "log_json_path.json"),
            song_data=str(tmp_path / "song_data"),
        ),
        cluster=ClusterSettings(host=host, db_name=u.path.lstrip("/"), db_user="postgres", db_port=5432),
        lock_timeout=5,
    )


@pytest.fixture
def config_file(local_config, tmp_path):
    """write_config(**s3_overrides) -> Path of a dwh.cfg for local_config's database (ENGINE = postgres)."""

    def write_config(log_data=None, log_jsonpath=None, song_data=None, maxerror=0, name="dwh.cfg"):
        c = local_config.cluster
        path = tmp_path / name
        path.write_text(
            "[WAREHOUSE]\nENGINE = postgres\n"
            f"[CLUSTER]\nHOST = {c.host}\nDB_NAME = {c.db_name}\nDB_USER = {c.db_user}\nDB_PORT = {c.db_port}\n"
            f"[S3]\nLOG_DATA = {log_data or local_config.s3.log_data}\n"
            f"LOG_JSONPATH = {log_jsonpath or local_config.s3.log_jsonpath}\n"
            f"SONG_DATA = {song_data or local_config.s3.song_data}\n"
            f"[ETL]\nMAXERROR = {maxerror}\nLOCK_TIMEOUT = 5\n"
        )
        return path

    return write_config


# --------------------------------------------------------------------------------------------------
# A real browser: headless Chromium (Debian's `chromium` package), driven by Playwright without any download

# As root Chromium needs --no-sandbox; the rest keep it from calling Google's services on start, which this
# machine's closed network refuses (many connections at a time) and which no test wants.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions"]


def chromium_path() -> str | None:
    """SPARKIFY_CHROMIUM, else chromium / chromium-browser on PATH."""
    for candidate in (os.environ.get("SPARKIFY_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the session. Without one the test is skipped and says why, unless
    SPARKIFY_REQUIRE_BROWSER is set (CI sets it: there a missing browser is a failure, not a skip)."""
    path = chromium_path()
    if path is None:
        reason = ("no Chromium to test the HTML report in: apt-get install chromium "
                  "(or set SPARKIFY_CHROMIUM to a Chromium or Chrome binary)")
        if os.environ.get("SPARKIFY_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}; SPARKIFY_REQUIRE_BROWSER is set, so this is not skipped")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
