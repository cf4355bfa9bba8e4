"""The whole toolkit with [CLUSTER] TRANSPORT = data-api, as a user runs it, on the real data: create_cluster.py
(moto's server), create_tables.py, etl.py (its preflight, its COPYs from moto's S3, the merge, the checks, the run's
record), analytics.py in every form, etl.py --preflight's COPY ... NOLOAD and the dry runs, each script a
subprocess whose psycopg2.connect refuses (tests.helpers.dataapi.guarded); the statements reach the Data API stand-in,
which runs them on the embedded PostgreSQL. The star schema is the psycopg2 path's, row for row."""

from __future__ import annotations

import configparser
import json
import os

import boto3
import pytest

from sparkify import localdb
from sparkify.dataapi.params import MAX_STATEMENT_BYTES
from sparkify.pipeline import create_tables, run_etl
from sparkify.reports import build_report
from sql_queries import STAR_TABLES
from tests.helpers.db import postgres_config
from tests.helpers.dwhcfg import DwhCfg
from tests.helpers.scripts import run_guarded

pytestmark = pytest.mark.realdata


def table_rows(query, table: str) -> list[tuple]:
    return query(f"select * from {table} order by 1, 2")


@pytest.fixture
def reference_db(pg_server):
    """A second database on the embedded server for the psycopg2 path (ENGINE = postgres, the local files)."""
    name = "dataapi_reference"
    dsn = localdb.ensure_database(pg_server, name)
    yield dsn
    localdb.drop_database(pg_server, name)


def test_the_whole_toolkit_runs_over_the_data_api(s3_standin, real_data_s3, real_data, reference_db, tmp_path,
                                                  monkeypatch):
    moto_url = real_data_s3.url
    cfg = DwhCfg.data_api().set("DWH", DWH_DB="dev", DWH_DB_USER="awsuser").write(tmp_path / "dwh.cfg")

    # create_cluster.py: not publicly accessible, no ingress rule (TRANSPORT = data-api)
    created = run_guarded("create_cluster.py", cfg, env={**os.environ, "SPARKIFY_DB_PASSWORD": "Passw0rdX1"})
    assert "no ingress rule" in created.stdout, created.stdout
    cluster = boto3.client("redshift", region_name="us-west-2", endpoint_url=moto_url).describe_clusters(
        ClusterIdentifier="test-dwh")["Clusters"][0]
    assert cluster["PubliclyAccessible"] is False
    group_id = cluster["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    group = boto3.client("ec2", region_name="us-west-2", endpoint_url=moto_url).describe_security_groups(
        GroupIds=[group_id])["SecurityGroups"][0]
    assert group["IpPermissions"] == []
    written = configparser.ConfigParser(interpolation=None)
    written.read(cfg)
    assert written["CLUSTER"]["HOST"].startswith("test-dwh.") and written["CLUSTER"]["TRANSPORT"] == "data-api"
    assert "DB_PASSWORD" not in written["CLUSTER"]

    run_guarded("create_tables.py", cfg)
    loaded = run_guarded("etl.py", cfg)
    assert loaded.stdout.startswith("loaded staging_events 8056, staging_songs 1943 (1973 objects"), loaded.stdout
    again = run_guarded("etl.py", cfg)
    assert again.stdout.startswith("loaded nothing new (0 objects; 1973 unchanged skipped)"), again.stdout

    # the same star schema as the psycopg2 path, row for row
    reference = postgres_config(reference_db, log_data=real_data / "log_data",
                                log_jsonpath=real_data / "log_json_path.json", song_data=real_data / "song_data")
    create_tables(reference)
    run_etl(reference, show_progress=False)
    run_etl(reference, show_progress=False)  # (as the Data API's: a second run, with nothing new)
    import psycopg2

    with psycopg2.connect(reference_db) as conn, conn.cursor() as cur:
        for table in STAR_TABLES:
            cur.execute(f"select * from {table} order by 1, 2")
            expected = cur.fetchall()
            assert table_rows(s3_standin.query, table) == expected, table
    conn.close()

    # analytics.py: JSON equal to the psycopg2 path's but for the runs' own record; text, --check, --html
    report = json.loads(run_guarded("analytics.py", cfg, "--json").stdout)
    reference_report = build_report(reference).as_json()
    ran, reference_ran = report.pop("last_run_checks"), reference_report.pop("last_run_checks")
    assert ran["checks"] == reference_ran["checks"] and ran["checks"] and ran["run_id"] == reference_ran["run_id"]
    assert report == reference_report
    text = run_guarded("analytics.py", cfg).stdout
    assert "Most played songs" in text and "Data-quality checks the latest load passed (etl.py run 1" in text
    checked = run_guarded("analytics.py", cfg, "--check")
    assert "FAIL" not in checked.stdout and checked.stdout.count("ok    ") >= 10
    html = tmp_path / "report.html"
    assert "charts" in run_guarded("analytics.py", cfg, "--html", str(html)).stdout and html.stat().st_size > 10_000

    # etl.py --preflight: each COPY with NOLOAD, through the stand-in's emulated COPY
    preflight = run_guarded("etl.py", cfg, "--preflight")
    lines = preflight.stdout.splitlines()
    assert any(line.startswith("ok    cluster.login: statements run on the Redshift cluster test-dwh") for line in lines)
    assert any(line.startswith("ok    copy.staging_events: COPY ... NOLOAD") for line in lines), preflight.stdout
    assert any(line.startswith("ok    copy.staging_songs: COPY ... NOLOAD") for line in lines), preflight.stdout

    # the dry runs name the transport and show the statements
    for name in ("create_tables.py", "etl.py", "analytics.py"):
        dry = run_guarded(name, cfg, "--dry-run").stdout
        assert "transport: the Redshift Data API" in dry and "Redshift cluster test-dwh in us-west-2" in dry, name

    # what the stand-in received: one session per transaction, every statement within the size limit
    executes = s3_standin.calls("ExecuteStatement")
    assert executes and all(len(p["Sql"].encode()) <= MAX_STATEMENT_BYTES for p in executes)
    first = [p for p in executes if "SessionId" not in p]
    assert all(p["Sql"] == "begin" and p["ClusterIdentifier"] == "test-dwh" and p["DbUser"] == "awsuser"
               and p["SessionKeepAliveSeconds"] == 600 for p in first)
    assert {s.status for s in s3_standin.statements.values()} == {"FINISHED"}
    ledger = [p for p in executes if p["Sql"].strip().startswith("insert into loaded_objects")]
    assert len(ledger) >= 2 and sum(len(p["Parameters"]) for p in ledger) == 1973 * 7  # cut to fit, all rows
    assert not any("password" in json.dumps(p).lower() for p in executes)
