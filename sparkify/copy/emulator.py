"""Redshift's COPY ... FORMAT AS JSON, emulated on PostgreSQL.

`emulate_copy(conn, spec, ...)` reads the files `spec` names (sparkify.copy.sources), splits them into
JSON records (orjson per line; sparkify.copy.records for everything else), converts each record into a
line of PostgreSQL's COPY text format with Redshift's rules for the target column types
(sparkify.copy.rows, sparkify.copy.convert) and streams the lines into `COPY <table> (...) FROM STDIN`:
the server ingests while Python parses, and memory does not grow with the input. The common case is
converted by the C converter (sparkify.copy.native) in a producer thread; the lines it declines take
the Python path. prepare_copy() lets the next COPY read and convert while this one is being ingested.

With `spec.noload` (Redshift's NOLOAD) every file is read and converted and every rejection counted and
written to stl_load_errors exactly as for a load, but no row is sent: there is no COPY FROM STDIN, and
CopyResult.loaded counts the rows a load would have inserted.

Rejected records are skipped up to MAXERROR; one more fails the whole COPY (LoadError), and the target
table is left exactly as before (the COPY runs inside a SAVEPOINT on the caller's transaction, which is
never committed or rolled back here). Rejected records are written to `stl_load_errors` through a
separate autocommit connection, so they are kept even when the COPY fails.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO
from dataclasses import dataclass, field

import orjson
import psycopg2
from psycopg2 import sql

from sparkify.copy.convert import NULL_SQL, Column, Options, Reject, column_from_catalog
from sparkify.copy.jsonpaths import JsonPathsError, parse_jsonpaths_file
from sparkify.copy import native as native_mod
from sparkify.copy.records import MAX_OBJECT_BYTES, Malformed, ObjectTooLarge, Recovery
from sparkify.copy.redshift import format_load_errors
from sparkify.copy.rows import RowBuilder, RowReject
from sparkify.copy.sources import (LocalBatch, SourceFile, file_size, is_s3, list_local, list_manifest, list_s3, read_all,
                                   read_location, s3_client)
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError

log = logging.getLogger("sparkify.copy")

PROGRESS_EVERY = 0.5  # seconds
# COPY text per chunk handed to psycopg2: it sends a chunk without the GIL, and needs it back between
# chunks; with the converting threads holding it up to the switch interval (5 ms) at a time, bigger
# chunks keep the server fed (1 MB: ~14 ms of server work; 4 MB: ~55 ms).
SEND_BYTES = 4 << 20
ONE_LINE_BATCH = 512  # one-line files converted per native call
_savepoints = itertools.count(1)

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


@dataclass
class CopyResult:
    table: str
    files: int
    loaded: int
    rejected: int
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- catalog

def read_columns(conn, table: str) -> tuple[int, list[Column]]:
    """(oid, columns in order) of `table` from the catalog of `conn` (generated and identity columns are
    left out: they take their defaults)."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s)::oid", (table,))
        row = cur.fetchone()
        if row is None or row[0] is None:
            raise LoadError(f"{table}: table does not exist (create the staging tables first)", table=table)
        oid = row[0]
        cur.execute(
            """select a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
                 from pg_attribute a
                where a.attrelid = %s and a.attnum > 0 and not a.attisdropped
                  and a.attgenerated = '' and a.attidentity = ''
                order by a.attnum""",
            (oid,),
        )
        columns = [column_from_catalog(name, type_text, not_null) for name, type_text, not_null in cur.fetchall()]
    if not columns:
        raise LoadError(f"{table}: the table has no loadable columns", table=table)
    return oid, columns


def _table_identifier(table: str) -> sql.Composable:
    parts = table.split(".")
    return sql.Identifier(*parts)


# --------------------------------------------------------------------------- the load

