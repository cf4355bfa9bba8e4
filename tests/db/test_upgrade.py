"""create_tables.py --upgrade, from git history: a warehouse made and loaded by the previous release (commit 786cd9d,
2026-11-30, the first with the load ledger: its own create_tables.py and etl.py, run from the commit) is brought to
the current schema in place, keeping every row and the ledger; loading more with the current code then gives
exactly the star schema of one full load into a fresh warehouse. Also: the upgrade is idempotent; etl.py and
analytics.py refuse an older schema naming the upgrade; warehouses it cannot recognise are refused with the fix;
a migration that fails changes nothing; further migrations apply in order (a test's own).

The history must be there (a full clone: CI clones main): the test fails, naming the fix, if it is not.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import psycopg2
import pytest

import analytics
import create_tables
import etl
import sql_queries
from sparkify.config import load_config
from sparkify.errors import WarehouseError
from sparkify.pipeline import upgrade
from sparkify.schema import SchemaFound
from sql_queries import Migration, Statement
from tests.helpers.db import query
from tests.helpers.star import CONTRACT, contract, star

pytestmark = pytest.mark.realdata
ROOT = Path(__file__).resolve().parents[2]
RELEASE = "786cd9d"  # 2026-11-30: the load ledger, etl_runs, etl_run_checks; no recorded version
BEFORE_LEDGER = "ded0495"  # 2026-11-22: the last commit before the load ledger
FIRST_DAYS = "2018/11/2018-11-0"  # days 1-9
UPGRADE_FIX = "run create_tables.py --upgrade, which keeps every row and the load ledger"


def git(*args: str) -> bytes:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=False)
    if done.returncode:
        pytest.fail(f"git {' '.join(args)} failed ({done.stderr.decode().strip()}): these tests read the project's git "
                    "history; run them in a full clone (git fetch --unshallow)")
    return done.stdout


def checkout(tmp_path_factory, commit: str) -> Path:
    """The project's files as `commit` has them, in a directory of their own."""
    dest = tmp_path_factory.mktemp(f"commit-{commit}")
    with tarfile.open(fileobj=io.BytesIO(git("archive", commit))) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> Path:
    """The previous release (commit 786cd9d)."""
    return checkout(tmp_path_factory, RELEASE)


@pytest.fixture(scope="session")
def before_ledger(tmp_path_factory) -> Path:
    """The last commit before the load ledger (ded0495, 2026-11-22)."""
    return checkout(tmp_path_factory, BEFORE_LEDGER)


def run_release(tree: Path, script: str, cfg: Path) -> None:
    """One of an earlier version's scripts, its own code (the C converter not built: pure Python)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "SPARKIFY_NATIVE": "0"}
    done = subprocess.run([sys.executable, script, "--config", str(cfg), "--quiet"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{tree.name}'s {script}: {done.stderr[-3000:]}"


def everything(conn) -> dict:
    """Every row of every table of the toolkit, by table (a snapshot to compare)."""
    tables = [t for t, in query(conn, "select table_name from information_schema.tables "
                                      "where table_schema = current_schema() order by 1")]
    return {t: sorted(query(conn, f'select * from "{t}"'), key=repr) for t in tables}


def shape(conn) -> list[tuple]:
    """Every column of the toolkit's tables: name, type, length, nullability, identity, in order."""
    return query(conn, """
        select table_name, ordinal_position, column_name, data_type, character_maximum_length, is_nullable,
               is_identity
        from information_schema.columns
        where table_schema = current_schema()
        order by table_name, ordinal_position""")


def versions(conn) -> list[tuple]:
    return query(conn, "select version, description, how from schema_versions order by version")


def fresh_database(pg_server, name: str):
    from sparkify import localdb

    return psycopg2.connect(localdb.ensure_database(pg_server, name))


# --------------------------------------------------------------------------------------------------
# From the previous release to this one


@pytest.fixture
def release_warehouse(release, real_sources, pg_conn):
    """A warehouse made and loaded (days 1-9, every song) by the previous release's own scripts."""
    cfg = real_sources(FIRST_DAYS)
    run_release(release, "create_tables.py", cfg)
    run_release(release, "etl.py", cfg)
    assert query(pg_conn, "select count(*) from etl_runs") == [(1,)]
    assert not query(pg_conn, "select 1 from information_schema.tables where table_name = 'schema_versions'")
    return cfg


