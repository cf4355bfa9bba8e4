"""Splitting a JSON data file into records: the slow path for everything that is not one object per line.

The emulator's hot loop parses each line with orjson. When that fails, `recover()` takes over from that
line, pulling more lines from the same iterator when a value spans several lines, and returns what it
found: parsed records and malformed ones, each with the line number where it starts.

- A UTF-8 byte order mark at the start of a file is skipped; blank lines are skipped.
- Several values on one line (`{...} {...}`) are separate records.
- A value left open at the end of its line continues on the following lines (pretty-printed JSON) until
  its brackets balance. It is cut short (and rejected as truncated) when a line that starts at column 0
  holds a complete JSON object by itself: that is where newline-delimited data resumes.
- A line that ends inside a string is malformed (JSON strings cannot hold a raw newline): rejected,
  and parsing resumes on the next line.
- Invalid UTF-8: with ACCEPTINVCHARS each invalid byte is replaced by the replacement character before
  parsing; without it the value is parsed from its surrogateescape decoding, so the invalid bytes reach
  the column's converter, which rejects the record naming the column (err 1220).
- An object larger than MAX_OBJECT_BYTES fails the whole COPY (ObjectTooLarge), as on Redshift.

A line too long for the reader to hold (sparkify.copy.rows.LineReader: more than about 4 MB before its newline)
is never held whole: `LineSplitter` reads it in pieces and hands over each top-level value as its closing
bracket arrives, so the values of one huge line (JSON objects written back to back, as Kinesis Data Firehose
writes them) load one by one, and a value that grows past MAX_OBJECT_BYTES fails the COPY as soon as it does,
without reading the rest of the line. Memory stays within a few times 4 MB, whatever the line's length.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

MAX_OBJECT_BYTES = 4 * 1024 * 1024  # Redshift: "The maximum size of a single JSON object or array ... is 4 MB"
BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n"
_INTERESTING = re.compile(rb'[\[\]{}"]')
_IN_STRING = re.compile(rb'["\\]')
_NOT_WS = re.compile(rb"[^ \t\r\n]")
RAW_KEEP = 4096  # bytes of a malformed part of a huge line kept as the record's bytes (memory stays bounded)


class ObjectTooLarge(Exception):
    """A JSON value of more than MAX_OBJECT_BYTES. `size`: its size, or (complete=False, a value still open when
    the limit was passed) the bytes read of it so far."""

    def __init__(self, lineno: int, size: int, *, complete: bool = True):
        size_text = f"{size} bytes" if complete else f"more than {MAX_OBJECT_BYTES} bytes"
        super().__init__(f"a JSON object of {size_text} exceeds Redshift's limit of {MAX_OBJECT_BYTES} bytes (4 MB)")
        self.lineno = lineno
        self.size = size
        self.complete = complete


class LongLine(Exception):
    """A line reader's signal: the next line is too long to hold whole (read it in pieces: LineSplitter)."""


@dataclass
class Malformed:
    """A record that is not valid JSON (or not a JSON object/array)."""

    reason: str


@dataclass
class Found:
    lineno: int
    value: Any  # a parsed JSON value, or Malformed
    raw: bytes  # the record's bytes


def _replace_per_byte(char: str):
    def handler(exc: UnicodeDecodeError):
        return char * (exc.end - exc.start), exc.end

    return handler


