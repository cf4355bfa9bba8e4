"""Decoded JSON records -> lines of PostgreSQL COPY text: the per-record loop of the emulator.

`RowBuilder.row(record)` is the Python reference for a record: a plain loop over the columns' converters
(sparkify.copy.convert, where every conversion rule lives once); it names the column when a value is
rejected. `RowBuilder.pump(lines, ctx)` runs it over the lines of a file: each line is parsed with orjson
and converted by `row`; any exception for a line (malformed JSON, a rejected value, a non-object record,
a line over 4 MB) hands the line to `ctx.handle(line, lines, out)`, which recovers or rejects it and may
consume further lines from the same iterator (multi-line JSON).

`RowBuilder.pump_bytes(stream, ctx)` is what the emulator runs: COPY text in chunks of bytes. With the
C accelerator (sparkify.copy.native), C converts the lines it is sure about and every line it declines
goes through `ctx.handle`, i.e. the same Python path; without it, it is `pump` with its rows encoded.
Either way the lines come from a `LineReader`, which holds at most about 4 MB of a line: a longer one goes
to `ctx.handle_long(reader)`, which reads it in pieces (Redshift's 4 MB limit applies as it is read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, Protocol

import orjson

from sparkify.copy import native as _native
from sparkify.copy.convert import NULL, Column, Options, Reject, make_converter
from sparkify.copy.records import LongLine

Path = tuple  # of str (object member) and int (array index)

CHUNK_ROWS = 2048  # rows per list yielded by pump()
CHUNK_BYTES = 1 << 20  # COPY text per chunk yielded by pump_bytes(), and input read per block
MAX_LINE_BYTES = 4 * 1024 * 1024  # longer lines go to ctx.handle, which enforces the 4 MB object limit

_CHAR = ("varchar", "char", "text")
# Remembered strings per character column, each at most MEMO_MAX_CHARS long: a few MB at most, whatever the
# input (memory does not grow with it).
MEMO_LIMIT = 4096
MEMO_MAX_CHARS = 256


class RowReject(Exception):
    """A record was rejected: which column (index, or None for the whole record) and why."""

    def __init__(self, column: int | None, reject: Reject):
        super().__init__(reject.reason)
        self.column = column
        self.reject = reject


class PumpContext(Protocol):
    lineno: int

    def handle(self, line: bytes, lines: Iterator[bytes], out: list[str]) -> None: ...

    def handle_long(self, reader: LineReader) -> Iterator[list[str]]: ...


def get_path(obj: Any, path: Path) -> Any:
    """The element at `path`, or None if any step is missing or of the wrong type."""
    for step in path:
        if type(step) is str:
            if type(obj) is not dict:
                return None
            obj = obj.get(step)
        else:
            if type(obj) is not list or not 0 <= step < len(obj):
                return None
            obj = obj[step]
        if obj is None:
            return None
    return obj


def lower_keys(obj: dict) -> dict:
    """'auto ignorecase': the record with lower-cased member names (the first of colliding names wins)."""
    out: dict = {}
    for k, v in obj.items():
        out.setdefault(k.lower(), v)
    return out


class RowBuilder:
    """Converts records for one COPY: `paths[i]` locates column i's value in a record."""

    def __init__(self, columns: Sequence[Column], paths: Sequence[Path], opts: Options, *, ignorecase: bool = False,
                 chunk_rows: int = CHUNK_ROWS, native: bool = True):
        if len(columns) != len(paths):
            raise ValueError("one path per column is required")
        self.columns = list(columns)
        self.paths = [tuple(p) for p in paths]
        self.opts = opts
        self.ignorecase = ignorecase
        self.chunk_rows = chunk_rows
        self.converters: list[Callable[[Any], str]] = [make_converter(c, opts) for c in columns]
        self.takes_arrays = any(p and type(p[0]) is int for p in self.paths)
        # one member name per column (the common case): record.get(name) instead of walking a path
        self._by_name = all(len(p) == 1 and type(p[0]) is str for p in self.paths)
        # per column: (index, member name or path, converter, its memo or None, not null). Character columns
        # remember what their converter made of a string (event data repeats values a lot: names, pages,
        # user agents), so that a repeated value costs a dict lookup. A cache, not a second copy of a rule:
        # a converter's result depends only on the value; rejected values and NULLs are not remembered.
        self._plan = tuple((i, p[0] if self._by_name else p, conv, {} if col.kind in _CHAR else None, col.not_null)
                           for i, (p, conv, col) in enumerate(zip(self.paths, self.converters, self.columns)))
        self.native = _native.converter(self.columns, self.paths, opts, ignorecase) if native else None

    # ----------------------------------------------------------------- the reference
    def row(self, record: Any) -> str:
        """One record as a line of COPY text; raise RowReject naming the column of the first rejected value."""
        if type(record) is not dict:
            if type(record) is not list or not self.takes_arrays:
                kind = "JSON array" if type(record) is list else "JSON scalar"
                hint = " (arrays need a JSONPaths file with index paths like $[0])" if type(record) is list else ""
                raise RowReject(None, Reject(1216, f"Invalid JSON: a {kind} is not a record, expected an object{hint}"))
        elif self.ignorecase:
            record = lower_keys(record)
        get = record.get if self._by_name else None
        fields = []
        append = fields.append
        for i, path, conv, memo, not_null in self._plan:
            v = get(path) if get is not None else get_path(record, path)
            if v is None:
                if not_null:
                    raise RowReject(i, Reject(1213, "Missing data for not-null field"))
                append(NULL)
                continue
            if memo is not None and v.__class__ is str:
                field = memo.get(v)
                if field is not None:
                    append(field)
                    continue
            try:
                field = conv(v)
            except Reject as exc:
                raise RowReject(i, exc) from None
            if field is NULL:
                if not_null:
                    raise RowReject(i, Reject(1213, "Missing data for not-null field"))
            elif memo is not None and v.__class__ is str and len(v) <= MEMO_MAX_CHARS:
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                memo[v] = field
            append(field)
        return "\t".join(fields)

    def pump(self, lines: Iterator[bytes], ctx: PumpContext) -> Iterator[list[str]]:
        """Lists of COPY lines (up to chunk_rows each) of an iterator of JSON lines (see the module docstring).
        A line too long to hold (`lines` raises LongLine: a LineReader) goes to ctx.handle_long, in pieces."""
        row, loads, chunk_rows = self.row, orjson.loads, self.chunk_rows
        out: list[str] = []
        lineno = ctx.lineno
        while True:
            try:
                for line in lines:
                    lineno += 1
                    try:
                        if len(line) > MAX_LINE_BYTES:
                            raise OverflowError
                        out.append(row(loads(line)))
                    except Exception:  # noqa: BLE001 - the slow path: recovers what it can, rejects the rest, or raises
                        ctx.lineno = lineno
                        ctx.handle(line, lines, out)
                        lineno = ctx.lineno
                    if len(out) >= chunk_rows:
                        ctx.lineno = lineno
                        yield out
                        out = []
            except LongLine:
                ctx.lineno = lineno + 1
                for rows in ctx.handle_long(lines):
                    out += rows
                    if len(out) >= chunk_rows:
                        yield out
                        out = []
                lineno = ctx.lineno
                continue
            break
        ctx.lineno = lineno
        if out:
            yield out

    # ----------------------------------------------------------------- bytes out
    def pump_bytes(self, stream: BinaryIO, ctx: PumpContext) -> Iterator[tuple[bytes, int]]:
        """(COPY text, rows) chunks of a binary stream of JSON lines, in order (see the module docstring)."""
        conv = self.native
        reader = LineReader(stream)
        if conv is None:
            for rows in self.pump(reader, ctx):
                yield encode_rows(rows), len(rows)
            return
        parts: list[bytes] = []
        size = nrows = 0
        slow_rows: list[str] = []  # rows of declined lines, converted by ctx.handle
        while True:
            buf, pos, end = reader.block()
            if pos >= end:
                if reader.exhausted:
                    break
                ctx.lineno += 1  # a line too long to hold: its records as they arrive
                for rows in ctx.handle_long(reader):
                    slow_rows += rows
                    if len(slow_rows) >= self.chunk_rows:
                        parts.append(encode_rows(slow_rows))
                        nrows += len(slow_rows)
                        slow_rows.clear()
                        yield b"".join(parts), nrows
                        parts, size, nrows = [], 0, 0
                continue
            while pos < end:
                status, pos, payload, rows = conv.convert(buf, pos, end)
                if rows:
                    if slow_rows:
                        parts.append(encode_rows(slow_rows))
                        nrows += len(slow_rows)
                        slow_rows.clear()
                    ctx.lineno += rows
                    if not parts and len(payload) >= CHUNK_BYTES // 2:  # big enough: no copy
                        yield payload, rows
                    else:
                        parts.append(payload)
                        size += len(payload)
                        nrows += rows
                if status == _native.DECLINED:
                    reader.pos = pos
                    line = next(reader)
                    ctx.lineno += 1
                    ctx.handle(line, reader, slow_rows)  # may read further lines (a multi-line object)
                    break
            else:
                reader.pos = end
            if size >= CHUNK_BYTES or len(slow_rows) >= self.chunk_rows:
                if slow_rows:
                    parts.append(encode_rows(slow_rows))
                    nrows += len(slow_rows)
                    slow_rows.clear()
                yield b"".join(parts), nrows
                parts, size, nrows = [], 0, 0
        if slow_rows:
            parts.append(encode_rows(slow_rows))
            nrows += len(slow_rows)
        if parts:
            yield b"".join(parts), nrows


