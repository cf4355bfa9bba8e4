"""The preflight's database checks against the embedded PostgreSQL: real connections, real information_schema."""

from __future__ import annotations

import dataclasses
import socket

import psycopg2

import sql_queries
from sparkify import preflight
from sparkify.pipeline import create_tables
from sparkify.preflight import database


def lines(findings):
    return [f.line() for f in findings]


def test_fresh_database_has_no_tables(local_config):
    findings = preflight.check_database(local_config)
    assert findings[0].level == "ok" and findings[0].check == "cluster.login"
    assert findings[0].message.startswith(f"logged in to {local_config.cluster.db_name} at ")
    tables = findings[1:]
    assert [f.check for f in tables] == [f"tables.{t}" for t in database.expected_tables()]
    assert all(f.level == "fatal" and f.message.endswith("does not exist: run create_tables.py") for f in tables)


def test_after_create_tables_every_table_is_as_declared(local_config):
    create_tables(local_config)
    assert lines(preflight.check_database(local_config))[1:] == [
        f"ok    tables: the {len(sql_queries.SCHEMA_TABLES)} tables exist with the expected columns"]


def test_a_changed_table_is_fatal(local_config, pg_dsn):
    create_tables(local_config)
    conn = psycopg2.connect(pg_dsn)
    with conn, conn.cursor() as cur:
        cur.execute("alter table staging_events drop column user_id")
        cur.execute("alter table users add column email varchar(256)")
        cur.execute("drop table time")
    conn.close()
    findings = {f.check: f for f in preflight.check_database(local_config)}
    assert findings["tables.staging_events"].message.startswith(
        "table staging_events differs from sql_queries: missing user_id: run create_tables.py")
    assert "unexpected email" in findings["tables.users"].message
    assert findings["tables.time"].message == "table time does not exist: run create_tables.py"
    assert {f.level for c, f in findings.items() if c.startswith("tables.")} == {"fatal"}
    assert "tables.songs" not in findings


def test_tables_in_another_schema_do_not_count(local_config, pg_dsn):
    """Only the schema the scripts create tables in (current_schema()) counts."""
    create_tables(local_config)
    conn = psycopg2.connect(pg_dsn)
    with conn, conn.cursor() as cur:
        cur.execute("create schema other; alter table users set schema other")
    conn.close()
    findings = preflight.check_database(local_config)
    assert [f.line() for f in findings if f.level != "ok"] == [
        "FATAL tables.users: table users does not exist: run create_tables.py"]


def test_wrong_database_name(local_config):
    cfg = dataclasses.replace(local_config, cluster=dataclasses.replace(local_config.cluster, db_name="sparkfy"))
    (finding,) = preflight.check_database(cfg)
    assert finding.level == "fatal" and finding.check == "cluster.login"
    assert 'database "sparkfy" does not exist' in finding.message
    assert finding.message.endswith("no such database: check [CLUSTER] DB_NAME (create_cluster.py writes it)")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening(local_config):
    cluster = dataclasses.replace(local_config.cluster, host="127.0.0.1", db_port=_closed_port(),
                                  db_password="Secret-Passw0rd")
    (finding,) = preflight.check_database(dataclasses.replace(local_config, cluster=cluster))
    assert finding.level == "fatal"
    assert "refuses connections on port" in finding.message and "check [CLUSTER] DB_PORT" in finding.message
    assert "Secret-Passw0rd" not in finding.message


def test_host_that_does_not_resolve(local_config):
    cluster = dataclasses.replace(local_config.cluster, host="sparkify-dwh.deleted.invalid")
    (finding,) = preflight.check_database(dataclasses.replace(local_config, cluster=cluster))
    assert finding.level == "fatal"
    assert "wrong host: sparkify-dwh.deleted.invalid does not resolve" in finding.message


def test_the_preflight_of_a_postgres_engine_runs_only_the_database_checks(local_config, caplog):
    findings = preflight.run_preflight(local_config)
    assert {f.check.split(".")[0] for f in findings} == {"cluster", "tables"}
    assert "only the database checks apply" in caplog.text
