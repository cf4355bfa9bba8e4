"""The emulated COPY's stl_load_errors: Redshift's system table of rejected records, kept on PostgreSQL.

A rejected record becomes one row (`rejected_record`) with Redshift's columns; `write_load_errors` appends a
COPY's rows through a separate autocommit connection, so they are kept even when the COPY fails and its
transaction rolls back, as Redshift keeps them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import psycopg2

from sparkify.copy.convert import Column

log = logging.getLogger("sparkify.copy")

STL_LOAD_ERRORS_DDL = """
create table if not exists stl_load_errors (
    userid          integer,
    slice           integer,
    tbl             integer,
    starttime       timestamp,
    session         integer,
    query           integer,
    filename        varchar(256),
    line_number     bigint,
    colname         varchar(127),
    type            varchar(10),
    col_length      varchar(10),
    position        integer,
    raw_line        varchar(1024),
    raw_field_value varchar(1024),
    err_code        integer,
    err_reason      varchar(100),
    is_partial      integer,
    start_offset    bigint
)
"""
STL_COLUMNS = ("userid", "slice", "tbl", "starttime", "session", "query", "filename", "line_number", "colname",
               "type", "col_length", "position", "raw_line", "raw_field_value", "err_code", "err_reason",
               "is_partial", "start_offset")
_STL_LIMITS = {"filename": 256, "colname": 127, "type": 10, "col_length": 10, "raw_line": 1024,
               "raw_field_value": 1024, "err_reason": 100}


_TYPE_NAMES = {"varchar": "varchar", "char": "char", "text": "text", "int2": "int2", "int4": "int4", "int8": "int8",
               "float4": "float4", "float8": "float8", "numeric": "numeric", "bool": "bool",
               "timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date"}



def rejected_record(*, tbl: int, starttime: dt.datetime, session: int, url: str, key: str, lineno: int, raw: bytes,
                    column: Column | None, err_code: int, reason: str, raw_value: str | None = None) -> dict:
    """One stl_load_errors row for a rejected record (`key`: the file as users see it, for messages; `column`:
    the column whose value was refused, None when the record itself was)."""
    col = column
    return {
        "userid": 0, "slice": 0, "tbl": tbl, "starttime": starttime, "session": session,
        "query": None, "filename": url, "key": key, "line_number": lineno,
        "colname": col.name if col else "", "type": _TYPE_NAMES.get(col.kind, col.type)[:10] if col else "",
        "col_length": str(col.length) if col and col.length is not None else "",
        "position": 0, "raw_line": raw.decode("utf-8", "replace")[:1024],
        "raw_field_value": (raw_value or "")[:1024] if col else "",
        "err_code": err_code, "err_reason": reason,
        "is_partial": 0, "start_offset": 0,
    }


def write_load_errors(error_conn_factory: Callable[[], object], errors: list[dict]) -> None:
    """Append `errors` to stl_load_errors (created if missing) through a separate autocommit connection."""
    if not errors:
        return
    conn = error_conn_factory()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for attempt in range(2):
                try:
                    cur.execute(STL_LOAD_ERRORS_DDL)
                    cur.execute("create sequence if not exists stl_load_errors_query_seq")
                    break
                except (psycopg2.errors.UniqueViolation, psycopg2.errors.DuplicateTable,
                        psycopg2.errors.DuplicateObject):
                    if attempt:
                        raise
            cur.execute("select nextval('stl_load_errors_query_seq')")
            query = cur.fetchone()[0]
            rows = []
            for e in errors:
                e["query"] = query
                rows.append(tuple(_clip_stl(c, e.get(c)) for c in STL_COLUMNS))
            from psycopg2.extras import execute_values

            execute_values(cur, f"insert into stl_load_errors ({', '.join(STL_COLUMNS)}) values %s", rows,
                           page_size=500)
    finally:
        conn.close()


def _clip_stl(column: str, value):
    limit = _STL_LIMITS.get(column)
    if limit is not None and isinstance(value, str):
        value = value.replace("\x00", "\\u0000")
        return value[:limit]
    return value



def save_errors(table: str, error_conn_factory, errors: list[dict]) -> None:
    """write_load_errors, never raising: a failure to keep the rows is logged, the load's own outcome stands."""
    if not errors:
        return
    try:
        write_load_errors(error_conn_factory, errors)
    except Exception as exc:  # noqa: BLE001 - never hide the load's own outcome
        log.warning("%s: could not write %d rows to stl_load_errors: %s", table, len(errors), exc)
