"""render_copy, sql_queries.load_errors and format_load_errors, a prefix matching nothing: pure, no database."""

from __future__ import annotations

import pytest

import sql_queries
from sparkify.copy.redshift import CopySpecError, format_load_errors, render_copy
from sparkify.copy.spec import CopySpec, prefix_not_found, setting_of
from sparkify.errors import ConfigError
from sql_queries import load_errors

ARN = "arn:aws:iam::123456789012:role/dwhRole"


def spec(**kw) -> CopySpec:
    base = {"table": "staging_events", "source": "s3://udacity-dend/log_data",
            "json": "s3://udacity-dend/log_json_path.json", "timeformat": "epochmillisecs", "region": "us-west-2",
            "iam_role": ARN, "maxerror": 0}
    base.update(kw)
    return CopySpec(**base)


def test_render_events_copy():
    assert render_copy(spec()) == (
        "copy staging_events from 's3://udacity-dend/log_data' iam_role 'arn:aws:iam::123456789012:role/dwhRole' "
        "region 'us-west-2' format as json 's3://udacity-dend/log_json_path.json' timeformat 'epochmillisecs' "
        "truncatecolumns blanksasnull emptyasnull maxerror 0 compupdate off statupdate off")


def test_render_songs_copy_auto_without_region():
    sql = render_copy(spec(table="staging_songs", source="s3://udacity-dend/song_data", json="auto",
                           timeformat=None, region=None, maxerror=10))
    assert sql == ("copy staging_songs from 's3://udacity-dend/song_data' iam_role "
                   "'arn:aws:iam::123456789012:role/dwhRole' format as json 'auto' truncatecolumns blanksasnull "
                   "emptyasnull maxerror 10 compupdate off statupdate off")


def test_render_noload_is_the_same_copy_plus_noload():
    """etl.py --preflight sends the load's own COPY with NOLOAD appended (no other difference)."""
    assert render_copy(spec(noload=True)) == render_copy(spec()) + " noload"


@pytest.mark.parametrize("changes, fragment", [
    ({"manifest": True, "source": "s3://bkt/manifests/events.manifest"}, "region 'us-west-2' manifest format as json"),
    ({"json": "auto ignorecase"}, "format as json 'auto ignorecase'"),
    ({"acceptinvchars": "?"}, "emptyasnull acceptinvchars as '?' maxerror 0"),
    ({"truncatecolumns": False, "blanksasnull": False, "emptyasnull": False}, "timeformat 'epochmillisecs' maxerror 0"),
    ({"compupdate": True, "statupdate": True}, "compupdate on statupdate on"),
    ({"timeformat": "EPOCHMILLISECS"}, "timeformat 'epochmillisecs'"),
    ({"timeformat": "YYYY-MM-DD HH:MI:SS"}, "timeformat 'YYYY-MM-DD HH:MI:SS'"),
    ({"source": "s3://bucket/it's/data"}, "from 's3://bucket/it''s/data'"),
    ({"table": "analytics.staging_events"}, "copy analytics.staging_events from"),
])
def test_render_options(changes, fragment):
    assert fragment in render_copy(spec(**changes))


@pytest.mark.parametrize("changes, problem", [
    ({"table": "staging events"}, "table"),
    ({"table": "t; drop table users"}, "table"),
    ({"source": "/home/me/log_data"}, "source"),
    ({"source": "s3://Bad_Bucket/x"}, "source"),
    ({"source": "s3://bkt/x'; drop"}, None),  # quotes are fine (doubled) but a backslash or control char is not
    ({"source": "s3://bucket/a\\b"}, "source"),
    ({"source": "s3://bucket/a\nb"}, "source"),
    ({"json": "s3:/bucket/paths.json"}, "json"),
    ({"json": "auto-ignore"}, "json"),
    ({"iam_role": None}, "iam_role is required"),
    ({"iam_role": "arn:aws:iam::123:role/x"}, "iam_role"),
    ({"iam_role": "dwhRole"}, "iam_role"),
    ({"region": "Oregon"}, "region"),
    ({"timeformat": "epochmillisecs'; drop"}, "timeformat"),
    ({"acceptinvchars": "??"}, "acceptinvchars"),
    ({"acceptinvchars": "'"}, "acceptinvchars"),
    ({"maxerror": -1}, "maxerror"),
    ({"maxerror": 100001}, "maxerror"),
    ({"maxerror": "5"}, "maxerror"),
    ({"maxerror": True}, "maxerror"),
])
def test_render_rejects_invalid_values(changes, problem):
    if problem is None:
        assert "'s3://bkt/x''; drop'" in render_copy(spec(**changes))
        return
    with pytest.raises(CopySpecError) as exc:
        render_copy(spec(**changes))
    assert problem in str(exc.value)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, ConfigError)


