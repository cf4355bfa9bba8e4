"""Every run shape against a Redshift Serverless workgroup: the real code paths, with psycopg2 replaced by the
recorder of tests/helpers/recording.py, which refuses what a workgroup refuses (a statement naming an STL, STV,
SVL or SVCS view). Each run must end as it would on a cluster, and nothing may have been refused."""

from __future__ import annotations

import pytest

import sql_queries
from sparkify import pipeline, preflight
from sparkify.errors import LoadError
from sparkify.sqlscan import provisioned_only_views
from sparkify.warehouse import Warehouse
from tests.helpers.dwhcfg import SERVERLESS_HOST, DwhCfg

REDSHIFT_VERSION = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2, Redshift 1.0.77467"


@pytest.fixture
def serverless_cfg(tmp_path):
    """serverless_cfg(manifest_prefix=None) -> the Config of a dwh.cfg whose HOST is a Redshift Serverless
    workgroup's endpoint."""

    def write(manifest_prefix: str | None = None):
        from sparkify.config import load_config

        cfg = DwhCfg.redshift(host=SERVERLESS_HOST).set("S3", MANIFEST_PREFIX=manifest_prefix)
        return load_config(cfg.write(tmp_path / "dwh.cfg"), environ={})

    return write


@pytest.fixture
def workgroup(recorded):
    """The recorder, checked after the test: nothing refused, and no statement sent names a provisioned-only view."""
    yield recorded
    assert recorded.refused == []
    assert [s for s in recorded if provisioned_only_views(s)] == []


def ledger_of(udacity_bucket, prefix: str) -> list[tuple]:
    listed = udacity_bucket.list_objects_v2(Bucket="udacity-dend", Prefix=prefix)["Contents"]
    return [(f"s3://udacity-dend/{o['Key']}", o["Size"], o["ETag"]) for o in listed]


def test_the_stand_in_refuses_what_a_workgroup_refuses(serverless_cfg, redshift_config, recorded):
    """The control: the same statement passes on a cluster's endpoint and is refused on a workgroup's."""
    import psycopg2

    for config, refused in ((redshift_config, False), (serverless_cfg(), True)):
        conn = Warehouse(config).connect()
        try:
            with conn.cursor() as cur:
                if refused:
                    with pytest.raises(psycopg2.errors.FeatureNotSupported, match="stl_load_errors"):
                        cur.execute('select count(*) from "STL_LOAD_ERRORS"')
                else:
                    cur.execute('select count(*) from "STL_LOAD_ERRORS"')
                cur.execute("select 'stl_load_errors' -- a literal and a comment naming stl_query are not names")
        finally:
            conn.close()
    assert recorded.refused == ['select count(*) from "STL_LOAD_ERRORS"']


def test_create_tables(serverless_cfg, workgroup):
    assert set(pipeline.create_tables(serverless_cfg())) >= set(sql_queries.ALL_TABLES)


def test_upgrade_of_a_warehouse_of_the_first_release(serverless_cfg, workgroup):
    workgroup.results["pg_catalog.pg_attribute"] = [(t, c) for t, columns in sql_queries.RELEASE_TABLES[1].items()
                                                    for c in columns]
    found, applied = pipeline.upgrade(serverless_cfg())
    assert found.recognised == 1 and applied == list(sql_queries.MIGRATIONS)


def test_etl_first_load(serverless_cfg, udacity_bucket, workgroup):
    result = pipeline.run_etl(serverless_cfg(), show_progress=False)
    assert set(result.staged) == {"staging_events", "staging_songs"}
    assert sum(s.startswith("copy ") for s in workgroup) == 2
    assert workgroup.count(sql_queries.copy_rejected_count.sql) == 2


def test_etl_daily_run_through_a_manifest(serverless_cfg, udacity_bucket, workgroup):
    udacity_bucket.create_bucket(Bucket="sparkify-ops", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    workgroup.results["where table_name = 'staging_events'"] = ledger_of(udacity_bucket, "log_data")[:1]
    workgroup.results["where table_name = 'staging_songs'"] = ledger_of(udacity_bucket, "song_data")
    workgroup.results["coalesce(max(run_id)"] = [(7,)]
    result = pipeline.run_etl(serverless_cfg("s3://sparkify-ops/manifests"), show_progress=False)
    assert set(result.staged) == {"staging_events"}
    assert [s.split()[1] for s in workgroup if s.startswith("copy ")] == ["staging_events"]


def test_etl_reload(serverless_cfg, udacity_bucket, workgroup):
    workgroup.results["where table_name = 'staging_events'"] = ledger_of(udacity_bucket, "log_data")
    pipeline.run_etl(serverless_cfg(), show_progress=False, reload=True)
    assert any(s.startswith("delete from loaded_objects") for s in workgroup)


def test_etl_with_nothing_new(serverless_cfg, udacity_bucket, workgroup):
    workgroup.results["where table_name = 'staging_events'"] = ledger_of(udacity_bucket, "log_data")
    workgroup.results["where table_name = 'staging_songs'"] = ledger_of(udacity_bucket, "song_data")
    result = pipeline.run_etl(serverless_cfg(), show_progress=False)
    assert result.staged == {} and not any(s.startswith("copy ") for s in workgroup)


def test_etl_whose_copy_fails_reads_its_load_errors(serverless_cfg, udacity_bucket, workgroup):
    workgroup.fail_on = lambda sql: sql.startswith("copy staging_events")
    with pytest.raises(LoadError, match="COPY failed"):
        pipeline.run_etl(serverless_cfg(), show_progress=False)
    assert list(workgroup)[-3:] == ["begin", sql_queries.load_errors.sql, "rollback"]


@pytest.mark.parametrize("with_checks", [False, True], ids=["plain", "--check"])
def test_analytics(serverless_cfg, workgroup, with_checks):
    from sparkify.reports import build_report

    build_report(serverless_cfg(), with_checks=with_checks)
    sent = [s.strip() for s in workgroup]
    assert all(q.sql.strip() in sent for q in sql_queries.analytics_queries.values())


@pytest.mark.parametrize("copy_fails", [False, True], ids=["read", "refused"])
def test_preflight_noload(serverless_cfg, workgroup, copy_fails):
    workgroup.results["select version()"] = [(REDSHIFT_VERSION,)]
    if copy_fails:
        workgroup.fail_on = lambda sql: sql.startswith("copy staging_events")
    findings = preflight.check_noload(serverless_cfg())
    assert [f.level for f in findings] == (["fatal", "ok"] if copy_fails else ["ok", "ok"])
    assert workgroup.count(sql_queries.copy_rejected_count.sql) == (1 if copy_fails else 2)
    assert (sql_queries.load_errors.sql in workgroup) == copy_fails
