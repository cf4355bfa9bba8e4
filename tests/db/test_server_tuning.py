"""What the toolkit's own PostgreSQL does for speed: the server's WAL level, the databases' byte-wise collation,
the staging tables unlogged, and the first load's star tables filled without WAL (emptied in the run's
transaction)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sparkify import localdb

T0 = datetime(2018, 11, 5, 10, 0, 0)


def one(conn, sql: str):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


@pytest.mark.parametrize("a, b, same", [
    ("2GB", "2048MB", True), ("4GB", "4096MB", True), ("128MB", "16MB", False), ("0", "0", True),
    ("minimal", "minimal", True), ("replica", "minimal", False), ("Minimal", "minimal", True), (None, "0", False),
])
def test_settings_compare_as_sizes_or_words(a, b, same):
    assert localdb.same_setting(a, b) is same


def test_the_embedded_server_writes_only_the_wal_crash_recovery_needs(pg_conn):
    assert one(pg_conn, "show wal_level") == "minimal"
    assert one(pg_conn, "show max_wal_senders") == "0"


def test_a_new_database_compares_text_byte_by_byte_as_redshift_orders_it(pg_conn):
    """"C": the order of UTF-8 bytes, which is the order of code points (and Redshift's ORDER BY)."""
    assert one(pg_conn, "select datcollate from pg_database where datname = current_database()") == "C"
    with pg_conn.cursor() as cur:
        cur.execute("select v from (values ('b'), ('B'), ('a '), ('a'), ('é'), ('z'), ('a\t')) as t(v) order by v")
        assert [r[0] for r in cur.fetchall()] == ["B", "a", "a\t", "a ", "b", "z", "é"]


def test_staging_is_unlogged_and_the_rest_is_not(warehouse, pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("select relname, relpersistence from pg_class where relkind = 'r' "
                    "and relnamespace = 'public'::regnamespace order by relname")
        persistence = dict(cur.fetchall())
    assert {t for t, p in persistence.items() if p == "u"} == {"staging_events", "staging_songs"}
    assert set(persistence.values()) == {"u", "p"}


def _wal_bytes(conn, action) -> int:
    """The WAL the server wrote while `action()` ran (read on `conn`, outside its transaction)."""
    with conn.cursor() as cur:
        cur.execute("select pg_current_wal_insert_lsn()")
        before = cur.fetchone()[0]
        conn.rollback()
        action()
        cur.execute("select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (before,))
        written = int(cur.fetchone()[0])
    conn.rollback()
    return written


def test_a_first_load_fills_the_star_tables_without_wal(make_event, load_batch, pg_conn, monkeypatch):
    """The first load empties the (empty) star tables in its transaction, so that PostgreSQL writes their rows
    without WAL; a later run, onto tables with rows, must not empty them (and its rows go through the WAL).
    (wal_skip_threshold is 0 for the test: by default a new file smaller than 2 MB is written to the WAL whole at
    commit, as cheaper than syncing it.)"""
    monkeypatch.setenv("PGOPTIONS", "-c wal_skip_threshold=0")
    n = 3000
    first = [make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(n)]
    later = [make_event(item=i, ts=T0 + timedelta(days=1, seconds=i)) for i in range(n, 2 * n)]
    first_wal = _wal_bytes(pg_conn, lambda: load_batch(events=first))
    later_wal = _wal_bytes(pg_conn, lambda: load_batch(events=later))
    assert one(pg_conn, "select count(*) from songplays") == 2 * n
    assert one(pg_conn, "select count(*) from time") == 2 * n
    assert later_wal > n * 200  # at least a songplays row and a time row per play
    assert first_wal * 4 < later_wal, (first_wal, later_wal)


def _indexes(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("select tablename, indexname from pg_indexes where schemaname = current_schema() order by 1, 2")
        found = cur.fetchall()
    conn.rollback()
    return found


def test_the_plays_and_times_are_indexed_on_postgresql_only(warehouse, make_event, load_batch, pg_conn):
    """The natural key of songplays and the start times of time, which a later run looks its plays up by; a first
    load drops them before its bulk insert and builds them after (in its transaction)."""
    expected = [("songplays", "songplays_natural_key"), ("time", "time_start_time")]
    assert _indexes(pg_conn) == expected  # create_tables.py made them
    load_batch(events=[make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(5)])  # a first load
    assert _indexes(pg_conn) == expected
    load_batch(events=[make_event(item=9, ts=T0 + timedelta(days=1))])  # a later run
    assert _indexes(pg_conn) == expected
    with pg_conn.cursor() as cur:  # not unique: as on Redshift, keys are the merge's to keep, the checks' to prove
        cur.execute("select count(*) from pg_index where indisunique and indrelid in "
                    "('songplays'::regclass, 'time'::regclass)")
        assert cur.fetchone()[0] == 0
