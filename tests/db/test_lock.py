"""Two etl runs never interleave: the second waits for the ETL lock, bounded, then fails clearly."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest

from sparkify.errors import LockTimeout
from sparkify.warehouse import Warehouse
from tests.helpers.db import query_once


def hold_lock(pg_dsn):
    conn = psycopg2.connect(pg_dsn)
    conn.cursor().execute("lock etl_runs")
    return conn


def test_second_run_fails_clearly_after_the_timeout(warehouse, pg_dsn, caplog):
    holder = hold_lock(pg_dsn)
    try:
        conn = warehouse.connect()
        t0 = time.monotonic()
        with pytest.raises(LockTimeout, match=r"another etl.py run still held the lock on etl_runs after 4 s"):
            warehouse.acquire_etl_lock(conn, timeout_s=4)
        assert 3.5 < time.monotonic() - t0 < 30
        assert "waiting up to 4 s" in caplog.text
        conn.close()
    finally:
        holder.close()


def lock_holders(pg_dsn) -> list[int]:
    """Backend pids holding the ETL lock (`lock etl_runs`: ACCESS EXCLUSIVE on etl_runs), seen from a third session."""
    return [r[0] for r in query_once(pg_dsn, "select pid from pg_locks where relation = 'etl_runs'::regclass "
                                              "and mode = 'AccessExclusiveLock' and granted")]


def test_second_run_waits_and_proceeds_when_the_first_finishes(warehouse, pg_dsn):
    holder = hold_lock(pg_dsn)
    assert lock_holders(pg_dsn) == [holder.get_backend_pid()]
    release = threading.Timer(3.0, holder.rollback)
    release.start()
    conn = warehouse.connect()
    try:
        t0 = time.monotonic()
        warehouse.acquire_etl_lock(conn, timeout_s=20)  # returns once the holder released...
        waited = time.monotonic() - t0
        release.join()
        assert waited >= 2.5, f"acquire_etl_lock returned after {waited:.1f} s while another session held the lock"
        assert lock_holders(pg_dsn) == [conn.get_backend_pid()]  # ...and then holds the lock itself
        other = psycopg2.connect(pg_dsn)  # so a third session cannot take it
        try:
            other_cur = other.cursor()
            other_cur.execute("set statement_timeout = 300")
            with pytest.raises(psycopg2.errors.QueryCanceled):
                other_cur.execute("lock etl_runs")
        finally:
            other.close()
        conn.rollback()  # the end of the run's transaction releases it
        assert lock_holders(pg_dsn) == []
    finally:
        conn.close()
        holder.close()


def test_lock_without_tables_says_run_create_tables(local_config):
    conn = Warehouse(local_config).connect()
    from sparkify.errors import WarehouseError

    with pytest.raises(WarehouseError, match=r"has no tables yet \(etl_runs is missing\): run create_tables.py, then etl.py$"):
        Warehouse(local_config).acquire_etl_lock(conn, timeout_s=5)
    conn.close()
