"""sparkify.sqlscan: the names a statement uses, as the server reads them (literals and comments are not names)."""

from __future__ import annotations

import pytest

from sparkify.sqlscan import names, provisioned_only_views


@pytest.mark.parametrize("sql, views", [
    ("select count(*) from stl_load_errors where query = pg_last_copy_id()", ["stl_load_errors"]),
    ("select * from pg_catalog.STV_SESSIONS", ["stv_sessions"]),
    ('select * from "SVL_QLOG" q join svcs_query_summary s using (query)', ["svl_qlog", "svcs_query_summary"]),
    ("select 1 from stl_query a, stl_query b", ["stl_query"]),
    ("select count(*) from sys_load_error_detail where query_id = pg_last_copy_id()", []),
    ("select * from svv_table_info", []),  # SVV views serve Redshift Serverless too
    ("select 'stl_load_errors', e'stl_x\\'', $$ stl_query $$, $tag$ stl_scan $tag$ from t", []),
    ("select 1 -- from stl_load_errors\nfrom t", []),
    ("select /* stl_query /* nested stl_scan */ still comment stl_plan */ 1", []),
    ("copy t from 's3://bucket/stl_load_errors/' iam_role 'arn:aws:iam::123456789012:role/r'", []),
    ('select 1 as "stl ""quoted"" name"', []),
    ("select x_stl_load_errors, stl from t", []),
])
def test_provisioned_only_views(sql, views):
    assert provisioned_only_views(sql) == views


def test_names_fold_case_and_unquote():
    assert names('SELECT "My""Col", other FROM "Sch"."T" -- x') == ["select", 'my"col', "other", "from", "sch", "t"]


def test_an_unterminated_literal_or_comment_hides_the_rest():
    assert names("select 'open from stl_query") == ["select"]
    assert names("select /* open stl_query") == ["select"]