def register_acceptinvchars(char: str) -> str:
    """A codec error handler name that replaces every invalid byte by `char` (ACCEPTINVCHARS)."""
    name = f"sparkify_acceptinvchars_{ord(char)}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, _replace_per_byte(char))
    return name


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_value(data: bytes) -> Any:
    """Parse one JSON value; invalid UTF-8 and escaped lone surrogates come back as lone surrogates.
    Raises ValueError (with orjson's message) when the bytes are not one valid JSON value."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        first = exc
    try:
        text = data.decode("utf-8", "surrogateescape")
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ValueError(str(first)) from None


def _scan(data: bytes, pos: int, depth: int, in_string: bool) -> tuple[int, bool, int]:
    """Advance a bracket scanner over data[pos:] until depth returns to 0 (returns the index after the
    closing bracket) or the data ends (returns len(data)). Returns (index, in_string, depth)."""
    end, depth, in_string, _ = _scan_piece(data, pos, depth, in_string, False)
    return end, in_string, depth


def _starts_complete_object(line: bytes) -> bool:
    if not line.startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


class Recovery:
    """Slow-path parsing for one file; `recover` is called with the line orjson could not parse."""

    def __init__(self, acceptinvchars: str | None):
        self.errors_handler = register_acceptinvchars(acceptinvchars) if acceptinvchars is not None else None

    def _fix_utf8(self, data: bytes) -> bytes:
        if self.errors_handler is None or data.isascii():
            return data
        try:
            data.decode("utf-8")
            return data
        except UnicodeDecodeError:
            return data.decode("utf-8", self.errors_handler).encode("utf-8")

    def _one(self, lineno: int, data: bytes) -> Found:
        data = data.strip(_WS)
        if len(data) > MAX_OBJECT_BYTES:
            raise ObjectTooLarge(lineno, len(data))
        try:
            value = parse_value(self._fix_utf8(data))
        except ValueError as exc:
            return Found(lineno, Malformed(f"Invalid JSON: {exc}"), data)
        return Found(lineno, value, data)

    def recover(self, line: bytes, lineno: int, lines: Iterator[bytes], first_line: bool) -> tuple[list[Found], int]:
        """Records from `line` (at `lineno`) onwards; returns them and the number of extra lines consumed."""
        if first_line and line.startswith(BOM):
            line = line[3:]
        found: list[Found] = []
        consumed = 0
        pending = [(lineno, line)]
        while pending:
            at, text = pending.pop()
            pos = 0
            n = len(text)
            while True:
                # skip whitespace
                while pos < n and text[pos] in _WS:
                    pos += 1
                if pos >= n:
                    break
                if text[pos] not in b"{[":
                    # garbage or a scalar at the top level: the rest of the line is one malformed record
                    found.append(Found(at, Malformed("Invalid JSON: expected a JSON object or array"),
                                       text[pos:].strip(_WS)))
                    break
                end, in_string, depth = _scan(text, pos, 0, False)
                if depth == 0 and not in_string:
                    found.append(self._one(at, text[pos:end]))
                    pos = end
                    continue
                if in_string:  # a raw newline inside a string: malformed
                    found.append(Found(at, Malformed("Invalid JSON: unterminated string at the end of the line"),
                                       text[pos:].strip(_WS)))
                    break
                # an open value: continue on the following lines
                parts = [text[pos:]]
                size = n - pos
                closed = False
                for nxt in _until_long_line(lines):
                    consumed += 1
                    nxt_no = lineno + consumed
                    if _starts_complete_object(nxt):
                        found.append(Found(at, Malformed("Invalid JSON: truncated object (its brackets are not closed "
                                                         f"before line {nxt_no})"), b"".join(parts).strip(_WS)))
                        found.append(self._one(nxt_no, nxt))
                        closed = True
                        break
                    end, in_string, depth = _scan(nxt, 0, depth, False)
                    size += end
                    if size > MAX_OBJECT_BYTES:
                        raise ObjectTooLarge(at, size)
                    if depth == 0 and not in_string:
                        parts.append(nxt[:end])
                        found.append(self._one(at, b"".join(parts)))
                        if end < len(nxt):
                            pending.append((nxt_no, nxt[end:]))
                        closed = True
                        break
                    if in_string:
                        parts.append(nxt)
                        found.append(Found(at, Malformed("Invalid JSON: unterminated string at the end of line "
                                                         f"{nxt_no}"), b"".join(parts).strip(_WS)))
                        closed = True
                        break
                    parts.append(nxt)
                if not closed:
                    why = ("end of file inside the object" if getattr(lines, "exhausted", True) else
                           f"its brackets are not closed before line {lineno + consumed + 1}, a line over 4 MB")
                    found.append(Found(at, Malformed(f"Invalid JSON: truncated object ({why})"),
                                       b"".join(parts).strip(_WS)))
                break
        return found, consumed


def _until_long_line(lines: Iterator[bytes]) -> Iterator[bytes]:
    """The lines of `lines` up to (not including) one too long to hold, which stays for the caller to read."""
    while True:
        try:
            yield next(lines)
        except (StopIteration, LongLine):
            return


def _without_bom(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """The pieces of a file's first line without its UTF-8 byte order mark, however the pieces cut it."""
    head = b""
    for piece in pieces:
        head += piece
        if len(head) >= len(BOM):
            break
    yield head.removeprefix(BOM)
    yield from pieces


