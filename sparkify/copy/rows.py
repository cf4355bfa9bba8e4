"""Decoded JSON records -> lines of PostgreSQL COPY text: the per-record hot loop of the emulator.

`RowBuilder.slow(record)` is the reference: a plain loop over the columns' converters
(sparkify.copy.convert); it names the column when a value is rejected.

`RowBuilder.pump_bytes(stream, ctx)` is what the emulator runs: COPY text in chunks of bytes. With the
native accelerator (sparkify.copy.native), C converts the lines it is sure about and every line it
declines goes through `ctx.handle`, the same slow path the Python hot loop uses; without it, it is
`pump` with its rows joined and encoded.

`RowBuilder.pump(lines, ctx)` is the Python hot loop, generated once per COPY from the columns (the way
dataclasses and namedtuple generate code). For each line it parses the JSON with orjson and, for each
column, inlines the lookup and a fast path for the common cases (a short plain string into VARCHAR, an
int or a digit string into INTEGER, a float into DOUBLE PRECISION, epoch milliseconds into TIMESTAMP,
JSON null); anything else goes to the column's converter. Any exception for a line (malformed JSON, a
rejected value, a non-object record) hands the line to `ctx.handle(line, lines, out)`, which recovers
or rejects it and may consume further lines from the same iterator (multi-line JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, Protocol

import orjson

from sparkify.copy import native as _native
from sparkify.copy.convert import NULL, Column, Options, Reject, date_text, make_converter

Path = tuple  # of str (object member) and int (array index)

CHUNK_ROWS = 2048  # rows per list yielded by pump()
CHUNK_BYTES = 1 << 20  # COPY text per chunk yielded by pump_bytes(), and input read per block
MAX_LINE_BYTES = 4 * 1024 * 1024  # longer lines go to ctx.handle, which enforces the 4 MB object limit

_INT_DIGITS = {"int2": 4, "int4": 9, "int8": 18}  # an ASCII digit string this long always fits
_INT_BOUNDS = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1), "int8": (-(2**63), 2**63 - 1)}
# Epoch milliseconds of timestamps in years 1..9999 (the general converter handles the full range).
_MS_LO, _MS_HI = -62_135_596_800_000, 253_402_300_799_999
_HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}." for s in range(86_400)]
_MS3 = [f"{ms:03d}" for ms in range(1000)]
_CACHE_LIMIT = 20_000  # per cache; 200,000 made memory grow with the data (bench: 291 -> 342 MB, 1M -> 5M)


class RowReject(Exception):
    """A record was rejected: which column (index, or None for the whole record) and why."""

    def __init__(self, column: int | None, reject: Reject):
        super().__init__(reject.reason)
        self.column = column
        self.reject = reject


class PumpContext(Protocol):
    lineno: int
    missing: int  # records that lacked a member (KeyError in the subscript variant)

    def handle(self, line: bytes, lines: Iterator[bytes], out: list[str]) -> None: ...


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


class _DayCache(dict):
    """days since 1970-01-01 -> 'YYYY-MM-DD ' (years 1..9999 only: the fast path's range)."""

    def __missing__(self, days: int) -> str:
        if len(self) > _CACHE_LIMIT:
            self.clear()
        text = self[days] = date_text(days) + " "
        return text


class _ReprCache(dict):
    """number -> its text: values repeat a lot in event data (durations, registration times, ids)."""

    def __missing__(self, value: float | int) -> str:
        if len(self) > _CACHE_LIMIT:
            self.clear()
        text = self[value] = repr(value)
        return text


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
        self.source = ""
        # pump(lines, ctx) -> lists of COPY lines. pump_get is the variant for data that often lacks members.
        self.pump: Callable[[Iterator[bytes], PumpContext], Iterator[list[str]]] = self._generate(subscript=True)
        self.pump_get: Callable[[Iterator[bytes], PumpContext], Iterator[list[str]]] = self._generate(subscript=False)
        self.native = _native.converter(self.columns, self.paths, opts, ignorecase) if native else None

    # ----------------------------------------------------------------- bytes out
    def pump_bytes(self, stream: BinaryIO, ctx: PumpContext, *, use_get: bool = False) -> Iterator[tuple[bytes, int]]:
        """(COPY text, rows) chunks of a binary stream of JSON lines, in order (see the module docstring)."""
        conv = self.native
        if conv is None:
            for rows in (self.pump_get if use_get else self.pump)(stream, ctx):
                yield encode_rows(rows), len(rows)
            return
        reader = LineReader(stream)
        parts: list[bytes] = []
        size = nrows = 0
        slow_rows: list[str] = []  # rows of declined lines, converted by ctx.handle
        while True:
            buf, pos, end = reader.block()
            if pos >= end:
                break
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

    # ----------------------------------------------------------------- reference implementation
    def slow(self, record: Any) -> str:
        """Convert one record; raise RowReject naming the column of the first rejected value."""
        if type(record) is not dict:
            if type(record) is not list or not self.takes_arrays:
                kind = "JSON array" if type(record) is list else "JSON scalar"
                hint = " (arrays need a JSONPaths file with index paths like $[0])" if type(record) is list else ""
                raise RowReject(None, Reject(1216, f"Invalid JSON: a {kind} is not a record, expected an object{hint}"))
        elif self.ignorecase:
            record = lower_keys(record)
        fields = []
        for i, (path, conv, col) in enumerate(zip(self.paths, self.converters, self.columns)):
            v = get_path(record, path)
            if v is None:
                v = NULL
            else:
                try:
                    v = conv(v)
                except Reject as exc:
                    raise RowReject(i, exc) from None
            if v is NULL and col.not_null:
                raise RowReject(i, Reject(1213, "Missing data for not-null field"))
            fields.append(v)
        return "\t".join(fields)

    # ----------------------------------------------------------------- generated hot loop
    def _fast_path(self, i: int, col: Column) -> tuple[str, str] | None:
        """(condition on v, expression) of column i's inline fast path, or None.

        Strings: `v > '!'` is false for "" and for strings that start with a space or a control character
        (those take the converter: EMPTYASNULL, BLANKSASNULL); a tab is checked per value, and backslash,
        newline, carriage return and NUL once per line (see _generate)."""
        kind = col.kind
        if kind in ("varchar", "char", "text"):
            if kind == "char":
                size = f" and len(v) <= {col.length} and v.isascii()"
            elif col.length is None:
                size = ""
            else:
                size = f" and (len(v) <= {col.length // 4} or (len(v) <= {col.length} and v.isascii()))"
            return f"v.__class__ is str and v > '!'{size} and '\\t' not in v", "v"
        if kind in _INT_DIGITS:
            lo, hi = _INT_BOUNDS[kind]
            return (f"(v.__class__ is int and {lo} <= v <= {hi}) or (v.__class__ is str and v.isdigit() "
                    f"and len(v) <= {_INT_DIGITS[kind]} and v.isascii())", "v if v.__class__ is str else _is[v]")
        if kind == "float8":
            return "v.__class__ is float", "_fr[v]"
        if kind == "bool":
            return "v is True or v is False", "'t' if v else 'f'"
        if kind == "timestamp" and (self.opts.timeformat or "").lower() == "epochmillisecs":
            return (f"v.__class__ is int and {_MS_LO} <= v <= {_MS_HI}",
                    "_days[v // 86400000] + _HMS[v // 1000 % 86400] + _MS3[v % 1000]")
        return None

    def _generate(self, subscript: bool) -> Callable:
        """The hot loop. With `subscript`, members are read as o[key] (faster than o.get(key)): a record
        missing a member raises KeyError and takes the slow path, which loads NULL for it."""
        ns: dict[str, Any] = {
            "N": NULL, "loads": orjson.loads, "_lower": lower_keys, "_get": get_path, "_fr": _ReprCache(),
            "_is": _ReprCache(), "_days": _DayCache(), "_HMS": _HMS, "_MS3": _MS3, "_slow": self.slow,
            "_arrays": self.takes_arrays,
        }
        simple = all(len(p) == 1 and type(p[0]) is str for p in self.paths)
        body: list[str] = []
        if simple:
            body.append("if o.__class__ is not dict: raise TypeError")
            if self.ignorecase:
                body.append("o = _lower(o)")
        else:
            body.append("if o.__class__ is not dict and (o.__class__ is not list or not _arrays): raise TypeError")
            if self.ignorecase:
                body.append("if o.__class__ is dict: o = _lower(o)")
        names = []
        for i, (col, path) in enumerate(zip(self.columns, self.paths)):
            ns[f"_c{i}"] = self.converters[i]
            ns[f"_p{i}"] = path
            if simple:
                body.append(f"v = o[{path[0]!r}]" if subscript else f"v = o.get({path[0]!r})")
            else:
                body.append(f"v = _get(o, _p{i})")
            fast = self._fast_path(i, col)
            if fast is not None:
                cond, expr = fast
                body.append(f"if {cond}: f{i} = {expr}")
                body.append(f"elif v is None: f{i} = N")
            else:
                body.append(f"if v is None: f{i} = N")
            body.append(f"else: f{i} = _c{i}(v)")
            if col.not_null:
                body.append(f"if f{i} is N: raise ValueError")
            names.append(f"f{i}")
        body.append(f"r = '\\t'.join(({', '.join(names)},))")
        # A fast-path string may hold a backslash, a newline, a CR or a NUL only if the line has a backslash
        # escape; converter output is escaped already and then takes the slow path, which gives the same line.
        body.append("if '\\\\' in r or '\\n' in r or '\\r' in r or '\\x00' in r: r = _slow(o)")
        body.append("app(r)")
        inner = "\n".join("            " + line for line in body)
        source = f"""
def pump(lines, ctx):
    out = []
    app = out.append
    lineno = ctx.lineno
    for line in lines:
        lineno += 1
        try:
            if len(line) > {MAX_LINE_BYTES}: raise OverflowError
            o = loads(line)
{inner}
        except KeyError:
            ctx.lineno = lineno
            ctx.missing += 1
            ctx.handle(line, lines, out)
            lineno = ctx.lineno
        except Exception:
            ctx.lineno = lineno
            ctx.handle(line, lines, out)
            lineno = ctx.lineno
        if len(out) >= {self.chunk_rows}:
            ctx.lineno = lineno
            yield out
            out = []
            app = out.append
    ctx.lineno = lineno
    if out:
        yield out
"""
        exec(compile(source, "<sparkify.copy.rows.pump>", "exec"), ns)  # noqa: S102 - names via repr(), see docstring
        self.source = source
        return ns["pump"]


def encode_rows(rows: list[str]) -> bytes:
    """COPY lines (without their newlines) as the bytes COPY FROM STDIN takes."""
    return ("\n".join(rows) + "\n").encode("utf-8")


class LineReader:
    """The lines of a binary stream (iterating gives them one by one, as a file does), and blocks of whole
    lines for the native converter: `block()` -> (buf, start, end), after which the caller sets `pos` to
    how far it got."""

    def __init__(self, stream: BinaryIO, block_bytes: int = CHUNK_BYTES):
        self.stream = stream
        self.block_bytes = block_bytes
        self.buf = b""
        self.pos = 0
        self.eof = False

    def _fill(self) -> None:
        data = self.stream.read(self.block_bytes)
        if not data:
            self.eof = True
            return
        self.buf = self.buf[self.pos:] + data if self.pos < len(self.buf) else data  # (a partial line + data)
        self.pos = 0

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
            self._fill()

    def block(self) -> tuple[bytes, int, int]:
        """Whole lines buf[start:end] (the last line of the stream may lack its newline); start == end at
        the end of the stream."""
        while True:
            i = self.buf.rfind(b"\n", self.pos)
            if i >= 0:
                return self.buf, self.pos, i + 1
            if self.eof:
                return self.buf, self.pos, len(self.buf)
            self._fill()


def convert_records(builder: RowBuilder, records: Sequence[Any]) -> list[str]:
    """The COPY lines of already-parsed records through the generated hot loop (tests and recovery)."""

    class _Ctx:
        lineno = 0
        missing = 0

        def handle(self, line, lines, out):  # a rejected record: use the reference, which raises
            out.append(builder.slow(orjson.loads(line)))

    lines = [orjson.dumps(r) for r in records]
    result: list[str] = []
    for chunk in builder.pump(iter(lines), _Ctx()):
        result.extend(chunk)
    return result
