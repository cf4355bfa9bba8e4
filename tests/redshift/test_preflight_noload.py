"""etl.py --preflight's COPY ... NOLOAD: on Redshift (a recording stand-in for psycopg2: what is sent, in which
transaction, and how a refusal is read back) and on the embedded PostgreSQL (the emulated NOLOAD, real data)."""

from __future__ import annotations

import dataclasses

import pytest

from sparkify import noload, preflight
from tests.helpers.corpus import jsonpaths
from tests.helpers.recording import FakeConnection, FakeCursor

REDSHIFT_VERSION = ("PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 "
                    "(Red Hat 3.4.2-6.fc3), Redshift 1.0.77467")


class RedshiftCursor(FakeCursor):
    def fetchone(self):
        return (REDSHIFT_VERSION,) if self.conn.log[-1] == "select version()" else (0,)


class RedshiftConnection(FakeConnection):
    def cursor(self):
        return RedshiftCursor(self)


@pytest.fixture
def redshift_sent(monkeypatch):
    """psycopg2.connect answers with a recording stand-in that says it is Redshift; yields the statements sent."""
    import psycopg2

    class Log(list):
        fail_on = None

    log = Log()
    monkeypatch.setattr(psycopg2, "connect", lambda *a, **k: RedshiftConnection(
        log, fail_on=lambda sql: log.fail_on(sql) if log.fail_on else False))
    return log


def test_each_copy_runs_with_noload_in_a_transaction_that_is_rolled_back(redshift_config, redshift_sent):
    copies = noload.noload_statements(redshift_config)
    assert [c.split()[1] for c in copies] == ["staging_events", "staging_songs"]
    assert all(c.endswith(" maxerror 10 compupdate off statupdate off noload") for c in copies)
    findings = preflight.check_noload(redshift_config)
    rejected_count = "select count(*) from sys_load_error_detail where query_id = pg_last_copy_id()"
    assert list(redshift_sent) == ["begin", "select version()", "rollback",
                                   "begin", copies[0], rejected_count, "rollback",
                                   "begin", copies[1], rejected_count, "rollback"]
    assert [f.line() for f in findings] == [
        ("ok    copy.staging_events: COPY ... NOLOAD from s3://udacity-dend/log_data: Redshift read it, no record "
         "rejected; nothing was loaded"),
        ("ok    copy.staging_songs: COPY ... NOLOAD from s3://udacity-dend/song_data: Redshift read it, no record "
         "rejected; nothing was loaded")]


def test_a_refused_copy_is_rolled_back_then_explained_from_its_load_errors(redshift_config, redshift_sent):
    from sql_queries import load_errors

    redshift_sent.fail_on = lambda sql: sql.startswith("copy staging_events")
    findings = preflight.check_noload(redshift_config)
    copies = noload.noload_statements(redshift_config)
    assert list(redshift_sent)[3:8] == ["begin", copies[0], "rollback", "begin", load_errors.sql]
    assert list(redshift_sent)[8] == "rollback"
    assert [f.level for f in findings] == ["fatal", "ok"]
    assert findings[0].message.startswith("COPY ... NOLOAD failed: staging_events: COPY failed: Load into table "
                                          "'staging_events' failed.")
    assert findings[0].message.endswith("Redshift itself refused the load (the iam.* and s3.* lines above explain "
                                        "what can be seen without it)")


def test_noload_on_the_embedded_postgresql_with_the_real_data(schema, local_config, real_data, capsys):
    config = dataclasses.replace(local_config, s3=dataclasses.replace(
        local_config.s3, log_data=str(real_data / "log_data"), song_data=str(real_data / "song_data"),
        log_jsonpath=str(real_data / "log_json_path.json")))
    findings = preflight.run_preflight(config, noload=True)
    assert [f.line() for f in findings if f.check.startswith("copy")] == [
        "ok    copy.staging_events: COPY ... NOLOAD from " + str(real_data / "log_data") + ": the emulated COPY read "
        "it, 30 files, 8056 rows would load, none rejected; nothing was loaded",
        "ok    copy.staging_songs: COPY ... NOLOAD from " + str(real_data / "song_data") + ": the emulated COPY read "
        "it, 1943 files, 1943 rows would load, none rejected; nothing was loaded"]
    from sparkify.warehouse import Warehouse, fetch_counts

    conn = Warehouse(config).connect()
    with conn.cursor() as cur:
        assert fetch_counts(cur, ["staging_events", "staging_songs"]) == {"staging_events": 0, "staging_songs": 0}
    conn.close()


def test_noload_on_the_embedded_postgresql_reports_bad_records(schema, local_config, tmp_path, pg_dsn):
    import json

    import psycopg2

    (tmp_path / "log_data").mkdir()
    (tmp_path / "log_data" / "a.json").write_text('{"userId": "12", "ts": 1541105830796}\n'
                                                  '{"userId": "abc", "ts": 1541105830796}\n')
    (tmp_path / "song_data").mkdir()
    (tmp_path / "song_data" / "s.json").write_text('{"num_songs": 1, "song_id": "S1", "year": 2000}')
    (tmp_path / "paths.json").write_text(json.dumps(jsonpaths()))
    config = dataclasses.replace(local_config, s3=dataclasses.replace(
        local_config.s3, log_jsonpath=str(tmp_path / "paths.json")))

    findings = preflight.check_noload(dataclasses.replace(config, maxerror=0))
    assert [f.level for f in findings] == ["fatal", "ok"]
    assert findings[0].message.startswith("COPY ... NOLOAD failed: staging_events: COPY rejected 1 record (MAXERROR 0); "
                                          "first: log_data/a.json line 2, column user_id: Invalid digit")
    findings = preflight.check_noload(dataclasses.replace(config, maxerror=1))
    assert findings[0].line() == ("WARN  copy.staging_events: COPY ... NOLOAD from " + str(tmp_path / "log_data")
                                  + ": 1 files, 1 rows would load, 1 record(s) would be rejected (MAXERROR 1; see "
                                  "sys_load_error_detail)")
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from staging_events")
        assert cur.fetchone()[0] == 0  # nothing inserted, either time
        cur.execute("select line_number, column_name, error_code from sys_load_error_detail order by query_id")
        assert cur.fetchall() == [(2, "user_id", 1207), (2, "user_id", 1207)]  # one row per NOLOAD run
    conn.close()
