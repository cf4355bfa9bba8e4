"""The emulated COPY's conversion: source files -> JSON records -> chunks of COPY text, with Redshift's rules.

`setup_producer(conn, spec)` sets one COPY up: the target's columns from the catalog, the JSONPaths, the
listing of its files.

`ChunkProducer.chunks()` reads the files of one COPY (sparkify.copy.sources), splits them into JSON records
(orjson per line; sparkify.copy.records for everything else) and converts each record into a line of
PostgreSQL's COPY text format (sparkify.copy.rows, and the C converter of sparkify.copy.native for the common
case, many one-line files per call). Rejected records are counted up to MAXERROR (one more fails the COPY) and
kept as sys_load_error_detail rows (sparkify.copy.load_errors); progress is reported every PROGRESS_EVERY seconds.
"""

from __future__ import annotations

import io
import itertools
import logging
import time
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from sparkify.copy import native as native_mod
from sparkify.copy.convert import Column, Options, Reject, column_from_catalog
from sparkify.copy.jsonpaths import JsonPathsError, parse_jsonpaths_file
from sparkify.copy.load_errors import copy_origin, rejected_record
from sparkify.copy.records import MAX_OBJECT_BYTES, Found, LineSplitter, Malformed, ObjectTooLarge, Recovery
from sparkify.copy.redshift import format_load_errors
from sparkify.copy.rows import LineReader, RowBuilder, RowReject
from sparkify.copy.sources import (
    LocalBatch,
    SourceFile,
    file_size,
    is_s3,
    list_local,
    list_manifest,
    list_s3,
    read_all,
    read_location,
    s3_client,
)
from sparkify.copy.spec import CopySpec, prefix_not_found
from sparkify.errors import LoadError

log = logging.getLogger("sparkify.copy")

PROGRESS_EVERY = 0.5  # seconds
# COPY text per chunk handed to psycopg2: it sends a chunk without the GIL, and needs it back between
# chunks; with the converting threads holding it up to the switch interval (5 ms) at a time, bigger
# chunks keep the server fed (1 MB: ~14 ms of server work; 4 MB: ~55 ms).
SEND_BYTES = 4 << 20
ONE_LINE_BATCH = 512  # one-line files converted per native call
LONG_LINE_ROWS = 2048  # rows of a line too long to hold handed on at a time (FileContext.handle_long)


class ChunkProducer:
    """One emulated COPY's conversion: its counters, its rejected records, and the chunks of COPY text."""

    def __init__(self, spec: CopySpec, columns: list[Column], builder: RowBuilder, origin: dict,
                 sources: Iterator[SourceFile], client_factory, progress):
        self.spec = spec
        self.columns = columns
        self.builder = builder
        self.origin = origin  # what each rejected record's row shares (sparkify.copy.load_errors.copy_origin)
        self.sources = sources
        self.client_factory = client_factory
        self.progress = progress
        self.files_done = 0
        self.loaded = 0
        self.current = ("", "")
        self.bytes = 0
        self.errors: list[dict] = []
        self.failure: LoadError | None = None
        self._last_progress = time.monotonic()
        self.files_total: int | None = None

    # ------------------------------------------------------------- errors
    def reject(self, src: SourceFile, lineno: int, raw: bytes, column: int | None, reject: Reject) -> None:
        """Record a rejected record (`raw`, its bytes, is not kept: SYS_LOAD_ERROR_DETAIL has no raw line)."""
        self.add_error(rejected_record(self.origin, url=src.url, key=src.key, lineno=lineno,
                                       column=self.columns[column] if column is not None else None,
                                       error_code=reject.err_code, message=reject.reason))

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
        ctx = FileContext(self, self.builder, src, self._recovery)
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


class FileContext:
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

    def _found(self, item: Found, out: list[str]) -> None:
        if type(item.value) is Malformed:
            self.load.reject(self.src, item.lineno, item.raw, None, Reject(1216, item.value.reason))
        else:
            self._convert(item.lineno, item.raw, item.value, out)

    def handle(self, line: bytes, lines: Iterator[bytes], out: list[str]) -> None:
        lineno = self.lineno
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            found, consumed = self.recovery.recover(line, lineno, lines, lineno == 1)
            self.lineno = lineno + consumed
            for item in found:
                self._found(item, out)
            return
        stripped = line.strip()
        if len(stripped) > MAX_OBJECT_BYTES:
            raise ObjectTooLarge(lineno, len(stripped))
        self._convert(lineno, stripped, record, out)

    def handle_long(self, reader: LineReader) -> Iterator[list[str]]:
        """The rows of line `lineno`, too long for the reader to hold, read in pieces (records.LineSplitter): a
        list of rows every LONG_LINE_ROWS records, so that neither the line nor its rows are held whole."""
        lineno = self.lineno
        splitter = LineSplitter(self.recovery, lineno, first_line=lineno == 1)
        out: list[str] = []
        for item in splitter.records(reader.line_parts()):
            self._found(item, out)
            if len(out) >= LONG_LINE_ROWS:
                yield out
                out = []
        if splitter.open_tail is not None:  # a value the line left open: it continues on the next lines
            found, consumed = self.recovery.recover(splitter.open_tail, lineno, reader, False)
            self.lineno = lineno + consumed
            for item in found:
                self._found(item, out)
        if out:
            yield out


# --------------------------------------------------------------------------- setting up one COPY

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


def setup_producer(conn, spec: CopySpec) -> ChunkProducer:
    """The producer of one emulated COPY on `conn`: the target's columns, the JSONPaths, the first file of the
    listing (LoadError naming the table if any is missing)."""
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
        raise LoadError(f"{spec.table}: COPY found no file: {prefix_not_found(spec.source, spec.setting)}",
                        table=spec.table) from None
    except LoadError as exc:
        raise named_error(exc, spec.table) from None
    except ValueError as exc:  # an unsupported TIMEFORMAT
        raise LoadError(f"{spec.table}: {exc}", table=spec.table) from None
    load = ChunkProducer(spec, columns, builder, copy_origin(conn, oid), iter(()), client_factory, None)
    load.sources = _counted(itertools.chain([first], listing), load)
    return load


def _counted(sources: Iterator[SourceFile], load: ChunkProducer) -> Iterator[SourceFile]:
    """Pass the listing through, setting load.files_total once it is exhausted (it is never held whole)."""
    n = 0
    for n, src in enumerate(sources, 1):
        yield src
    load.files_total = n


def named_error(exc: LoadError, table: str) -> LoadError:
    """`exc` with the table name in front of its message (once)."""
    if exc.table is None:
        exc.table = table
    if not str(exc).startswith(f"{table}: "):
        exc.args = (f"{table}: {exc}",)
    return exc