def test_render_reports_every_problem_at_once():
    with pytest.raises(CopySpecError) as exc:
        render_copy(spec(table="a b", region="nowhere", maxerror=-3))
    assert len(exc.value.problems) == 3


def test_load_errors_query_targets_the_last_copy():
    q = " ".join(load_errors.sql.split())
    assert "from sys_load_error_detail le" in q
    assert "where le.query_id = coalesce( nullif(pg_last_copy_id(), -1)," in q
    assert "(select max(query_id) from sys_load_error_detail where session_id = pg_backend_pid())" in q
    for column in ("file_name", "line_number", "column_name", "error_code", "error_message"):
        assert column in q
    assert "trim(le.file_name)" in q  # char(256) columns come back padded
    assert q.endswith("limit 100")


def _row(**kw):
    row = {"query_id": 42, "file_name": "s3://udacity-dend/log_data/2018/11/2018-11-05-events.json" + " " * 30,
           "line_number": 17, "column_name": "user_id" + " " * 120, "column_type": "int4", "column_length": "0",
           "position": 0, "error_code": 1207, "error_message": "Invalid digit, Value 'a', Pos 0, Type: Integer   "}
    row.update(kw)
    return row


def test_format_load_errors_from_redshift_rows():
    msg = format_load_errors("staging_events", [_row(), _row(line_number=18), _row(line_number=40)], 0)
    assert msg == ("staging_events: COPY rejected 3 records (MAXERROR 0); first: "
                   "log_data/2018/11/2018-11-05-events.json line 17, column user_id: Invalid digit, Value 'a', "
                   "Pos 0, Type: Integer (see sys_load_error_detail)")


def test_format_load_errors_single_record_without_column():
    msg = format_load_errors("staging_songs", [_row(column_name="", error_code=1216,
                                                    error_message="Invalid JSON: unexpected end of data")], 5)
    assert msg == ("staging_songs: COPY rejected 1 record (MAXERROR 5); first: "
                   "log_data/2018/11/2018-11-05-events.json line 17: Invalid JSON: unexpected end of data "
                   "(see sys_load_error_detail)")


def test_format_load_errors_prefers_the_emulators_key():
    msg = format_load_errors("t", [_row(file_name="/tmp/x/log_data/a.json", key="log_data/a.json")], 0)
    assert "first: log_data/a.json line 17" in msg


def test_format_load_errors_clips_long_messages_on_one_line():
    msg = format_load_errors("t", [_row(error_message="x" * 500 + "\n")], 0)
    assert ": " + "x" * 197 + "... (see sys_load_error_detail)" in msg and "\n" not in msg


def test_format_load_errors_without_rows():
    msg = format_load_errors("staging_events", [], 0)
    assert msg.startswith("staging_events: COPY failed and sys_load_error_detail holds no row")


def test_each_copy_names_the_key_its_source_comes_from():
    assert {c.table: setting_of(c) for c in sql_queries.copy_table_queries} == {
        "staging_events": "[S3] LOG_DATA", "staging_songs": "[S3] SONG_DATA"}


@pytest.mark.parametrize("source, where", [
    ("s3://bucket/logdata", "a key prefix: no object's key starts with it"),
    ("/data/sparkify/logdata", "a local path, read as a prefix: no file or directory's path starts with it"),
])
def test_a_prefix_matching_nothing_keeps_redshift_s_words_then_names_the_key(source, where):
    """The first part is Redshift's COPY error (docs/copy-emulation.md); the rest says what the prefix is and which
    key to check."""
    assert prefix_not_found(source, "[S3] LOG_DATA") == (
        f"the specified S3 prefix '{source}' does not exist ({where}; check [S3] LOG_DATA)")
