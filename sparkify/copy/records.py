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


class ObjectTooLarge(Exception):
    def __init__(self, lineno: int, size: int):
        super().__init__(f"a JSON object of {size} bytes exceeds Redshift's limit of {MAX_OBJECT_BYTES} bytes (4 MB)")
        self.lineno = lineno
        self.size = size


@dataclass
class Malformed:
    """A record that is not valid JSON (or not a JSON object/array)."""

    reason: str


@dataclass
class Found:
    lineno: int
    value: Any  # a parsed JSON value, or Malformed
    raw: bytes  # the record's bytes (for stl_load_errors.raw_line)


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
    n = len(data)
    while pos < n:
        if in_string:
            m = _IN_STRING.search(data, pos)
            if m is None:
                return n, True, depth
            if data[m.start()] == 0x5C:  # backslash: skip the escaped byte
                pos = m.start() + 2
                continue
            in_string = False
            pos = m.end()
            continue
        m = _INTERESTING.search(data, pos)
        if m is None:
            return n, False, depth
        c = data[m.start()]
        pos = m.end()
        if c == 0x22:
            in_string = True
        elif c in (0x7B, 0x5B):
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return pos, False, 0
    return n, in_string, depth


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
                for nxt in lines:
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
                    found.append(Found(at, Malformed("Invalid JSON: truncated object (end of file inside the object)"),
                                       b"".join(parts).strip(_WS)))
                break
        return found, consumed