class _Load:
    """State of one emulated COPY: counters, rejected records, and the chunk generator."""

    def __init__(self, spec: CopySpec, columns: list[Column], builder: RowBuilder, oid: int, session: int,
                 sources: Iterator[SourceFile], client_factory, progress):
        self.spec = spec
        self.columns = columns
        self.builder = builder
        self.oid = oid
        self.session = session
        self.sources = sources
        self.client_factory = client_factory
        self.progress = progress
        self.starttime = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        self.files_done = 0
        self.loaded = 0
        self.current = ("", "")
        self.bytes = 0
        self.errors: list[dict] = []
        self.failure: LoadError | None = None
        self._last_progress = time.monotonic()
        self.files_total: int | None = None

    # ------------------------------------------------------------- errors
    def _error(self, src: SourceFile, lineno: int, raw: bytes, column: int | None, reject: Reject) -> dict:
        col = self.columns[column] if column is not None else None
        return {
            "userid": 0, "slice": 0, "tbl": self.oid, "starttime": self.starttime, "session": self.session,
            "query": None, "filename": src.url, "key": src.key, "line_number": lineno,
            "colname": col.name if col else "", "type": _TYPE_NAMES.get(col.kind, col.type)[:10] if col else "",
            "col_length": str(col.length) if col and col.length is not None else "",
            "position": 0, "raw_line": raw.decode("utf-8", "replace")[:1024],
            "raw_field_value": (reject.raw_value or "")[:1024] if col else "",
            "err_code": reject.err_code, "err_reason": reject.reason,
            "is_partial": 0, "start_offset": 0,
        }

    def reject(self, src: SourceFile, lineno: int, raw: bytes, column: int | None, reject: Reject) -> None:
        self.add_error(self._error(src, lineno, raw, column, reject))

    def add_error(self, error: dict) -> None:
        """Record a rejected record; one more than MAXERROR fails the COPY."""
        self.errors.append(error)
        if len(self.errors) > self.spec.maxerror:
            self.failure = LoadError(format_load_errors(self.spec.table, self.errors, self.spec.maxerror),
                                     table=self.spec.table, rejected=self.errors)
            raise self.failure

    def _report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            self.progress({"table": self.spec.table, "files_done": self.files_done, "files_total": self.files_total,
                           "records": self.loaded + len(self.errors), "bytes": self.bytes,
                           "rejected": len(self.errors)})

    # ------------------------------------------------------------- the producer
    def chunks(self) -> Iterator[bytes]:
        """COPY text chunks of about SEND_BYTES (but at the end), produced lazily from the sources."""
        self._recovery = Recovery(self.spec.acceptinvchars)
        self._parts: list[bytes] = []
        self._size = 0
        native = self.builder.native
        ones: list[tuple[SourceFile, bytes]] = []  # consecutive one-line files (one song each, typically)
        for item in read_all(self.sources, self.client_factory, batches=True):
            if type(item) is LocalBatch:
                if native is not None and item.joined is not None:  # all one-line files: one native call
                    if ones:
                        yield from self._one_line_files(ones)
                        ones = []
                    yield from self._one_line_files(list(zip(item.sources, item.contents)), item.joined)
                    continue
                items = item.items()
            else:
                items = (item,)
            for src, content in items:
                yield from self._next_file(src, content, ones)
        if ones:
            yield from self._one_line_files(ones)
        if self._parts:
            yield b"".join(self._parts)
        self._report(force=True)

    def _next_file(self, src: SourceFile, content, ones: list) -> Iterator[bytes]:
        if self.builder.native is not None and type(content) is bytes and _one_line(content):
            ones.append((src, content))
            if len(ones) >= ONE_LINE_BATCH:
                yield from self._one_line_files(ones)
                ones.clear()
            return
        if ones:
            yield from self._one_line_files(ones)
            ones.clear()
        yield from self._file(src, content)

    def _emit(self, payload: bytes, rows: int) -> Iterator[bytes]:
        self.loaded += rows
        self._parts.append(payload)
        self._size += len(payload)
        if self._size >= SEND_BYTES:
            yield b"".join(self._parts)
            self._parts, self._size = [], 0
            self._report()

    def _file(self, src: SourceFile, content: bytes | BinaryIO) -> Iterator[bytes]:
        """One file through pump_bytes (the native converter if any, the Python path for what it declines)."""
        self.current = (src.url, src.key)
        ctx = _FileContext(self, self.builder, src, self._recovery)
        stream = io.BytesIO(content) if type(content) is bytes else content
        with stream:
            for payload, rows in self.builder.pump_bytes(stream, ctx):
                yield from self._emit(payload, rows)
        self.files_done += 1
        self.bytes += len(content) if type(content) is bytes else file_size(src)
        self._report()

    def _one_line_files(self, files: list[tuple[SourceFile, bytes]], joined: bytes | None = None) -> Iterator[bytes]:
        """Many one-line files in one native call: their lines joined (`joined`, if the reader joined them
        already), line k being file k's. A file whose line the converter declines goes through _file()
        (the Python path), then the call resumes."""
        buf = joined if joined is not None else (
            b"\n".join(data[:-1] if data.endswith(b"\n") else data for _, data in files) + b"\n")
        conv = self.builder.native
        pos, k, end = 0, 0, len(buf)
        while k < len(files):
            status, pos, payload, rows = conv.convert(buf, pos, end)
            if rows:
                yield from self._emit(payload, rows)
                for _, data in files[k:k + rows]:
                    self.bytes += len(data)
                self.files_done += rows
                k += rows
                self.current = (files[k - 1][0].url, files[k - 1][0].key)
                self._report()
            if status == native_mod.DECLINED:
                yield from self._file(*files[k])
                k += 1
                pos = buf.index(b"\n", pos) + 1


