"""The emulated COPY's sys_load_error_detail: the rejected records of each COPY, kept on PostgreSQL under the name
and with the columns of Redshift's SYS_LOAD_ERROR_DETAIL view, which the toolkit reads on Redshift (cluster and
Serverless alike; sql_queries.load_errors), so that a query of that view runs unchanged on every engine.

A rejected record becomes one row (`rejected_record`); `copy_origin` gives the columns every row of one COPY
shares. `write_load_errors` appends a COPY's rows through a separate autocommit connection, so they are kept
even when the COPY fails and its transaction rolls back, as Redshift keeps them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import psycopg2

from sparkify.copy.convert import Column
from sql_queries import LOAD_ERRORS_VIEW as VIEW

log = logging.getLogger("sparkify.copy")

# SYS_LOAD_ERROR_DETAIL's columns (https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html), as
# VARCHAR where Redshift has CHAR(n); table_id as BIGINT, which holds any PostgreSQL oid.
LOAD_ERRORS_DDL = f"""
create table if not exists {VIEW} (
    user_id        integer,
    query_id       bigint,
    transaction_id bigint,
    session_id     integer,
    database_name  varchar(64),
    table_id       bigint,
    start_time     timestamp,
    file_name      varchar(256),
    line_number    bigint,
    column_name    varchar(127),
    column_type    varchar(10),
    column_length  varchar(10),
    position       integer,
    error_code     integer,
    error_message  varchar(512)
)
"""
COLUMNS = ("user_id", "query_id", "transaction_id", "session_id", "database_name", "table_id", "start_time",
           "file_name", "line_number", "column_name", "column_type", "column_length", "position", "error_code",
           "error_message")
_LIMITS = {"database_name": 64, "file_name": 256, "column_name": 127, "column_type": 10, "column_length": 10,
           "error_message": 512}
_TYPE_NAMES = {"varchar": "varchar", "char": "char", "text": "text", "int2": "int2", "int4": "int4", "int8": "int8",
               "float4": "float4", "float8": "float8", "numeric": "numeric", "bool": "bool",
               "timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date"}


def copy_origin(conn, table_id: int) -> dict:
    """The columns every row of one COPY on `conn` shares: who ran it, in which session, transaction and database,
    into which table, from when (query_id is given when the rows are written)."""
    with conn.cursor() as cur:
        cur.execute("select to_regrole(current_user)::oid::bigint, txid_current(), pg_backend_pid(), "
                    "current_database()")
        user_id, transaction_id, session_id, database_name = cur.fetchone()
    return {"user_id": user_id, "transaction_id": transaction_id, "session_id": session_id,
            "database_name": database_name, "table_id": table_id,
            "start_time": dt.datetime.now(dt.UTC).replace(tzinfo=None)}


def rejected_record(origin: dict, *, url: str, key: str, lineno: int, column: Column | None, error_code: int,
                    message: str) -> dict:
    """One sys_load_error_detail row for a rejected record (`origin`: copy_origin's; `key`: the file as users see
    it, for messages, not written; `column`: the column whose value was refused, None when the record itself
    was)."""
    col = column
    return {
        **origin, "query_id": None, "file_name": url, "key": key, "line_number": lineno,
        "column_name": col.name if col else "", "column_type": _TYPE_NAMES.get(col.kind, col.type)[:10] if col else "",
        "column_length": str(col.length) if col and col.length is not None else "",
        "position": 0, "error_code": error_code, "error_message": message,
    }


def write_load_errors(error_conn_factory: Callable[[], object], errors: list[dict]) -> None:
    """Append `errors` to sys_load_error_detail (created if missing) through a separate autocommit connection,
    under one new query_id."""
    if not errors:
        return
    conn = error_conn_factory()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for attempt in range(2):
                try:
                    cur.execute(LOAD_ERRORS_DDL)
                    cur.execute(f"create sequence if not exists {VIEW}_query_seq")
                    break
                except (psycopg2.errors.UniqueViolation, psycopg2.errors.DuplicateTable,
                        psycopg2.errors.DuplicateObject):
                    if attempt:
                        raise
            cur.execute(f"select nextval('{VIEW}_query_seq')")
            query_id = cur.fetchone()[0]
            rows = []
            for e in errors:
                e["query_id"] = query_id
                rows.append(tuple(_clip(c, e.get(c)) for c in COLUMNS))
            from psycopg2.extras import execute_values

            execute_values(cur, f"insert into {VIEW} ({', '.join(COLUMNS)}) values %s", rows, page_size=500)
    finally:
        conn.close()


def _clip(column: str, value):
    limit = _LIMITS.get(column)
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
        log.warning("%s: could not write %d rows to %s: %s", table, len(errors), VIEW, exc)
