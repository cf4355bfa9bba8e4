"""Redshift's COPY ... FORMAT AS JSON, emulated on PostgreSQL.

`emulate_copy(conn, spec, ...)` sets the COPY up (the target's columns from the catalog, the JSONPaths, the
listing of its files), then streams the chunks of COPY text sparkify.copy.producer converts into
`COPY <table> (...) FROM STDIN`: the server ingests while Python parses, and memory does not grow with the
input. The conversion runs in a producer thread (sparkify.copy.streaming); prepare_copy() lets the next COPY
read and convert while this one is being ingested.

With `spec.noload` (Redshift's NOLOAD) every file is read and converted and every rejection counted and
written to sys_load_error_detail exactly as for a load, but no row is sent: there is no COPY FROM STDIN, and
CopyResult.loaded counts the rows a load would have inserted.

Rejected records are skipped up to MAXERROR; one more fails the whole COPY (LoadError), and the target
table is left exactly as before (the COPY runs inside a SAVEPOINT on the caller's transaction, which is
never committed or rolled back here). Rejected records are written to `sys_load_error_detail` through a
separate autocommit connection (sparkify.copy.load_errors), so they are kept even when the COPY fails.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql

from sparkify.copy.convert import NULL_SQL
from sparkify.copy.load_errors import VIEW as LOAD_ERRORS_VIEW
from sparkify.copy.load_errors import rejected_record, save_errors
from sparkify.copy.producer import ChunkProducer, named_error
from sparkify.copy.records import ObjectTooLarge
from sparkify.copy.redshift import format_load_errors
from sparkify.copy.spec import CopySpec
from sparkify.copy.streaming import Background, ChunkReader, PreparedCopy, prepare_copy
from sparkify.errors import LoadError

log = logging.getLogger("sparkify.copy")

_savepoints = itertools.count(1)


@dataclass
class CopyResult:
    table: str
    files: int
    loaded: int
    rejected: int
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def _table_identifier(table: str) -> sql.Composable:
    parts = table.split(".")
    return sql.Identifier(*parts)


def emulate_copy(conn, spec: CopySpec, *, error_conn_factory: Callable[[], object],
                 progress: Callable[[dict], None] | None = None, prepared: PreparedCopy | None = None,
                 ahead: threading.Event | None = None) -> CopyResult:
    """Load `spec` into `spec.table` on PostgreSQL as Redshift's COPY would (see the module docstring).
    `prepared`: from prepare_copy(conn, spec) (its converted chunks are sent first). `ahead`: set once this
    COPY (when not prepared) has sent its first chunks or converted all it had (streaming.Background), for the
    COPYs prepared after it."""
    t0 = time.monotonic()
    if prepared is None:
        prepared = prepare_copy(conn, spec, start=False)
    if prepared.error is not None:
        raise prepared.error
    load = prepared.load
    load.progress = progress
    columns = load.columns
    column_list = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    statement = sql.SQL("copy {} ({}) from stdin with (format text, null {}, encoding 'UTF8')").format(
        _table_identifier(spec.table), column_list, sql.SQL(NULL_SQL))
    savepoint = sql.Identifier(f"sparkify_copy_{next(_savepoints)}")
    use_savepoint = not conn.autocommit
    chunks = prepared.chunks
    if chunks is None:
        chunks = Background(load.chunks(), ahead=ahead)
    reader = ChunkReader(chunks)
    log.debug("%s: emulated COPY from %s (%s)", spec.table, spec.source, spec.json)
    with conn.cursor() as cur:
        if use_savepoint:
            cur.execute(sql.SQL("savepoint {}").format(savepoint))
        try:
            try:
                if spec.noload:
                    while reader.read():  # NOLOAD: convert and check everything, send nothing
                        pass
                else:
                    cur.copy_expert(statement, reader, size=1 << 20)
            finally:
                reader.close()  # stops the producer (when the server failed the COPY first)
        except BaseException as exc:
            if use_savepoint:
                try:
                    cur.execute(sql.SQL("rollback to savepoint {}").format(savepoint))
                    cur.execute(sql.SQL("release savepoint {}").format(savepoint))
                except psycopg2.Error:
                    log.warning("%s: could not roll back to the COPY's savepoint", spec.table)
            cause = reader.error or exc
            failure = _failure(spec, load, cause)
            save_errors(spec.table, error_conn_factory, load.errors)
            if failure is None:
                raise
            raise failure from (cause if not isinstance(cause, LoadError) else None)
        if use_savepoint:
            cur.execute(sql.SQL("release savepoint {}").format(savepoint))
    save_errors(spec.table, error_conn_factory, load.errors)
    seconds = time.monotonic() - t0
    result = CopyResult(table=spec.table, files=load.files_done, loaded=load.loaded, rejected=len(load.errors),
                        errors=load.errors, seconds=seconds)
    if result.rejected:
        log.info("%s; %d rows loaded", format_load_errors(spec.table, load.errors, spec.maxerror), result.loaded)
    log.debug("%s: loaded %d rows from %d files in %.2f s (%d rejected)", spec.table, result.loaded, result.files,
             seconds, result.rejected)
    return result


def _failure(spec: CopySpec, load: ChunkProducer, cause: BaseException) -> LoadError | None:
    """The LoadError to raise for a COPY that failed with `cause` (None: re-raise the original)."""
    if isinstance(cause, LoadError):
        named_error(cause, spec.table)
        if not cause.rejected:
            cause.rejected = load.errors
        return cause
    if isinstance(cause, ObjectTooLarge):
        src_key = _current_key(load)
        load.errors.append(rejected_record(
            load.origin, url=src_key[0], key=src_key[1], lineno=cause.lineno, column=None, error_code=1216,
            message=f"JSON object exceeds the 4 MB limit ({cause.size if cause.complete else 'more than 4194304'} bytes)"))
        return LoadError(f"{spec.table}: COPY failed: {src_key[1]} line {cause.lineno}: {cause} (whatever MAXERROR "
                         f"says; split the object or load it another way) (see {LOAD_ERRORS_VIEW})",
                         table=spec.table, rejected=load.errors)
    if isinstance(cause, psycopg2.Error):
        first = (cause.pgerror or str(cause)).strip().splitlines()[0]
        return LoadError(f"{spec.table}: PostgreSQL rejected the emulated COPY: {first}", table=spec.table,
                         rejected=load.errors)
    return None


def _current_key(load: ChunkProducer) -> tuple[str, str]:
    return getattr(load, "current", ("", ""))
