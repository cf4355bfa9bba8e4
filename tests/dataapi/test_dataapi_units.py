"""The pure parts of TRANSPORT = data-api: parameters as the Data API takes them, typed result fields, failed
statements as database errors, statements cut to the size limit, the configuration's rules, the requests'
target, and the stand-in's reading of the toolkit's text (named parameters, the COPY renderer's output)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg2.errors
import pytest

import sql_queries
from sparkify.config import load_config
from sparkify.copy.redshift import render_copy
from sparkify.copy.spec import CopySpec
from sparkify.dataapi.connection import Target, target_of
from sparkify.dataapi.errors import DataApiError, statement_error
from sparkify.dataapi.params import MAX_STATEMENT_BYTES, render_named, statement_bytes, to_named
from sparkify.dataapi.results import field_value, parse_timestamp
from sparkify.errors import ConfigError
from sparkify.pipeline.steps import chunks_within
from tests.helpers.dataapi.sqltext import ParameterError, bind_named, named_parameters, parse_copy
from tests.helpers.dwhcfg import DwhCfg

T = datetime(2018, 11, 30, 23, 59, 59, 123456)

# --------------------------------------------------------------------------------------------------
# parameters


@pytest.mark.parametrize("sql, params, text, parameters", [
    ("select 1", None, "select 1", []),
    ("where t = %(t)s", {"t": "staging_events"}, "where t = :t", [{"name": "t", "value": "staging_events"}]),
    ("where t = %(t)s and u = %(t)s", {"t": "x"}, "where t = :t and u = :t", [{"name": "t", "value": "x"}]),
    ("in %(urls)s", {"urls": ("a", "b")}, "in (:urls_1, :urls_2)",
     [{"name": "urls_1", "value": "a"}, {"name": "urls_2", "value": "b"}]),
    ("values (%s, %s, %s, %s)", (7, None, "", True), "values (:p1, null, '', :p4)",
     [{"name": "p1", "value": "7"}, {"name": "p4", "value": "true"}]),
    ("values (%s, %s, %s)", (T, date(2018, 11, 30), Decimal("1.50")), "values (:p1, :p2, :p3)",
     [{"name": "p1", "value": "2018-11-30 23:59:59.123456"}, {"name": "p2", "value": "2018-11-30"},
      {"name": "p3", "value": "1.50"}]),
    ("values (%s)", (datetime(2018, 11, 30, 1, 2, 3),), "values (:p1)", [{"name": "p1", "value": "2018-11-30 01:02:03.000000"}]),
    ("like 'a%%' and x = %(x)s", {"x": 2.5}, "like 'a%' and x = :x", [{"name": "x", "value": "2.5"}]),
    ("it's 'it''s %% :x' -- %(v)s", {"v": "it's"}, "it's 'it''s % :x' -- :v", [{"name": "v", "value": "it's"}]),
])
def test_psycopg2_parameters_become_named_data_api_parameters(sql, params, text, parameters):
    assert to_named(sql, params) == (text, parameters)


def test_a_value_never_becomes_sql_text():
    hostile = "x'); drop table songs; --"
    text, parameters = to_named("where a = %(a)s", {"a": hostile})
    assert hostile not in text and parameters == [{"name": "a", "value": hostile}]
    assert render_named("where a = %(a)s", {"a": hostile}) == "where a = 'x''); drop table songs; --'"
    assert render_named("where a = %(a)s", {"a": "c:\\d"}) == "where a = 'c:\\\\d'"


@pytest.mark.parametrize("sql, params", [
    ("in %(urls)s", {"urls": ()}),  # an empty IN list is no SQL
    ("values (%(a)s)", ("x",)),  # named placeholders need a mapping
    ("values (%s)", {"a": 1}),  # %s needs a sequence
    ("values (%s)", ([1],)),  # not a value the Data API can take
])
def test_parameters_that_cannot_be_sent_are_refused(sql, params):
    with pytest.raises((ValueError, TypeError)):
        to_named(sql, params)


def test_the_statement_size_counts_the_text_and_the_values():
    assert statement_bytes("values (%s, %s)", ("ab", "é")) == len("values (:p1, :p2)") + 2 + 2


def test_the_stand_in_reads_back_the_named_parameters_the_toolkit_sends():
    sql = "insert into t values (%s, %s, %s) -- :not_a_parameter\n/* :nor */ select 'a:b', x::int, %(k)s"
    with pytest.raises(ValueError):
        to_named(sql, (1, 2, 3))  # (mixed placeholders: the toolkit never sends them)
    text, parameters = to_named("insert into t values (%s, %s, %s) -- :c\n/* :d */ select 'a:b', 1::int", (1, "x", T))
    assert [name for _, _, name in named_parameters(text)] == ["p1", "p2", "p3"]
    bound, values = bind_named(text, parameters)
    assert bound.startswith("insert into t values (%(p1)s, %(p2)s, %(p3)s)") and "'a:b', 1::int" in bound
    assert values == {"p1": "1", "p2": "x", "p3": "2018-11-30 23:59:59.123456"}
    with pytest.raises(ParameterError, match="not given: p3"):
        bind_named(text, parameters[:2])
    with pytest.raises(ParameterError, match="not used in the statement: extra"):
        bind_named(text, [*parameters, {"name": "extra", "value": "1"}])


# --------------------------------------------------------------------------------------------------
# results


@pytest.mark.parametrize("field, type_name, value", [
    ({"isNull": True}, "int8", None),
    ({"longValue": 42}, "int8", 42),
    ({"doubleValue": 2.5}, "float8", 2.5),
    ({"booleanValue": True}, "bool", True),
    ({"stringValue": "12.50"}, "numeric", Decimal("12.50")),
    ({"stringValue": "2022-02-22 00:00:00.0"}, "timestamp", datetime(2022, 2, 22)),
    ({"stringValue": "2018-11-01 21:01:46.796"}, "timestamp", datetime(2018, 11, 1, 21, 1, 46, 796000)),
    ({"stringValue": "2018-11-30 23:59:59.123456"}, "timestamp", T),
    ({"stringValue": "2018-11-01 21:01:46.796+00"}, "timestamptz",
     datetime(2018, 11, 1, 21, 1, 46, 796000, tzinfo=UTC)),
    ({"stringValue": "2018-11-30"}, "date", date(2018, 11, 30)),
    ({"stringValue": "Mozilla"}, "varchar", "Mozilla"),
    ({"stringValue": "12.50"}, "varchar", "12.50"),
])
def test_result_fields_are_typed_as_psycopg2_types_them(field, type_name, value):
    assert field_value(field, type_name) == value


def test_timestamps_keep_their_microseconds_and_offsets():
    assert parse_timestamp("2018-11-30 23:59:59.1234569") == T  # (nanoseconds: cut to microseconds)
    assert parse_timestamp("2018-11-30T23:59:59+05:30").utcoffset() == timedelta(hours=5, minutes=30)
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


# --------------------------------------------------------------------------------------------------
# failed statements


@pytest.mark.parametrize("status, error, kind", [
    ("FAILED", 'ERROR: relation "etl_runs" does not exist', psycopg2.errors.UndefinedTable),
    ("FAILED", "ERROR: canceling statement due to statement timeout", psycopg2.errors.QueryCanceled),
    ("ABORTED", "Query cancelled on user's request", psycopg2.errors.QueryCanceled),
    ("FAILED", 'ERROR: column "x" does not exist\nDETAIL: more', psycopg2.DatabaseError),
])
def test_a_failed_statement_is_the_database_error_it_is_named_in_one_line(status, error, kind):
    exc = statement_error("lock_etl_runs", {"Id": "abc", "Status": status, "Error": error})
    assert isinstance(exc, kind) and isinstance(exc, DataApiError) and exc.statement == "lock_etl_runs"
    assert str(exc).startswith("lock_etl_runs ") and "\n" not in str(exc) and error.splitlines()[0] in str(exc)


# --------------------------------------------------------------------------------------------------
# the size limit


@pytest.mark.parametrize("weights, size, limit", [
    ([10] * 25, 10, 1000), ([10] * 25, 100, 95), ([1, 90, 1, 1, 90, 5], 100, 92), ([5] * 3, 2, 5), ([], 3, 10),
])
def test_chunks_are_as_long_as_fit_and_keep_every_item_in_order(weights, size, limit):
    out = chunks_within(weights, size, sum, limit)
    assert [w for chunk in out for w in chunk] == weights
    assert all(len(c) <= size and sum(c) <= limit for c in out)
    for chunk, following in itertools.pairwise(out):  # greedy: the next item would not have fit
        assert len(chunk) == size or sum(chunk) + following[0] > limit
    assert chunks_within(weights, size, sum, limit, estimate=lambda w: w) == out  # (an exact estimate: the same)
    over = chunks_within(weights, size, sum, limit, estimate=lambda w: w + 1)  # (a generous one: shorter chunks)
    assert [w for chunk in over for w in chunk] == weights and all(sum(c) <= limit for c in over)


def test_an_item_over_the_limit_alone_is_refused():
    with pytest.raises(ValueError, match="over the limit"):
        chunks_within([1, 50, 1], 10, sum, 20)


def test_the_ledger_rows_are_cut_to_the_data_api_limit(tmp_path, monkeypatch):
    """20,000 objects with long keys: every ledger INSERT and DELETE fits, and none is lost."""
    from sparkify import ledger
    from sparkify.pipeline.load import LedgerInsertStep
    from sparkify.pipeline.state import RunState
    from sparkify.pipeline.steps import StatementStep

    config = load_config(DwhCfg.data_api().write(tmp_path / "dwh.cfg"), environ={})
    state = RunState(config, reload=True, run_id=7, loaded_at=T)
    objects = [ledger.ListedObject(f"s3://udacity-dend/log_data/{'k' * 300}/{i:06d}.json", f"k/{i}", 1000 + i,
                                   f'"{i:032x}"', T) for i in range(20_000)]
    state.tables["staging_events"] = ledger.TablePlan("staging_events", "s3://udacity-dend/log_data",
                                                      reloaded=objects)
    inserts = LedgerInsertStep(sql_queries.loaded_objects_insert).sends(state)
    deletes = StatementStep(sql_queries.loaded_objects_delete).sends(state)
    for sends in (inserts, deletes):
        assert len(sends) > 50 and all(statement_bytes(s.sql, s.params) <= MAX_STATEMENT_BYTES for s in sends)
    assert sum(len(s.params) for s in inserts) == 7 * 20_000
    assert [u for s in deletes for u in s.params["object_urls"]] == [o.url for o in objects]
    classic = DwhCfg.data_api(host="c.abc.us-west-2.redshift.amazonaws.com", port=5439).write(tmp_path / "classic.cfg")
    classic.write_text(classic.read_text().replace("TRANSPORT = data-api", "TRANSPORT = psycopg2"))
    state.config = load_config(classic, environ={})
    assert not state.data_api
    assert [len(s.params) // 7 for s in LedgerInsertStep(sql_queries.loaded_objects_insert).sends(state)] == [1000] * 20


def test_every_statement_of_every_job_fits_the_data_api_limit(tmp_path):
    from sparkify import dryrun
    from sparkify.pipeline.state import RunState

    config = load_config(DwhCfg.data_api().write(tmp_path / "dwh.cfg"), environ={})
    runs = [dryrun.create_tables_dry_run(config), dryrun.analytics_dry_run(config, with_checks=True),
            dryrun.etl_dry_run_of(RunState(config, run_id=1))]
    texts = [s.sql for run in runs for s in run.statements] + [s.sql for s in dryrun.conditional_statements(config)]
    assert len(texts) > 60 and max(len(t.encode()) for t in texts) <= MAX_STATEMENT_BYTES


# --------------------------------------------------------------------------------------------------
# configuration and target


def test_data_api_config_needs_no_password_port_or_host(tmp_path):
    config = load_config(DwhCfg.data_api().write(tmp_path / "dwh.cfg"), environ={})
    assert config.cluster.data_api and config.cluster.db_password == "" and config.cluster.host == ""
    assert target_of(config) == Target("cluster", "test-dwh", "us-west-2", "dev", db_user="awsuser")
    assert target_of(config).request() == {"Database": "dev", "ClusterIdentifier": "test-dwh", "DbUser": "awsuser"}


@pytest.mark.parametrize("host, dwh, request_", [
    ("wg1.123456789012.eu-west-1.redshift-serverless.amazonaws.com", {},
     {"Database": "dev", "WorkgroupName": "wg1"}),
    ("c2.abc123xyz.eu-west-1.redshift.amazonaws.com", {},
     {"Database": "dev", "ClusterIdentifier": "c2", "DbUser": "awsuser"}),
    (None, {"DWH_MODE": "serverless", "DWH_WORKGROUP": "wg-3"}, {"Database": "dev", "WorkgroupName": "wg-3"}),
    ("proxy.example.com", {}, {"Database": "dev", "ClusterIdentifier": "test-dwh", "DbUser": "awsuser"}),
])
def test_the_warehouse_comes_from_host_else_from_dwh(tmp_path, host, dwh, request_):
    path = DwhCfg.data_api(host=host).set("DWH", **dwh).write(tmp_path / "dwh.cfg")
    assert target_of(load_config(path, environ={})).request() == request_


def test_a_secret_replaces_temporary_credentials(tmp_path):
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sparkify-AbCdEf"
    path = (DwhCfg.data_api(host="c2.abc123xyz.eu-west-1.redshift.amazonaws.com").set("CLUSTER", SECRET_ARN=arn)
            .write(tmp_path / "dwh.cfg"))
    target = target_of(load_config(path, environ={}))
    assert target.request() == {"Database": "dev", "ClusterIdentifier": "c2", "SecretArn": arn}
    assert "as the user of secret sparkify-AbCdEf" in target.describe()


@pytest.mark.parametrize("edit, problem", [
    (("ENGINE = redshift", "ENGINE = postgres"), "[CLUSTER] TRANSPORT = data-api needs ENGINE = redshift"),
    (("ENGINE = redshift", "ENGINE = local"), "[CLUSTER] TRANSPORT = data-api needs ENGINE = redshift"),
    (("TRANSPORT = data-api", "TRANSPORT = data-api\nAUTH = password"), "[CLUSTER] AUTH = password cannot be used"),
    (("TRANSPORT = data-api", ("TRANSPORT = psycopg2\nSECRET_ARN = arn:aws:secretsmanager:us-west-2:123456789012:"
                              "secret:s-AbCdEf")), "[CLUSTER] SECRET_ARN is used by the Data API only"),
    (("DB_USER = awsuser", ""), "[CLUSTER] DB_USER is required for TRANSPORT = data-api on a cluster"),
    (("TRANSPORT = data-api", "TRANSPORT = dataapi"), "[CLUSTER] TRANSPORT must be psycopg2 or data-api"),
    (("TRANSPORT = data-api", "TRANSPORT = data-api\nSECRET_ARN = my-secret"),
     "[CLUSTER] SECRET_ARN must be a Secrets Manager secret ARN"),
])
def test_data_api_config_errors_name_the_fix(tmp_path, edit, problem):
    path = DwhCfg.data_api().write(tmp_path / "dwh.cfg")
    old, new = edit
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ={})
    assert problem in str(exc.value)


def test_a_workgroup_needs_no_db_user(tmp_path):
    path = DwhCfg.data_api().set("DWH", DWH_MODE="serverless").set("CLUSTER", DB_USER=None).write(tmp_path / "dwh.cfg")
    assert target_of(load_config(path, environ={})).request() == {"Database": "dev", "WorkgroupName": "test-dwh"}


# --------------------------------------------------------------------------------------------------
# the COPY the stand-in reads back


@pytest.mark.parametrize("spec", [
    CopySpec("staging_events", "s3://udacity-dend/log_data", json="s3://udacity-dend/log_json_path.json",
             timeformat="epochmillisecs", region="us-west-2", iam_role="arn:aws:iam::123456789012:role/r"),
    CopySpec("staging_songs", "s3://ops/manifests/run-000001/staging_songs.manifest", manifest=True,
             iam_role="arn:aws:iam::123456789012:role/path/r", maxerror=10, noload=True),
    CopySpec("public.staging_songs", "s3://bkt/it's here", json="auto ignorecase", iam_role="arn:aws:iam::123456789012:role/r",
             truncatecolumns=False, blanksasnull=False, emptyasnull=False, acceptinvchars="?", compupdate=True,
             statupdate=True, timeformat="YYYY-MM-DD HH:MI:SS"),
])
def test_the_copy_text_reads_back_into_its_spec(spec):
    assert parse_copy(render_copy(spec)) == spec


@pytest.mark.parametrize("text", [
    "copy t from 's3://b/p' iam_role 'arn' format as csv",
    "copy t from 's3://b/p' iam_role 'arn' format as json 'auto' gzip",
    "copy t from 's3://b/p' iam_role 'arn' maxerror 1 maxerror 2 format as json 'auto'",
    "copy t from 's3://b/p' iam_role 'arn'",
])
def test_a_copy_the_renderer_does_not_write_is_refused(text):
    with pytest.raises(ValueError):
        parse_copy(text)
