"""sparkify.dataapi's connection against the stand-in (and, for the service's refusals, botocore's Stubber): typed
rows page by page, progress while a statement runs (silenced by -q), failures as the database errors they are,
the size limit checked before sending, the service's limits retried, an ended session reported, no connection
to HOST:DB_PORT, and the dry run is exactly what the run sends over the Data API."""

from __future__ import annotations

import re
import socket
import threading
from datetime import date, datetime
from decimal import Decimal

import pytest

import analytics
import create_tables
import sql_queries
from sparkify.config import load_config
from sparkify.dataapi import connection as dataapi
from sparkify.dataapi.connection import DataApiConnection
from sparkify.dataapi.errors import SessionEnded, StatementTooLarge
from sparkify.errors import WarehouseError
from tests.helpers.dwhcfg import DwhCfg


@pytest.fixture
def config(data_api_cfg, no_psycopg2_connect):
    return load_config(data_api_cfg, environ={})


def test_rows_come_typed_page_by_page(config, standin):
    standin.page_rows = 3
    conn = DataApiConnection(config)
    cur = conn.cursor()
    cur.execute("""select g as n, (g * 1.25)::numeric(6, 2) as d, g / 2.0::float8 as x, g % 2 = 0 as even,
                          timestamp '2018-11-30 23:59:59.123456' as at, date '2018-11-30' as day,
                          case when g > 4 then null else 'r' || g end as name
                   from generate_series(1, 7) g order by g""", name="typed")
    assert [d[0] for d in cur.description] == ["n", "d", "x", "even", "at", "day", "name"]
    assert cur.rowcount == 7 and cur.fetchone() == (1, Decimal("1.25"), 0.5, False,
                                                    datetime(2018, 11, 30, 23, 59, 59, 123456), date(2018, 11, 30), "r1")
    assert [r[0] for r in cur.fetchall()] == [2, 3, 4, 5, 6, 7] and cur.fetchone() is None
    assert len(standin.calls("GetStatementResult")) == 3  # 7 rows in pages of 3
    cur.execute("create temp table t (a int)", name="create t")
    cur.execute("insert into t select generate_series(1, 4)", name="insert t")
    assert cur.rowcount == 4 and cur.description is None  # rows changed, no result set
    conn.commit()
    assert [p["StatementName"] for p in standin.calls("ExecuteStatement")] == [
        "sparkify begin", "sparkify typed", "sparkify create t", "sparkify insert t", "sparkify commit"]


def test_progress_while_a_statement_runs_and_quiet_silences_it(data_api_cfg, standin, monkeypatch, capsys):
    monkeypatch.setattr(dataapi, "PROGRESS_EVERY_S", 0.2)
    assert create_tables.main(["--config", str(data_api_cfg), "--quiet"]) == 0

    def run(*flags) -> str:
        pause = standin.pause_on("from report_sessions")
        threading.Timer(1.5, pause.release).start()
        assert analytics.main(["--config", str(data_api_cfg), "--json", *flags]) == 0
        return capsys.readouterr().err

    noisy = re.findall(r" INFO (\w+): running on Redshift for \d s \(STARTED\)", run())
    assert len(noisy) >= 2 and set(noisy) == {"session_summary"}  # lines while it runs, naming the statement
    assert hasattr(sql_queries, "session_summary")
    assert "running on Redshift" not in run("--quiet")


def test_a_warehouse_without_tables_is_named_with_the_fix(data_api_cfg, standin, capsys):
    assert analytics.main(["--config", str(data_api_cfg)]) == 1
    err = capsys.readouterr().err
    assert "over the Data API has none of the toolkit's tables: run create_tables.py" in err


def test_a_statement_over_the_limit_is_refused_before_it_is_sent(config, standin):
    conn = DataApiConnection(config)
    conn.cursor().execute("select 1", name="first")
    with pytest.raises(StatementTooLarge, match="too_big: the statement is 100,0"):
        conn.cursor().execute("select %(v)s", {"v": "x" * 100_000}, name="too_big")
    assert all(len(p["Sql"]) < 1000 for p in standin.calls("ExecuteStatement"))


def test_an_ended_session_is_reported_and_its_rollback_is_a_no_op(config, standin):
    conn = DataApiConnection(config)
    conn.cursor().execute("select 1", name="first")
    standin.advance(dataapi.SESSION_KEEPALIVE_S + 1)
    with pytest.raises(SessionEnded, match="second: the Data API session of this transaction has ended"):
        conn.cursor().execute("select 2", name="second")
    conn.rollback()
    assert standin.executed() == ["begin", "select 1", "select 2"]