def _scan_piece(data: bytes, pos: int, depth: int, in_string: bool, escaped: bool) -> tuple[int, int, bool, bool]:
    """_scan over one piece of a line, resumable at the next piece: (index, depth, in_string, escaped), the index
    after the value's closing bracket when depth returns to 0, else len(data); `escaped`: the piece ended on a
    backslash inside a string, so the next piece's first byte is escaped."""
    n = len(data)
    if escaped and pos < n:
        pos += 1
        escaped = False
    while pos < n:
        if in_string:
            m = _IN_STRING.search(data, pos)
            if m is None:
                return n, depth, True, False
            if data[m.start()] == 0x5C:  # backslash: the escaped byte may be in the next piece
                if m.start() + 1 >= n:
                    return n, depth, True, True
                pos = m.start() + 2
                continue
            in_string = False
            pos = m.end()
            continue
        m = _INTERESTING.search(data, pos)
        if m is None:
            return n, depth, False, False
        c = data[m.start()]
        pos = m.end()
        if c == 0x22:
            in_string = True
        elif c in (0x7B, 0x5B):
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return pos, 0, False, False
    return n, depth, in_string, escaped


class LineSplitter:
    """The records of one line read in pieces (see the module docstring): `records(pieces)` yields each
    top-level value as a Found, as soon as it is complete; a value that passes MAX_OBJECT_BYTES raises
    ObjectTooLarge at once. Afterwards `open_tail` holds a value the line left open (it continues on the next
    lines: hand it to Recovery.recover), else None."""

    def __init__(self, recovery: Recovery, lineno: int, *, first_line: bool):
        self.recovery = recovery
        self.lineno = lineno
        self.first_line = first_line
        self.open_tail: bytes | None = None

    def records(self, pieces: Iterator[bytes]) -> Iterator[Found]:
        lineno = self.lineno
        depth, in_string, escaped = 0, False, False
        value: list[bytes] = []  # the pieces of the value being read
        size = 0
        garbage: bytearray | None = None  # the start of a malformed rest of the line
        for piece in _without_bom(pieces) if self.first_line else pieces:
            pos, n = 0, len(piece)
            if garbage is not None:
                garbage += piece[:max(RAW_KEEP - len(garbage), 0)]
                continue
            while pos < n:
                start = pos
                if depth == 0:
                    m = _NOT_WS.search(piece, pos)
                    if m is None:
                        break
                    start = m.start()
                    if piece[start] not in b"{[":  # garbage or a scalar: the rest of the line is one bad record
                        garbage = bytearray(piece[start:start + RAW_KEEP])
                        break
                    value, size = [], 0
                    pos = start
                end, depth, in_string, escaped = _scan_piece(piece, pos, depth, in_string, escaped)
                value.append(piece[start:end])
                size += end - start
                if size > MAX_OBJECT_BYTES:
                    raise ObjectTooLarge(lineno, size, complete=depth == 0)
                if depth == 0:
                    yield self.recovery._one(lineno, b"".join(value))
                    value, size = [], 0
                pos = end
        if garbage is not None:
            yield Found(lineno, Malformed("Invalid JSON: expected a JSON object or array"), bytes(garbage).strip(_WS))
        elif depth and in_string:
            yield Found(lineno, Malformed("Invalid JSON: unterminated string at the end of the line"),
                        b"".join(value).strip(_WS)[:RAW_KEEP])
        elif depth:
            self.open_tail = b"".join(value)