def test_the_previous_release_is_refused_until_upgraded_then_loads_like_one_full_load(
        release_warehouse, real_sources, pg_conn, pg_server, capsys):
    before = everything(pg_conn)

    # the current scripts refuse the older schema, naming the upgrade, and change nothing
    for script in (etl, analytics):
        assert script.main(["--config", str(real_sources()), "--quiet"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(
            "is at schema version 1 (the release of 2026-11-30: the load ledger, song_records, etl_runs, etl_run_checks; "
            f"recognised by its tables: it records no version) and this toolkit needs version "
            f"{sql_queries.SCHEMA_VERSION}: {UPGRADE_FIX}"), err
    assert everything(pg_conn) == before

    # the upgrade keeps every row (the ledger, the runs and their checks included) and records the versions
    assert create_tables.main(["--config", str(real_sources()), "--quiet", "--upgrade"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("upgraded the warehouse from schema version 1 (") and out.rstrip().endswith(
        f"to schema version {sql_queries.SCHEMA_VERSION} ({len(sql_queries.MIGRATIONS)} migrations); every row and "
        "the load ledger kept")
    after = everything(pg_conn)
    added = {"schema_versions", *sql_queries.REPORT_TABLES}
    assert {t: rows for t, rows in after.items() if t not in added} == before
    # the report's tables are made and filled from songplays; staging is unlogged, as create_tables.py makes it
    assert after["report_sessions"] and after["report_user_days"]
    from sparkify.checks import run_checks

    with pg_conn.cursor() as cur:
        assert [r.name for r in run_checks(cur, sql_queries.REPORT_CHECKS) if not r.passed] == []
    assert query(pg_conn, "select relname from pg_class where relpersistence = 'u' and relkind = 'r' "
                          "and relnamespace = current_schema()::regnamespace order by 1") == [
        ("staging_events",), ("staging_songs",)]
    assert versions(pg_conn) == [(1, sql_queries.DESCRIPTIONS[1], "recognised"),
                                 *((m.version, m.description, "upgraded") for m in sql_queries.MIGRATIONS)]

    # idempotent: again, nothing changes
    assert create_tables.main(["--config", str(real_sources()), "--quiet", "--upgrade"]) == 0
    assert capsys.readouterr().out.strip() == (f"the warehouse is at schema version {sql_queries.SCHEMA_VERSION}, "
                                               "the current one: nothing to upgrade")
    assert everything(pg_conn) == after

    # load the rest with the current code: the ledger is honoured (what the release loaded is skipped)
    loaded_before = len(before["loaded_objects"])
    assert etl.main(["--config", str(real_sources()), "--quiet"]) == 0
    (skipped, loaded), = query(pg_conn, "select objects_skipped, objects_loaded from etl_runs where run_id = 2")
    assert skipped == loaded_before and loaded == 30 - 9  # days 10-30; every song was loaded by the release

    # one full load of the same files into a fresh warehouse at the current version: the same star schema
    fresh = fresh_database(pg_server, f"{pg_conn.info.dbname}_fresh")
    try:
        cfg = real_sources(name="fresh.cfg")
        cfg.write_text(cfg.read_text().replace(f"DB_NAME = {pg_conn.info.dbname}\n",
                                               f"DB_NAME = {pg_conn.info.dbname}_fresh\n"))
        assert create_tables.main(["--config", str(cfg), "--quiet"]) == 0
        assert etl.main(["--config", str(cfg), "--quiet"]) == 0
        assert shape(pg_conn) == shape(fresh)
        assert star(pg_conn) == star(fresh)
        assert contract(pg_conn) == CONTRACT
        ledger = "select table_name, object_url, size, version from loaded_objects order by 1, 2"
        assert query(pg_conn, ledger) == query(fresh, ledger)
        assert [how for _, _, how in versions(fresh)] == ["created"] * sql_queries.SCHEMA_VERSION
    finally:
        fresh.close()
        from sparkify import localdb

        localdb.drop_database(pg_server, f"{pg_conn.info.dbname}_fresh")


# --------------------------------------------------------------------------------------------------
# What the upgrade refuses, and how it fails


def test_a_warehouse_of_the_release_is_recognised_by_its_tables(release, real_sources, pg_conn):
    """The release's own create_tables.py (nothing loaded): the shape sql_queries.RELEASE_TABLES declares."""
    run_release(release, "create_tables.py", real_sources())
    found = SchemaFound.of(query(pg_conn, sql_queries.schema_tables_select.sql))
    assert found.tables == sql_queries.RELEASE_TABLES[1] and found.recognised == 1 and not found.versioned


def test_the_preflight_names_the_upgrade(release, real_sources, capsys):
    """etl.py --preflight (run before every Redshift load) says what etl.py would: upgrade, not re-create."""
    run_release(release, "create_tables.py", real_sources())
    assert etl.main(["--config", str(real_sources()), "--preflight"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("FATAL tables.schema: the warehouse is at schema version 1 (") and out[1].endswith(
        f"this toolkit needs version {sql_queries.SCHEMA_VERSION}: {UPGRADE_FIX}"), out
    assert not any("drops" in line for line in out)


def test_a_warehouse_made_before_the_load_ledger_is_refused(before_ledger, real_sources, pg_conn, capsys):
    """Made by the last commit before the load ledger, its own create_tables.py: refused, naming why and the fix."""
    run_release(before_ledger, "create_tables.py", real_sources())
    before = everything(pg_conn)
    assert create_tables.main(["--config", str(real_sources()), "--quiet", "--upgrade"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tables match no schema version this toolkit knows (compared with version 1: " \
        "missing tables: song_records, loaded_objects" in err[0], err
    assert "made before the load ledger" in err[0]
    assert err[0].endswith("create_tables.py makes a new warehouse (it drops every table), then etl.py loads every "
                           "source object again")
    assert everything(pg_conn) == before


@pytest.mark.parametrize("damage, message", [
    ("alter table songplays drop column song_length", "other columns in: songplays"),
    ("drop table etl_run_checks", "missing tables: etl_run_checks"),
])
def test_a_warehouse_whose_tables_match_no_version_is_refused(damage, message, release, real_sources, pg_conn, capsys):
    run_release(release, "create_tables.py", real_sources())
    with pg_conn.cursor() as cur:
        cur.execute(damage)
    pg_conn.commit()
    assert create_tables.main(["--config", str(real_sources()), "--quiet", "--upgrade"]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not query(pg_conn, "select 1 from information_schema.tables where table_name = 'schema_versions'")


def test_an_empty_warehouse_is_refused_naming_create_tables(real_sources, capsys):
    """The fix docs/daily-runs.md gives: create_tables.py (not --upgrade: there is nothing to upgrade), then etl.py;
    etl.py is told the same without the upgrade."""
    assert create_tables.main(["--config", str(real_sources()), "--quiet", "--upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith(
        " has no tables yet (etl_runs is missing): nothing to upgrade: run create_tables.py without --upgrade, then "
        "etl.py\n")
    assert etl.main(["--config", str(real_sources()), "--quiet"]) == 1
    assert capsys.readouterr().err.endswith(" has no tables yet (etl_runs is missing): run create_tables.py, then "
                                            "etl.py\n")


def test_a_newer_warehouse_is_refused_by_every_script(real_sources, pg_conn, capsys):
    assert create_tables.main(["--config", str(real_sources()), "--quiet"]) == 0
    with pg_conn.cursor() as cur:
        cur.execute("insert into schema_versions values (99, 'from the future', 'created', now())")
    pg_conn.commit()
    for script, args in ((create_tables, ["--upgrade"]), (etl, []), (analytics, [])):
        assert script.main(["--config", str(real_sources()), "--quiet", *args]) == 1
        assert (f"is at schema version 99, newer than this toolkit's ({sql_queries.SCHEMA_VERSION}): run a newer "
                "release of the toolkit") in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# Further migrations (a test's own): in order, once each, atomically

V3 = Migration("test_v3", "", version=3, description="a test's migration: a column and a table",
               steps=(Statement("v3_column", "alter table etl_runs add column note varchar(64) default 'none'"),
                      Statement("v3_table", "create table report_days (day date not null, plays bigint not null) "
                                            "diststyle all")))
BAD_V3 = Migration("test_bad_v3", "", version=3, description="a migration whose second statement fails",
                   steps=(Statement("v3_column", "alter table etl_runs add column note varchar(64)"),
                          Statement("v3_broken", "alter table etl_runs add column run_id bigint")))  # exists


def test_migrations_apply_in_order_once_and_are_recorded(release, real_sources, pg_conn):
    run_release(release, "create_tables.py", real_sources())
    config = load_config(real_sources())
    found, applied = upgrade(config, (*sql_queries.MIGRATIONS, V3))
    assert found.recognised == 1 and [m.version for m in applied] == [*range(2, sql_queries.SCHEMA_VERSION + 1), 3]
    assert [v for v, _, _ in versions(pg_conn)] == [1, *range(2, sql_queries.SCHEMA_VERSION + 1), 3]
    assert query(pg_conn, "select count(*) from report_days") == [(0,)]
    assert query(pg_conn, "select column_default from information_schema.columns where table_name = 'etl_runs' "
                          "and column_name = 'note'") == [("'none'::character varying",)]
    found, applied = upgrade(config, (*sql_queries.MIGRATIONS, V3))
    assert found.recorded == 3 and applied == []


def test_a_failing_migration_changes_nothing(release, real_sources, pg_conn):
    run_release(release, "create_tables.py", real_sources())
    before = everything(pg_conn), shape(pg_conn)
    with pytest.raises(psycopg2.errors.DuplicateColumn):
        upgrade(load_config(real_sources()), (*sql_queries.MIGRATIONS, BAD_V3))
    assert (everything(pg_conn), shape(pg_conn)) == before  # not even schema_versions, nor etl_runs.note


def test_the_upgrade_waits_for_a_running_etl(release, real_sources, pg_conn, pg_dsn):
    """The upgrade takes the ETL lock first: while another session holds it, the upgrade waits, then fails
    after [ETL] LOCK_TIMEOUT without changing anything."""
    run_release(release, "create_tables.py", real_sources())
    holder = psycopg2.connect(pg_dsn)
    try:
        with holder.cursor() as cur:
            cur.execute("lock etl_runs")
        with pytest.raises(WarehouseError, match="another etl.py run still held the lock on etl_runs"):
            upgrade(load_config(real_sources()))
    finally:
        holder.rollback()
        holder.close()
    assert not query(pg_conn, "select 1 from information_schema.tables where table_name = 'schema_versions'")
