"""The star schema of a full load of the real data, as the README publishes it, and readers of a warehouse's
content to compare loads with."""

from __future__ import annotations

import sql_queries
from tests.helpers.db import query

# One full load of the real data: songplays 6,820 with 39 matched, users 97 (22 paid), songs 1,943, artists
# 1,809, time 6,813 (and so must any sequence of runs over the same files).
CONTRACT = {"songplays": 6820, "matched": 39, "users": 97, "paid_users": 22, "songs": 1943, "artists": 1809,
            "time": 6813}


def star(conn) -> dict:
    """The star schema's content, surrogate keys aside (songplay_id numbers plays in the order they came)."""
    return {
        "songplays": query(conn, "select start_time, user_id, level, song_id, artist_id, session_id, item_in_session, "
                                 "location, user_agent, song_title, artist_name, song_length from songplays "
                                 "order by session_id, item_in_session"),
        **{t: query(conn, f"select * from {t} order by 1") for t in ("users", "songs", "artists", "time")},
        # the report's tables, which every run keeps up to date
        **{t: query(conn, f"select * from {t} order by {', '.join(str(i + 1) for i in range(len(columns)))}")
           for t, columns in sql_queries.REPORT_TABLE_COLUMNS.items()},
    }


def report_tables_disagree(conn) -> list[str]:
    """The report's tables that are not what songplays gives (sql_queries.REPORT_CHECKS)."""
    from sparkify.checks import run_checks

    with conn.cursor() as cur:
        failed = [r.name for r in run_checks(cur, sql_queries.REPORT_CHECKS) if not r.passed]
    conn.rollback()
    return failed


def contract(conn) -> dict:
    """The CONTRACT's figures, counted in the warehouse of `conn`."""
    (songplays, matched), = query(conn, "select count(*), count(song_id) from songplays")
    (users, paid), = query(conn, "select count(*), count(case when level = 'paid' then 1 end) from users")
    return {"songplays": songplays, "matched": matched, "users": users, "paid_users": paid,
            **{t: query(conn, f"select count(*) from {t}")[0][0] for t in ("songs", "artists", "time")}}


def latest_run(conn) -> dict:
    """The latest etl_runs row, by column name."""
    columns = sql_queries.ETL_RUN_COLUMNS
    rows = query(conn, f"select {', '.join(columns)} from etl_runs order by run_id desc limit 1")
    return dict(zip(columns, rows[0], strict=True))
