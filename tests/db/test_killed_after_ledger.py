"""A run killed after it wrote its ledger rows and before it committed leaves no ledger row behind: the ledger is
in the run's transaction, not written ahead of the merge.

Another session holds an ACCESS EXCLUSIVE lock on songplays, so etl.py stops at the first statement after its
ledger step that reads it (row_counts_before, the merge's first count). The test waits until the run's backend
waits there, notes that it holds a RowExclusiveLock on loaded_objects (its ledger rows are written), kills etl.py
with SIGKILL, then releases the lock. Nothing of that run may remain; the next run completes. (A ledger committed on
its own, or before the merge, would leave rows for objects whose data never reached the star schema: the next
run would skip them.)
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

import etl
import sql_queries
from tests.helpers.db import query, query_once, run
from tests.helpers.star import CONTRACT, contract, star

pytestmark = pytest.mark.realdata
PROJECT = Path(__file__).resolve().parents[2]


def bookkeeping(conn) -> tuple:
    return (star(conn), query(conn, "select * from loaded_objects order by 1, 2"),
            query(conn, "select * from etl_runs order by 1"), query(conn, "select * from etl_run_checks order by 1, 2"))


def waiting_at_the_merge(dsn: str) -> tuple[int, bool] | None:
    """(pid, whether it holds a RowExclusiveLock on loaded_objects: its ledger rows written, uncommitted) of a
    sparkify backend waiting for the lock on songplays at the merge's first count, or None."""
    rows = query_once(dsn, """
        select a.pid,
               exists (select 1 from pg_locks as l join pg_class as c on l.relation = c.oid
                       where l.pid = a.pid and c.relname = 'loaded_objects' and l.mode = 'RowExclusiveLock'
                         and l.granted)
        from pg_stat_activity as a
        where a.application_name = 'sparkify' and a.wait_event_type = 'Lock' and a.query = %s""",
                      (sql_queries.row_count_query("songplays"),))
    return rows[0] if rows else None


def backend_alive(dsn: str, pid: int) -> bool:
    return bool(query_once(dsn, "select 1 from pg_stat_activity where pid = %s", (pid,)))


def test_the_ledger_step_comes_before_the_statement_the_test_blocks_on():
    names = [s.name for s in sql_queries.etl_job]
    assert names.index("loaded_objects_insert") < names.index("row_counts_before") < names.index("etl_run_insert")
    assert sql_queries.row_counts_before.scope is sql_queries.Scope.BEFORE_MERGE


def test_a_run_killed_after_its_ledger_rows_leaves_none(schema, real_sources, pg_conn, pg_dsn):
    run(etl, real_sources("2018/11/2018-11-0"))  # days 1-9
    before = bookkeeping(pg_conn)
    blocker = psycopg2.connect(pg_dsn)
    proc = None
    try:
        with blocker.cursor() as cur:
            cur.execute("lock table songplays in access exclusive mode")
        proc = subprocess.Popen([sys.executable, "etl.py", "--config", str(real_sources()), "--quiet"], cwd=PROJECT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while (waiting := waiting_at_the_merge(pg_dsn)) is None:
            assert proc.poll() is None, f"etl.py ended before it reached the merge: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "etl.py did not reach the merge within 120 s"
            time.sleep(0.02)
        pid, ledger_written = waiting
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        blocker.rollback()  # the killed run's statement may now run; its transaction can only end in a rollback
        blocker.close()
    deadline = time.monotonic() + 30
    while backend_alive(pg_dsn, pid):
        assert time.monotonic() < deadline, "the killed run's backend is still there after 30 s"
        time.sleep(0.05)
    assert bookkeeping(pg_conn) == before
    assert ledger_written, "the run reached the merge without its ledger rows in its open transaction"
    run(etl, real_sources())
    assert contract(pg_conn) == CONTRACT
    (loaded,), = query(pg_conn, "select objects_loaded from etl_runs order by run_id desc limit 1")
    assert loaded == 30 - 9  # days 10-30: the killed run left none of them marked as loaded
