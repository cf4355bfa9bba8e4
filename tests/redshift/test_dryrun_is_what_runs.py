"""The dry run shows exactly what runs: the real code paths on ENGINE = redshift, with psycopg2.connect replaced by
a recorder (tests/helpers/recording.py), send the dry run's statements, in the same order.

This is what keeps the dry run honest where the run does more than send what the steps render
(Warehouse.acquire_etl_lock, checks.run_checks, a failing COPY): if any of them changes, these tests fail.
"""

from __future__ import annotations

import pytest

import sql_queries
from sparkify import dryrun, pipeline
from sparkify.errors import LoadError
from sparkify.warehouse import Warehouse, lock_statements
from tests.helpers.dwhcfg import DwhCfg


def sqls(run: dryrun.DryRun) -> list[str]:
    return [s.sql.strip() for s in run.statements]


def test_create_tables_sends_its_dry_run(redshift_config, recorded, frozen_clock):
    counts = pipeline.create_tables(redshift_config)
    assert counts == {t: 0 for t in counts}
    assert list(recorded) == sqls(dryrun.create_tables_dry_run(redshift_config))


def test_etl_sends_its_dry_run(redshift_config, udacity_bucket, recorded, frozen_clock):
    report = pipeline.run_etl(redshift_config, show_progress=False)
    assert list(recorded) == sqls(dryrun.etl_dry_run(redshift_config))
    assert "'2018-11-30T23:59:59.123456'::timestamp" in "\n".join(recorded)
    assert len(recorded.connects) == 2  # the run's one transaction, then the dry run's read-only look
    assert set(report.timings) >= {"lock", "objects", "copy staging_events", "copy staging_songs", "ledger",
                                   "transform", "checks"}
    # the benchmark's profile: every step of the plan under its statement's name, in the order they ran
    steps = list(report.steps)
    assert steps[0] == "etl_lock" and "songplay_first_insert" in steps and "run_check_groups" in steps
    assert steps.index("songplay_first_insert") < steps.index("run_check_groups")
    assert all(s >= 0 for s in report.steps.values())
    assert sum(report.steps.values()) <= report.timings["total"]


def test_etl_with_a_ledger_and_a_manifest_prefix_sends_its_dry_run(tmp_path, udacity_bucket, recorded,
                                                                   frozen_clock):
    """Objects the ledger has are skipped, the new ones go through the run's manifest, which the run writes to
    S3 with exactly those objects (mandatory) and the dry run does not."""
    import json

    from sparkify.config import load_config

    head = udacity_bucket.head_object(Bucket="udacity-dend", Key="log_data/2018/11/2018-11-01-events.json")
    recorded.results["where table_name = 'staging_events'"] = [
        ("s3://udacity-dend/log_data/2018/11/2018-11-01-events.json", head["ContentLength"], head["ETag"])]
    recorded.results["coalesce(max(run_id)"] = [(7,)]
    udacity_bucket.create_bucket(Bucket="sparkify-ops", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    cfg = DwhCfg.redshift().set("S3", MANIFEST_PREFIX="s3://sparkify-ops/manifests").write(tmp_path / "dwh.cfg")
    config = load_config(cfg, environ={})
    pipeline.run_etl(config, show_progress=False)
    sent = list(recorded)
    manifests = udacity_bucket.list_objects_v2(Bucket="sparkify-ops")["Contents"]
    assert [m["Key"] for m in manifests] == ["manifests/run-000007/staging_events.manifest",
                                            "manifests/run-000007/staging_songs.manifest"]
    body = json.loads(udacity_bucket.get_object(Bucket="sparkify-ops", Key=manifests[0]["Key"])["Body"].read())
    assert body == {"entries": [{"url": "s3://udacity-dend/log_data/2018/11/2018-11-02-events.json",
                                 "mandatory": True, "meta": {"content_length": head["ContentLength"]}}]}
    udacity_bucket.delete_object(Bucket="sparkify-ops", Key=manifests[0]["Key"])
    assert sent == sqls(dryrun.etl_dry_run(config))
    assert len(udacity_bucket.list_objects_v2(Bucket="sparkify-ops")["Contents"]) == 1  # the dry run wrote none
    assert any("from 's3://sparkify-ops/manifests/run-000007/staging_events.manifest'" in s for s in sent)


@pytest.mark.parametrize("flags", [False, True], ids=["plain", "with checks"])
def test_analytics_sends_its_dry_run(flags, redshift_config, recorded):
    from sparkify.reports import build_report

    build_report(redshift_config, with_checks=flags)
    assert list(recorded) == sqls(dryrun.analytics_dry_run(redshift_config, with_checks=flags))


def test_a_failed_copy_rolls_back_then_reads_its_load_errors(redshift_config, udacity_bucket, recorded):
    """Redshift has no SAVEPOINT: the aborted transaction is rolled back, then sys_load_error_detail is read in
    the same session; nothing after the COPY runs, and the statements are the dry run's 'other paths'."""
    recorded.fail_on = lambda sql: sql.startswith("copy staging_events")
    with pytest.raises(LoadError, match="staging_events: COPY failed: Load into table 'staging_events' failed"):
        pipeline.run_etl(redshift_config, show_progress=False)
    sent = list(recorded)
    expected = sqls(dryrun.etl_dry_run(redshift_config))
    upto = next(i for i, s in enumerate(expected) if s.startswith("copy staging_events"))
    assert sent == [*expected[:upto + 1], "rollback", "begin", sql_queries.load_errors.sql, "rollback"]
    assert not any("savepoint" in s for s in recorded)
    assert sql_queries.load_errors.sql in [s.sql for s in dryrun.conditional_statements(redshift_config)]


def test_the_lock_retry_sends_the_statements_the_dry_run_lists(redshift_config, recorded):
    """A held lock: the second attempt's statements are the ones listed for the grammar test."""
    import psycopg2.errors

    attempts = []

    def fail_first_lock(sql):
        if sql == "lock etl_runs":
            attempts.append(sql)
            if len(attempts) == 1:
                raise psycopg2.errors.QueryCanceled("canceling statement due to statement timeout")
        return False

    recorded.fail_on = fail_first_lock
    wh = Warehouse(redshift_config)
    conn = wh.connect()
    wh.acquire_etl_lock(conn, redshift_config.lock_timeout)
    retry = [s.sql for s in dryrun.conditional_statements(redshift_config)
             if s.statement in sql_queries.etl_lock.attempt]
    assert list(recorded) == ["begin", *lock_statements()[:2], "rollback", "begin", *retry]