def encode_rows(rows: list[str]) -> bytes:
    """COPY lines (without their newlines) as the bytes COPY FROM STDIN takes."""
    return ("\n".join(rows) + "\n").encode("utf-8")


class LineReader:
    """The lines of a binary stream (iterating gives them one by one, as a file does), and blocks of whole
    lines for the native converter: `block()` -> (buf, start, end), after which the caller sets `pos` to
    how far it got.

    It never holds more than `max_line` bytes of one line plus one block: a longer line raises LongLine from
    next() (block() returns no line, with `exhausted` false), and `line_parts()` then reads that line in
    pieces, up to and including its newline (sparkify.copy.records.LineSplitter splits them into records)."""

    def __init__(self, stream: BinaryIO, block_bytes: int | None = None, max_line: int | None = None):
        self.stream = stream
        self.block_bytes = CHUNK_BYTES if block_bytes is None else block_bytes
        self.max_line = MAX_LINE_BYTES if max_line is None else max_line
        self.buf = b""
        self.pos = 0
        self.eof = False

    @property
    def exhausted(self) -> bool:
        """Whether every byte of the stream has been handed out."""
        return self.eof and self.pos >= len(self.buf)

    def _fill(self) -> None:
        data = self.stream.read(self.block_bytes)
        if not data:
            self.eof = True
            return
        self.buf = self.buf[self.pos:] + data if self.pos < len(self.buf) else data  # (a partial line + data)
        self.pos = 0

    def _too_long(self) -> bool:
        """Whether the line at `pos`, still without its newline, is longer than max_line already."""
        return len(self.buf) - self.pos > self.max_line

    def __iter__(self) -> LineReader:
        return self

    def __next__(self) -> bytes:
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i + 1]
                self.pos = i + 1
                return line
            if self.eof:
                if self.pos < len(self.buf):
                    line = self.buf[self.pos:]
                    self.pos = len(self.buf)
                    return line
                raise StopIteration
            if self._too_long():
                raise LongLine
            self._fill()

    def block(self) -> tuple[bytes, int, int]:
        """Whole lines buf[start:end] (the last line of the stream may lack its newline); start == end at
        the end of the stream, or before a line too long to hold (then `exhausted` is false)."""
        while True:
            i = self.buf.rfind(b"\n", self.pos)
            if i >= 0:
                return self.buf, self.pos, i + 1
            if self.eof:
                return self.buf, self.pos, len(self.buf)
            if self._too_long():
                return self.buf, self.pos, self.pos
            self._fill()

    def line_parts(self) -> Iterator[bytes]:
        """The line at `pos` in pieces (what is buffered of it, then one block at a time), its newline included;
        afterwards `pos` is at the start of the next line."""
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                part, self.pos = self.buf[self.pos:i + 1], i + 1
                yield part
                return
            part = self.buf[self.pos:]
            self.buf, self.pos = b"", 0
            if part:
                yield part
            if self.eof:
                return
            data = self.stream.read(self.block_bytes)
            if not data:
                self.eof = True
                return
            self.buf = data