def _one_line(data: bytes) -> bool:
    """Whether `data` is one non-empty line (a newline, if any, only at its end)."""
    i = data.find(b"\n")
    return (i == -1 and bool(data)) or (i == len(data) - 1 and i > 0)


class _FileContext:
    """The pump's context for one file: line number, and the slow path for lines the pump gave up on.
    `sink.reject(src, lineno, raw, column, reject)` records a rejected record."""

    def __init__(self, sink, builder: RowBuilder, src: SourceFile, recovery: Recovery, lineno: int = 0):
        self.load = sink
        self.src = src
        self.recovery = recovery
        self.lineno = lineno
        self.row = builder.row

    def _convert(self, lineno: int, raw: bytes, record, out: list[str]) -> None:
        try:
            out.append(self.row(record))
        except RowReject as exc:
            self.load.reject(self.src, lineno, raw, exc.column, exc.reject)

    def handle(self, line: bytes, lines: Iterator[bytes], out: list[str]) -> None:
        lineno = self.lineno
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            found, consumed = self.recovery.recover(line, lineno, lines, lineno == 1)
            self.lineno = lineno + consumed
            for item in found:
                if type(item.value) is Malformed:
                    self.load.reject(self.src, item.lineno, item.raw, None, Reject(1216, item.value.reason))
                else:
                    self._convert(item.lineno, item.raw, item.value, out)
            return
        stripped = line.strip()
        if len(stripped) > MAX_OBJECT_BYTES:
            raise ObjectTooLarge(lineno, len(stripped))
        self._convert(lineno, stripped, record, out)


