"""The Data API stand-in refuses what the Data API refuses and answers in its shapes, through boto3's own client
(which validates every request against the service model): sessions (unknown, expired, busy), the size limit,
parameters, the warehouse's names, cancelling, result pages and typed fields, an abandoned session's rollback."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError

CLUSTER = {"ClusterIdentifier": "test-dwh", "Database": "dev", "DbUser": "awsuser"}


@pytest.fixture
def client(data_api_env):
    return boto3.client("redshift-data", region_name="us-west-2")


def wait(client, statement_id: str) -> dict:
    for _ in range(400):
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        time.sleep(0.02)
    raise AssertionError(f"statement {statement_id} did not finish")


def session(client, keepalive: int = 60) -> str:
    started = client.execute_statement(Sql="begin", SessionKeepAliveSeconds=keepalive, **CLUSTER)
    assert wait(client, started["Id"])["Status"] == "FINISHED"
    return started["SessionId"]


def refused(call, code: str, match: str = "") -> str:
    with pytest.raises(ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == code, exc.value.response
    assert match in exc.value.response["Error"]["Message"]
    return exc.value.response["Error"]["Message"]


def test_an_unknown_session_is_refused(client):
    refused(lambda: client.execute_statement(Sql="select 1", SessionId="12345678-1234-1234-1234-123456789012"),
            "ResourceNotFoundException", "does not exist")


def test_an_expired_session_is_refused_and_its_open_transaction_rolled_back(client, standin):
    standin.query("create table t (a int)")
    held = "select count(*) from pg_locks where relation = 't'::regclass and mode = 'AccessExclusiveLock'"
    sid = session(client, keepalive=30)
    wait(client, client.execute_statement(Sql="insert into t values (1)", SessionId=sid)["Id"])
    wait(client, client.execute_statement(Sql="lock t", SessionId=sid)["Id"])
    standin.advance(29)
    assert wait(client, client.execute_statement(Sql="select 1", SessionId=sid)["Id"])["Status"] == "FINISHED"
    assert standin.query(held) == [(1,)] and standin.query("select count(*) from pg_locks where granted "
                                                          "and locktype = 'transactionid'")  # still open
    standin.advance(31)  # idle for longer than its keep-alive
    refused(lambda: client.execute_statement(Sql="commit", SessionId=sid), "ValidationException", "expired")
    assert standin.query(held) == [(0,)]  # its transaction ended: rolled back, its lock released
    assert standin.query("select count(*) from t") == [(0,)]


def test_a_session_runs_one_statement_at_a_time(client, standin):
    sid = session(client)
    pause = standin.pause_on("select 41")
    first = client.execute_statement(Sql="select 41", SessionId=sid)
    assert pause.reached.wait(10)
    assert client.describe_statement(Id=first["Id"])["Status"] == "STARTED"
    refused(lambda: client.execute_statement(Sql="select 42", SessionId=sid), "ValidationException", "busy")
    pause.release()
    assert wait(client, first["Id"])["Status"] == "FINISHED"
    assert wait(client, client.execute_statement(Sql="select 42", SessionId=sid)["Id"])["Status"] == "FINISHED"


def test_a_statement_over_the_size_limit_is_refused(client):
    refused(lambda: client.execute_statement(Sql="select '" + "x" * 100_000 + "'", **CLUSTER),
            "ValidationException", "larger than 100kB")
    fits = "select length('" + "x" * (100_000 - 20) + "')"
    assert wait(client, client.execute_statement(Sql=fits, **CLUSTER)["Id"])["Status"] == "FINISHED"


@pytest.mark.parametrize("request_, code, match", [
    ({"ClusterIdentifier": "other", "Database": "dev", "DbUser": "awsuser"}, "ResourceNotFoundException",
     "Cluster other not found"),
    ({"ClusterIdentifier": "test-dwh", "Database": "dev"}, "ValidationException", "DbUser or SecretArn"),
    ({"WorkgroupName": "wg1", "Database": "dev"}, "ResourceNotFoundException", "Workgroup wg1"),
    ({"ClusterIdentifier": "test-dwh", "WorkgroupName": "wg1", "Database": "dev", "DbUser": "u"},
     "ValidationException", "either"),
])
def test_the_warehouse_must_be_named_as_the_data_api_requires(client, request_, code, match):
    refused(lambda: client.execute_statement(Sql="select 1", **request_), code, match)


def test_a_session_id_cannot_come_with_the_warehouses_names(client):
    sid = session(client)
    refused(lambda: client.execute_statement(Sql="select 1", SessionId=sid, Database="dev"), "ValidationException",
            "cannot be combined with Database")


def test_parameters_must_match_the_text(client):
    refused(lambda: client.execute_statement(Sql="select :a", Parameters=[{"name": "b", "value": "1"}], **CLUSTER),
            "ValidationException", "not given: a")
    ok = client.execute_statement(Sql="select :a::int + 1 as n, 'x:y' as t -- :c",
                                  Parameters=[{"name": "a", "value": "41"}], **CLUSTER)
    assert wait(client, ok["Id"])["Status"] == "FINISHED"
    assert client.get_statement_result(Id=ok["Id"])["Records"] == [[{"longValue": 42}, {"stringValue": "x:y"}]]


def test_only_a_running_statement_can_be_cancelled(client, standin):
    done = client.execute_statement(Sql="select 1", **CLUSTER)
    wait(client, done["Id"])
    refused(lambda: client.cancel_statement(Id=done["Id"]), "ValidationException", "already in FINISHED state")
    sid = session(client)
    pause = standin.pause_on("select pg_sleep(30)")
    running = client.execute_statement(Sql="select pg_sleep(30)", SessionId=sid)
    assert pause.reached.wait(10)
    assert client.cancel_statement(Id=running["Id"])["Status"] is True
    assert wait(client, running["Id"])["Status"] == "ABORTED"


def test_results_come_in_pages_of_typed_fields(client, standin):
    standin.page_rows = 2
    st = client.execute_statement(Sql="""
        select g as n, g * 1.5::float8 as x, (g * 1.25)::numeric(6, 2) as d, g % 2 = 0 as even,
               'r' || g as name, case when g = 3 then null else g end as maybe,
               timestamp '2018-11-30 23:59:59.120000' + g * interval '1 second' as at, date '2018-11-30' as day
        from generate_series(1, 5) g order by g""", **CLUSTER)
    described = wait(client, st["Id"])
    assert described["HasResultSet"] is True and described["ResultRows"] == 5
    pages, token = [], None
    while True:
        page = client.get_statement_result(Id=st["Id"], **({"NextToken": token} if token else {}))
        pages.append(page["Records"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1] and page["TotalNumRows"] == 5
    assert [c["typeName"] for c in page["ColumnMetadata"]] == ["int4", "float8", "numeric", "bool", "varchar", "int4",
                                                              "timestamp", "date"]
    assert pages[1][0] == [{"longValue": 3}, {"doubleValue": 4.5}, {"stringValue": "3.75"}, {"booleanValue": False},
                           {"stringValue": "r3"}, {"isNull": True}, {"stringValue": "2018-12-01 00:00:02.12"},
                           {"stringValue": "2018-11-30"}]
    refused(lambda: client.get_statement_result(Id=st["Id"], NextToken="bm9wZQ=="), "ValidationException", "NextToken")


def test_a_result_row_over_64_kb_fails_the_statement(client):
    st = client.execute_statement(Sql="select repeat('x', 70000)", **CLUSTER)
    described = wait(client, st["Id"])
    assert described["Status"] == "FAILED" and "64 KB" in described["Error"]


def test_a_failed_statement_leaves_the_transaction_aborted_until_rollback(client):
    sid = session(client)
    bad = wait(client, client.execute_statement(Sql="select * from nowhere", SessionId=sid)["Id"])
    assert bad["Status"] == "FAILED" and bad["Error"] == 'ERROR: relation "nowhere" does not exist'
    after = wait(client, client.execute_statement(Sql="select 1", SessionId=sid)["Id"])
    assert after["Status"] == "FAILED" and "current transaction is aborted" in after["Error"]
    assert wait(client, client.execute_statement(Sql="rollback", SessionId=sid)["Id"])["Status"] == "FINISHED"
    assert wait(client, client.execute_statement(Sql="select 1", SessionId=sid)["Id"])["Status"] == "FINISHED"