def test_the_services_limits_are_retried_with_backoff(config):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("redshift-data", region_name="us-west-2")
    sleeps: list[float] = []
    stub = Stubber(client)
    for code in ("ActiveStatementsExceededException", "ActiveSessionsExceededException"):
        stub.add_client_error("execute_statement", code, "limit", 400)
    sid, sql_id = "12345678-1234-1234-1234-123456789012", "87654321-1234-1234-1234-123456789012"
    stub.add_response("execute_statement", {"Id": sql_id, "SessionId": sid})
    stub.add_response("describe_statement", {"Id": sql_id, "Status": "STARTED"})
    stub.add_response("describe_statement", {"Id": sql_id, "Status": "FINISHED", "HasResultSet": False})
    stub.add_client_error("execute_statement", "ValidationException", "Request is invalid", 400)
    with stub:
        conn = DataApiConnection(config, client=client, sleep=sleeps.append)
        conn.autocommit = True
        conn.cursor().execute("select 1", name="first")
        with pytest.raises(WarehouseError, match="running second on Redshift cluster test-dwh"):
            conn.cursor().execute("select 2", name="second")
    assert sleeps == [1.0, 2.0, dataapi.POLL_FIRST_S]


def test_nothing_connects_to_host_and_port(tmp_path, standin, data_api_env, no_psycopg2_connect):
    """[CLUSTER] HOST:DB_PORT is a listening socket here (the warehouse comes from [DWH]): nothing reaches it."""
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen()
    trap.settimeout(0.5)
    cfg = DwhCfg.data_api(host="127.0.0.1", port=trap.getsockname()[1], manifest_prefix=None)
    cfg = cfg.write(tmp_path / "dwh.cfg")
    assert create_tables.main(["--config", str(cfg), "--quiet"]) == 0
    assert analytics.main(["--config", str(cfg), "--quiet", "--check"]) == 0
    with pytest.raises(TimeoutError):
        trap.accept()
    trap.close()
    assert not no_psycopg2_connect and standin.calls("ExecuteStatement")


def test_the_dry_run_is_what_the_run_sends_over_the_data_api(tmp_path, s3_standin, no_psycopg2_connect, monkeypatch):
    from sparkify import dryrun, pipeline
    from sparkify.dataapi.params import quote
    from sparkify.pipeline import state
    from sparkify.reports import build_report
    from tests.helpers.dataapi.sqltext import named_parameters

    monkeypatch.setattr(state, "utcnow", lambda: datetime(2018, 11, 30, 23, 59, 59, 123456))
    cfg = DwhCfg.data_api(log_prefix="small/log_data", song_prefix="small/song_data").write(tmp_path / "dwh.cfg")
    config = load_config(cfg, environ={})
    pipeline.create_tables(config)

    def run_record(text: str) -> str:
        """(the counts a run records are its own: the dry run, which counts nothing, shows zeros)"""
        return text.split("values")[0] if text.startswith("insert into etl_runs") else text

    def received() -> list[str]:
        out = []
        for p in s3_standin.calls("ExecuteStatement"):
            values, text = {v["name"]: v["value"] for v in p.get("Parameters", [])}, p["Sql"]
            for start, end, name in reversed(named_parameters(text)):
                text = text[:start] + quote(values[name]) + text[end:]
            out.append(text.strip())
        return out

    for run in (dryrun.create_tables_dry_run(config), dryrun.analytics_dry_run(config, with_checks=True)):
        s3_standin.requests.clear()
        if run.prog == "create_tables.py":
            pipeline.create_tables(config)
        else:
            build_report(config, with_checks=True)
        assert received() == [s.sql for s in run.statements], run.prog
    expected = dryrun.etl_dry_run(config)
    s3_standin.requests.clear()
    pipeline.run_etl(config, show_progress=False)
    assert [run_record(s) for s in received()] == [run_record(s.sql) for s in expected.statements]
    assert any("'2018-11-30 23:59:59.123456'" in s for s in received())


def test_a_workgroup_is_named_without_a_database_user(tmp_path, pg_dsn, monkeypatch, no_psycopg2_connect):
    """Redshift Serverless: WorkgroupName and Database (the user is the caller's IAM identity)."""
    from tests.helpers.dataapi.standin import DataApiStandIn

    server = DataApiStandIn(pg_dsn, database="dev", cluster=None, workgroup="test-dwh")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", server.url)
        cfg = DwhCfg.data_api(manifest_prefix=None).set("DWH", DWH_MODE="serverless").write(tmp_path / "dwh.cfg")
        cfg.write_text(cfg.read_text().replace("DB_USER = awsuser", ""))
        assert create_tables.main(["--config", str(cfg), "--quiet"]) == 0
        first, *rest = server.calls("ExecuteStatement")
        assert {k: first[k] for k in first if k not in ("Sql", "StatementName", "ClientToken")} == {
            "WorkgroupName": "test-dwh", "Database": "dev", "SessionKeepAliveSeconds": dataapi.SESSION_KEEPALIVE_S}
        target = {"WorkgroupName", "ClusterIdentifier", "DbUser", "Database", "SecretArn", "SessionKeepAliveSeconds"}
        assert rest and all("SessionId" in p and not target & set(p) for p in rest)
    finally:
        server.close()
