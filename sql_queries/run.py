"""The frame of an etl.py run: the ETL lock, the run's id and the previous run's totals, the PostgreSQL
session settings, and the row counts taken before and after the merge."""

from __future__ import annotations

from dataclasses import replace

from sql_queries.ddl import songplays_key_index, time_start_time_index
from sql_queries.statement import Lock, Result, RowCounts, Scope, Settings, Statement, TruncateEmpty, When
from sql_queries.tables import REPORT_TABLES, ROW_COUNT, STAR_TABLES

# --------------------------------------------------------------------------- the lock
# Every run starts with the lock, under statement_timeout (both Redshift and PostgreSQL honour it;
# lock_timeout is PostgreSQL-only). {timeout_ms} is filled in with a whole number of milliseconds. A second
# run waits on `lock etl_runs` until the first commits or rolls back.
etl_lock_timeout_set = Statement("etl_lock_timeout_set", "set statement_timeout = {timeout_ms}")
lock_etl_runs = Statement("lock_etl_runs", "lock etl_runs")
etl_lock_timeout_reset = Statement("etl_lock_timeout_reset", "set statement_timeout = 0")
etl_lock_queries = (etl_lock_timeout_set, lock_etl_runs, etl_lock_timeout_reset)
# The first attempt waits first_wait_ms, then says that another run holds the lock and tries once more for
# the rest of [ETL] LOCK_TIMEOUT.
etl_lock = Lock(
    "etl_lock", "", attempt=etl_lock_queries, first_wait_ms=2000,
    note="the ETL lock: wait up to {first_wait_s} s for a running etl.py; if it still holds the lock, the same three "
         "statements run once more with statement_timeout = {retry_ms} ([ETL] LOCK_TIMEOUT = {lock_timeout} s)",
)

# --------------------------------------------------------------------------- the run's id
# The run's id (under the lock, so no other run can take it) and the totals the previous run left: the
# star tables' row counts, which the run reports for the tables it does not change instead of counting them.
etl_run_next_id = Statement("etl_run_next_id", "select coalesce(max(run_id), 0) + 1 from etl_runs",
                            result=Result.RUN_ID, note="the run's id, and the row counts the previous run left")
latest_etl_totals = Statement("latest_etl_totals", """
select songplays_rows, users_rows, songs_rows, artists_rows, time_rows
from etl_runs
order by run_id desc
limit 1
""", result=Result.PREVIOUS_TOTALS)
etl_start_queries = (etl_run_next_id, latest_etl_totals)

# --------------------------------------------------------------------------- the merge's session
# SET LOCAL on the PostgreSQL engines at the start of the merge (and of analytics.py, whose hashes and sorts
# over whole tables need the same). work_mem: the merge sorts and hashes a whole batch at once (at 1,000,000
# events: the ranking of the NextSong events, the distinct start times, the checks' group-bys and anti-joins
# over songplays); with PostgreSQL's default of 4MB every one of them spills to temporary files. It is a
# per-operation limit for this one session, so a few operations of one statement may each use up to it
# (hashes up to hash_mem_multiplier times it); an operation that needs more still completes, spilling to
# disk. maintenance_work_mem: a first load builds the indexes of songplays and time (first_load_indexes_create)
# in one sort each. The settings end with the transaction. Redshift manages its memory per WLM queue and has no
# such settings: it is sent none.
postgres_settings = Settings("postgres_settings", "set local {name} = '{value}'",
                             settings=(("work_mem", "256MB"), ("maintenance_work_mem", "256MB")),
                             when=(When.POSTGRES,))

# --------------------------------------------------------------------------- row counts
# Before the merge, the star tables it is about to change (checks.never_shrinks compares them with the counts
# after it); after it, the tables the run changed or loaded (the others keep the previous run's totals).
row_counts_before = RowCounts("row_counts_before", ROW_COUNT, scope=Scope.BEFORE_MERGE)
run_row_counts = RowCounts("run_row_counts", ROW_COUNT, scope=Scope.AFTER_RUN)

# On the PostgreSQL engines, right after those counts: the tables the merge fills that are still empty (at a first
# load: all of them) are emptied once more in the run's transaction, so that PostgreSQL writes their rows without
# WAL (sparkify.localdb runs the embedded server with wal_level = minimal). Redshift is sent nothing: its TRUNCATE
# would commit the transaction.
first_load_truncate = TruncateEmpty("first_load_truncate", "truncate {tables}",
                                    tables=(*STAR_TABLES, "song_records", *REPORT_TABLES),
                                    when=(When.POSTGRES, When.ANY_STAGED))

# On the PostgreSQL engines, a first load drops the indexes of songplays and time (sql_queries.ddl.
# postgres_index_queries) before it fills them and builds them after, in one sort each: keeping them up to date row
# by row while a million plays go in costs three times as much. (Within the run's transaction: a failed run keeps
# them.)
first_load_indexes_drop = Statement("first_load_indexes_drop",
                                    "drop index if exists songplays_natural_key, time_start_time",
                                    when=(When.POSTGRES, When.EVENTS_STAGED, When.SONGPLAYS_WAS_EMPTY))
first_load_indexes_create = (
    replace(songplays_key_index, name="first_load_songplays_key_index",
            when=(When.POSTGRES, When.EVENTS_STAGED, When.SONGPLAYS_WAS_EMPTY)),
    replace(time_start_time_index, name="first_load_time_start_time_index",
            when=(When.POSTGRES, When.EVENTS_STAGED, When.SONGPLAYS_WAS_EMPTY)),
)
first_load_songplays_key_index, first_load_time_start_time_index = first_load_indexes_create