class _ChunkReader:
    """A file-like object for cursor.copy_expert: read() returns the next chunk of the generator."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            return next(self._chunks, b"")
        except BaseException as exc:  # remembered: psycopg2 reports its own "error in .read() call"
            self.error = exc
            raise

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - psycopg2 only calls read()
        return self.read(size)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class _Background:
    """`chunks`, produced by a thread (started at once) up to `depth` chunks ahead, so that converting the
    next chunk overlaps with sending the previous one (the native converter's read-ahead and psycopg2's
    COPY release the GIL). An exception of the producer is raised here, in order; close() stops it."""

    def __init__(self, chunks: Iterator[bytes], depth: int = 4):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._chunks = chunks
        self._thread = threading.Thread(target=self._run, name="sparkify-copy-producer", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for chunk in self._chunks:
                if not self._put(("data", chunk)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the consumer
            self._put(("error", exc))
        finally:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> _Background:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        kind, item = self._queue.get()
        if kind == "data":
            return item
        self.close()
        if kind == "end":
            raise StopIteration
        raise item

    def close(self) -> None:
        self._done = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()




# --------------------------------------------------------------------------- stl_load_errors

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


# --------------------------------------------------------------------------- entry point

def _options(spec: CopySpec) -> Options:
    return Options(timeformat=spec.timeformat, truncatecolumns=spec.truncatecolumns, blanksasnull=spec.blanksasnull,
                   emptyasnull=spec.emptyasnull, acceptinvchars=spec.acceptinvchars)


def _paths(spec: CopySpec, columns: list[Column], client_factory) -> tuple[list[tuple], bool]:
    """(path per column, ignorecase) from 'auto', 'auto ignorecase' or a JSONPaths file."""
    mode = (spec.json or "auto").strip()
    if mode.lower() == "auto":
        return [(c.name,) for c in columns], False
    if mode.lower() == "auto ignorecase":
        return [(c.name.lower(),) for c in columns], True
    data = read_location(mode, client_factory=client_factory, what="JSONPaths file")
    try:
        paths = parse_jsonpaths_file(data, mode)
    except JsonPathsError as exc:
        raise LoadError(str(exc), table=spec.table) from None
    if paths is None:
        log.warning("%s: JSONPaths file %s has no \"jsonpaths\" member: ignored, loading with 'auto' as Redshift does",
                    spec.table, mode)
        return [(c.name,) for c in columns], False
    if len(paths) != len(columns):
        raise LoadError(f"JSONPaths file {mode} has {len(paths)} expressions but the table has "
                        f"{len(columns)} columns; they are matched by position, so the counts must be equal",
                        table=spec.table)
    return paths, False


def _sources(spec: CopySpec, client_factory) -> Iterator[SourceFile]:
    if spec.files is not None:
        return iter(spec.files)
    if spec.manifest:
        return list_manifest(spec.source, client_factory)
    if is_s3(spec.source):
        return list_s3(client_factory(), spec.source)
    return list_local(spec.source)


class PreparedCopy:
    """An emulated COPY whose reading and converting already runs (see prepare_copy): up to
    PREFETCH_CHUNKS chunks of COPY text wait for emulate_copy(..., prepared=this) to send them."""

    def __init__(self, spec: CopySpec):
        self.spec = spec
        self.load: _Load | None = None
        self.chunks: Iterator[bytes] | None = None
        self.error: BaseException | None = None  # a setup error, raised by emulate_copy, in its turn

    def close(self) -> None:
        """Stop the producer (emulate_copy does it; call it for a prepared COPY that will not run)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


PREFETCH_CHUNKS = 8  # chunks of SEND_BYTES (32 MB of COPY text) converted ahead for a prepared COPY


def prepare_copy(conn, spec: CopySpec, *, start: bool = True) -> PreparedCopy:
    """Set up an emulated COPY on `conn` (catalog, JSONPaths, listing) and, with `start`, begin reading and
    converting its files in a thread, so that the work overlaps with whatever `conn` does before
    emulate_copy(conn, spec, prepared=...) sends the result (etl.py: the previous table's COPY). Errors are
    kept and raised by emulate_copy, so they surface in the COPY's turn."""
    prepared = PreparedCopy(spec)
    try:
        prepared.load = _setup(conn, spec)
    except LoadError as exc:
        prepared.error = exc
        return prepared
    if start:
        prepared.chunks = _Background(prepared.load.chunks(), depth=PREFETCH_CHUNKS)
    return prepared


def _setup(conn, spec: CopySpec) -> _Load:
    oid, columns = read_columns(conn, spec.table)
    clients: list = []

    def client_factory():
        if not clients:
            clients.append(s3_client(spec.endpoint_url, spec.region))
        return clients[0]

    try:
        paths, ignorecase = _paths(spec, columns, client_factory)
        builder = RowBuilder(columns, paths, _options(spec), ignorecase=ignorecase)
        listing = _sources(spec, client_factory)
        first = next(listing)
    except StopIteration:
        raise LoadError(f"{spec.table}: COPY found no file: the specified S3 prefix '{spec.source}' does not exist "
                        "(the FROM value is a key prefix: check [S3] in the configuration)", table=spec.table) from None
    except LoadError as exc:
        raise _named(exc, spec.table) from None
    except ValueError as exc:  # an unsupported TIMEFORMAT
        raise LoadError(f"{spec.table}: {exc}", table=spec.table) from None
    load = _Load(spec, columns, builder, oid, conn.get_backend_pid(), iter(()), client_factory, None)
    load.sources = _counted(itertools.chain([first], listing), load)
    return load


