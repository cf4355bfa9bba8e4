"""The local engines stand in for Redshift Serverless too: a statement naming a provisioned-only system view
(STL_, STV_, SVL_, SVCS_) is refused before it reaches PostgreSQL, even where such a table exists (a warehouse
whose emulated COPY kept stl_load_errors, as earlier versions did)."""

from __future__ import annotations

import pytest

from sparkify.errors import WarehouseError
from sparkify.warehouse import Warehouse


def test_a_provisioned_only_view_is_refused_before_it_is_sent(local_config, pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("create table stl_load_errors (query integer); create table sys_load_error_detail (query_id int)")
    pg_conn.commit()
    wh = Warehouse(local_config)
    conn = wh.connect()
    session = wh.session(conn)
    try:
        with pytest.raises(WarehouseError, match=r"names stl_load_errors, a provisioned-only Redshift system view"):
            session.execute("select count(*) from stl_load_errors where query = -1")
        conn.rollback()
        assert session.execute("select count(*) from sys_load_error_detail where query_id = -1").fetchone() == (0,)
        assert session.execute("select 'stl_load_errors' -- stl_query").fetchone() == ("stl_load_errors",)
        with conn.cursor() as cur:  # the guard is the Session's: the table itself is there
            cur.execute("select count(*) from stl_load_errors")
            assert cur.fetchone() == (0,)
    finally:
        conn.close()
