"""create_tables.py --upgrade on ENGINE = redshift: its dry run reads the warehouse's version (read only) and
shows the migrations it would apply, and the upgrade sends exactly those statements (psycopg2 replaced by the
recorder of tests/helpers/recording.py, answering as a warehouse of the release of 2026-11-30 would)."""

from __future__ import annotations

import pytest

import create_tables
import sql_queries
from sparkify import dryrun, pipeline
from sparkify.errors import WarehouseError
from sql_queries import When
from tests.helpers.dryrun import statements_of
from tests.helpers.dwhcfg import DwhCfg

SHAPE = "pg_catalog.pg_attribute"


@pytest.fixture
def release_1(recorded):
    """The recorder answers as a warehouse made by the release of 2026-11-30 (no schema_versions)."""
    recorded.results[SHAPE] = [(t, c) for t, columns in sql_queries.RELEASE_TABLES[1].items() for c in columns]
    return recorded


def test_the_dry_run_of_an_upgrade_shows_the_migrations(redshift_cfg, release_1, capsys, frozen_clock):
    assert create_tables.main(["--config", str(redshift_cfg), "--upgrade", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- create_tables.py --dry-run: the ")
    assert (f"(from schema version 1 ({sql_queries.DESCRIPTIONS[1]}; recognised by its tables: it records no version)"
            f" to schema version {sql_queries.SCHEMA_VERSION})") in out
    assert [s.split()[0] for s in release_1] == ["begin", "select", "rollback"]  # it only read the catalog
    stmts = statements_of(out)
    assert stmts[:5] == ["begin", "set statement_timeout = 2000", "lock etl_runs", "set statement_timeout = 0",
                         sql_queries.schema_tables_select.sql.strip()]
    assert stmts[5:-2] == [step.sql.strip() for m in sql_queries.MIGRATIONS for step in m.steps
                           if When.POSTGRES not in step.when]  # (those are PostgreSQL's only)
    assert not any(s.startswith("alter table staging_") for s in stmts)
    assert "diststyle all" in stmts[5]  # Redshift's DDL, untranslated
    assert stmts[-2] == ("insert into schema_versions (version, description, how, applied_at)\nvalues "
                         + ", ".join(f"({v}, '{sql_queries.DESCRIPTIONS[v]}', '{how}', "
                                     f"'{frozen_clock.isoformat()}'::timestamp)"
                                     for v, how in [(1, "recognised"), *((m.version, "upgraded")
                                                                         for m in sql_queries.MIGRATIONS)]))
    assert stmts[-1] == "commit"
    assert f"-- schema version 2: {sql_queries.schema_v2.description}" in out


def test_the_upgrade_sends_its_dry_run(redshift_config, release_1, frozen_clock):
    found, applied = pipeline.upgrade(redshift_config)
    sent = list(release_1)
    assert found.recognised == 1 and applied == list(sql_queries.MIGRATIONS)
    assert sent == [s.sql.strip() for s in dryrun.upgrade_dry_run(redshift_config).statements]
    assert sent[-1] == "commit"


def test_a_current_warehouse_has_nothing_to_upgrade(redshift_config, recorded, frozen_clock):
    """(The recorder answers as a current warehouse by default.)"""
    run = dryrun.upgrade_dry_run(redshift_config)
    assert run.summary == f"the warehouse is at schema version {sql_queries.SCHEMA_VERSION}: nothing to change"
    recorded.clear()
    _, applied = pipeline.upgrade(redshift_config)
    assert applied == [] and list(recorded) == [s.sql.strip() for s in run.statements]
    assert [s.split()[0] for s in recorded] == ["begin", "set", "lock", "set", "select", "select", "commit"]


def test_a_dry_run_that_cannot_connect_shows_the_upgrade_of_the_release(tmp_path, capsys):
    cfg = DwhCfg.redshift(host="no-such-cluster.invalid").write(tmp_path / "dwh.cfg")
    assert create_tables.main(["--config", str(cfg), "--upgrade", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-- NOTE: the warehouse's schema could not be read (cannot connect to the redshift at no-such-cluster" in out
    assert "shown for a warehouse at schema version 1 (" in out and "create table schema_versions" in out


def test_the_dry_run_refuses_what_the_upgrade_refuses(redshift_cfg, redshift_config, recorded, capsys):
    recorded.results[SHAPE] = [("songplays", "songplay_id"), ("songplays", "start_time")]
    redshift_cfg.chmod(0o600)  # (no warning about a password others can read)
    assert create_tables.main(["--config", str(redshift_cfg), "--upgrade", "--dry-run", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "tables match no schema version this toolkit knows (compared with version 1: missing tables" in captured.err
    with pytest.raises(WarehouseError, match="match no schema version"):
        pipeline.upgrade(redshift_config)
    assert not any(s.startswith(("create", "insert")) for s in recorded)