def emulate_copy(conn, spec: CopySpec, *, error_conn_factory: Callable[[], object],
                 progress: Callable[[dict], None] | None = None, prepared: PreparedCopy | None = None) -> CopyResult:
    """Load `spec` into `spec.table` on PostgreSQL as Redshift's COPY would (see the module docstring).
    `prepared`: from prepare_copy(conn, spec) (its converted chunks are sent first)."""
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
        chunks = _Background(load.chunks())
    reader = _ChunkReader(chunks)
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
            _save_errors(spec, error_conn_factory, load.errors)
            if failure is None:
                raise
            raise failure from (cause if not isinstance(cause, LoadError) else None)
        if use_savepoint:
            cur.execute(sql.SQL("release savepoint {}").format(savepoint))
    _save_errors(spec, error_conn_factory, load.errors)
    seconds = time.monotonic() - t0
    result = CopyResult(table=spec.table, files=load.files_done, loaded=load.loaded, rejected=len(load.errors),
                        errors=load.errors, seconds=seconds)
    if result.rejected:
        log.info("%s; %d rows loaded", format_load_errors(spec.table, load.errors, spec.maxerror), result.loaded)
    log.debug("%s: loaded %d rows from %d files in %.2f s (%d rejected)", spec.table, result.loaded, result.files,
             seconds, result.rejected)
    return result


def _counted(sources: Iterator[SourceFile], load: _Load) -> Iterator[SourceFile]:
    """Pass the listing through, setting load.files_total once it is exhausted (it is never held whole)."""
    n = 0
    for n, src in enumerate(sources, 1):
        yield src
    load.files_total = n


def _named(exc: LoadError, table: str) -> LoadError:
    """`exc` with the table name in front of its message (once)."""
    if exc.table is None:
        exc.table = table
    if not str(exc).startswith(f"{table}: "):
        exc.args = (f"{table}: {exc}",)
    return exc


def _failure(spec: CopySpec, load: _Load, cause: BaseException) -> LoadError | None:
    """The LoadError to raise for a COPY that failed with `cause` (None: re-raise the original)."""
    if isinstance(cause, LoadError):
        _named(cause, spec.table)
        if not cause.rejected:
            cause.rejected = load.errors
        return cause
    if isinstance(cause, ObjectTooLarge):
        src_key = _current_key(load)
        load.errors.append({
            "userid": 0, "slice": 0, "tbl": load.oid, "starttime": load.starttime, "session": load.session,
            "query": None, "filename": src_key[0], "key": src_key[1], "line_number": cause.lineno, "colname": "",
            "type": "", "col_length": "", "position": 0, "raw_line": "", "raw_field_value": "", "err_code": 1216,
            "err_reason": f"JSON object exceeds the 4 MB limit ({cause.size} bytes)", "is_partial": 0,
            "start_offset": 0})
        return LoadError(f"{spec.table}: COPY failed: {src_key[1]} line {cause.lineno}: {cause} (whatever MAXERROR "
                         "says; split the object or load it another way) (see stl_load_errors)",
                         table=spec.table, rejected=load.errors)
    if isinstance(cause, psycopg2.Error):
        first = (cause.pgerror or str(cause)).strip().splitlines()[0]
        return LoadError(f"{spec.table}: PostgreSQL rejected the emulated COPY: {first}", table=spec.table,
                         rejected=load.errors)
    return None


def _current_key(load: _Load) -> tuple[str, str]:
    return getattr(load, "current", ("", ""))


def _save_errors(spec: CopySpec, error_conn_factory, errors: list[dict]) -> None:
    if not errors:
        return
    try:
        write_load_errors(error_conn_factory, errors)
    except Exception as exc:  # never hide the load's own outcome
        log.warning("%s: could not write %d rows to stl_load_errors: %s", spec.table, len(errors), exc)
