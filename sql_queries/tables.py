"""The warehouse's tables by role, and the one quoting rule for a table name sent as an identifier."""

from __future__ import annotations

import re

STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
STAGING_TABLES = ("staging_events", "staging_songs")
ALL_TABLES = STAGING_TABLES + STAR_TABLES  # the seven tables whose row counts analytics.py shows
BOOKKEEPING_TABLES = ("song_records", "loaded_objects", "etl_runs", "etl_run_checks")
VERSION_TABLE = "schema_versions"  # the warehouse's schema versions (sql_queries.versions)
# The analysts' report reads these, which etl.py keeps up to date from songplays (sql_queries.report_tables).
REPORT_TABLES = ("report_user_days", "report_hours", "report_listeners", "report_song_plays", "report_sessions",
                 "report_users", "report_level_changes")
# Every table of the current schema: a `create table` of sql_queries.ddl names one of these (a test checks it).
SCHEMA_TABLES = (*ALL_TABLES, *BOOKKEEPING_TABLES, VERSION_TABLE, *REPORT_TABLES)


def quote_ident(name: str) -> str:
    """A plain lower-case table name as a quoted identifier (ValueError for anything else)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain lower-case identifier: {name!r}")
    return f'"{name}"'


# One table's row count ({table}: its quoted name, quote_ident). Redshift answers it from its metadata.
ROW_COUNT = "select count(*) from {table}"


def row_count_query(table: str) -> str:
    """The statement that counts the rows of `table`."""
    return ROW_COUNT.format(table=quote_ident(table))
