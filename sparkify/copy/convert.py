"""JSON value -> PostgreSQL COPY text field, with Redshift's COPY rules per column type. Pure.

A converter takes one decoded JSON value (str, int, float, bool, dict, list; never None: the caller
writes NULL for a JSON null or a missing element) and returns the field as COPY text format wants it
(already escaped), or the NULL marker. A value Redshift would reject raises `Reject(err_code, reason)`,
with Redshift's error code and reason text (sys_load_error_detail.error_code / error_message).

Rules (Amazon Redshift Database Developer Guide: COPY data conversion parameters, COPY from JSON,
Load error reference, Multibyte character load errors):
- A JSON value is converted from its text: a string's content, a number's or a boolean's JSON text, and
  an object or array as compact JSON text (loaded as a string, braces included).
- "" (and, BLANKSASNULL or not, a whitespace-only string) loads NULL into non-character columns: empty
  and blank fields "for other data types, such as INT, are always loaded with NULL". For CHAR/VARCHAR,
  "" -> NULL only with EMPTYASNULL, whitespace-only -> NULL only with BLANKSASNULL.
- Integer columns take [+-]digits only: "39" loads 39, 3.0 and "3.5" are rejected (1207 Invalid digit,
  Value '.'), out-of-range values are rejected (1207 Overflow (Integer valid range ...)).
- VARCHAR(n)/CHAR(n) count bytes of UTF-8. Longer values are rejected (1204 String length exceeds DDL
  length) unless TRUNCATECOLUMNS, which cuts at n bytes, never inside a character. CHAR takes only
  single-byte (ASCII) characters (1220).
- Invalid UTF-8 (seen here as lone surrogates, from surrogateescape decoding or \\udXXX escapes) is
  rejected (1220 String contains invalid or unsupported UTF-8 codepoints) unless ACCEPTINVCHARS, which
  replaced it byte for byte before parsing (see the emulator).
- A NUL character (\\u0000) cannot be stored by PostgreSQL; Redshift fails a load with NUL terminators
  unless NULL AS '\\0' (not available for JSON), so the record is rejected (1220, emulator's wording).
- TIMEFORMAT 'epochmillisecs' / 'epochsecs': integer arithmetic, UTC, exact to the millisecond.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import orjson

# The NULL marker of the emulator's COPY statement (`null E'\\x02'`), instead of text format's default \\N:
# it holds no backslash, so a whole line can be checked for characters that need escaping with a few
# memchr scans (sparkify.copy.rows). A value that is exactly "\x02" is written escaped, as \\x02.
NULL = "\x02"
NULL_SQL = "E'\\x02'"  # the SQL literal of NULL


class Reject(Exception):
    """The value cannot be loaded into its column: the record is rejected (counts against MAXERROR)."""

    def __init__(self, err_code: int, reason: str, raw_value: str | None = None):
        super().__init__(reason)
        self.err_code = err_code
        self.reason = reason
        self.raw_value = raw_value


@dataclass(frozen=True)
class Column:
    """A target column as the catalog describes it."""

    name: str
    type: str  # format_type(): 'character varying(512)', 'integer', 'timestamp without time zone', ...
    kind: str  # int2 int4 int8 float4 float8 numeric bool varchar char text timestamp timestamptz date other
    length: int | None = None  # char/varchar: n (bytes on Redshift); numeric: precision
    scale: int | None = None  # numeric scale
    not_null: bool = False


@dataclass(frozen=True)
class Options:
    """The COPY options that change conversions."""

    timeformat: str | None = None  # None (default formats) | 'auto' | 'epochsecs' | 'epochmillisecs'
    truncatecolumns: bool = False
    blanksasnull: bool = False
    emptyasnull: bool = False
    acceptinvchars: str | None = None


_KIND_BY_TYPE = {
    "smallint": "int2", "integer": "int4", "bigint": "int8",
    "real": "float4", "double precision": "float8",
    "boolean": "bool", "text": "text", "date": "date",
    "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
}


def column_from_catalog(name: str, type_text: str, not_null: bool = False) -> Column:
    """Build a Column from pg's format_type() text."""
    t = type_text.lower()
    if t in _KIND_BY_TYPE:
        return Column(name, type_text, _KIND_BY_TYPE[t], not_null=not_null)
    m = re.fullmatch(r"(character varying|character|varchar|char|bpchar)(?:\((\d+)\))?", t)
    if m:
        kind = "char" if m.group(1) in ("character", "char", "bpchar") else "varchar"
        length = int(m.group(2)) if m.group(2) else (1 if kind == "char" else None)
        return Column(name, type_text, kind, length=length, not_null=not_null)
    m = re.fullmatch(r"numeric(?:\((\d+),(\d+)\))?", t.replace(" ", ""))
    if m:
        return Column(name, type_text, "numeric", length=int(m.group(1)) if m.group(1) else None,
                      scale=int(m.group(2)) if m.group(2) else None, not_null=not_null)
    m = re.fullmatch(r"timestamp\(\d\) (without|with) time zone", t)
    if m:
        return Column(name, type_text, "timestamp" if m.group(1) == "without" else "timestamptz", not_null=not_null)
    return Column(name, type_text, "other", not_null=not_null)


# --------------------------------------------------------------------------- helpers

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_ASCII_WS = " \t\n\r\x0b\x0c"


def copy_escape(s: str) -> str:
    """Escape a string for PostgreSQL's COPY text format (backslash, tab, newline, carriage return), and
    a value that equals the NULL marker (PostgreSQL compares a field with it before unescaping)."""
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        return s.translate(_ESCAPES)
    if s == NULL:
        return "\\x02"
    return s


def json_text(v: Any) -> str:
    """The text Redshift converts from: a string's content, else the value's compact JSON text."""
    if type(v) is str:
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is int:
        return str(v)
    try:
        return orjson.dumps(v).decode()
    except TypeError:  # lone surrogates (invalid UTF-8 kept by the slow path)
        import json

        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _is_blank(s: str) -> bool:
    return not s.strip(_ASCII_WS)


def raw_bytes(s: str) -> bytes:
    """The original bytes of a string decoded with surrogateescape (lone surrogates kept as-is)."""
    return s.encode("utf-8", "surrogateescape") if not _has_real_surrogates(s) else s.encode("utf-8", "surrogatepass")


def _has_real_surrogates(s: str) -> bool:
    return any("\ud800" <= c <= "\udc7f" or "\udd00" <= c <= "\udfff" for c in s)


def utf8_problem(data: bytes) -> tuple[int, str] | None:
    """(position, reason) of the first invalid UTF-8 sequence in `data`, with Redshift's sub-code, or None."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        start = exc.start
    seq = data[start:start + 4]
    lead = seq[0]
    if 0x80 <= lead <= 0xBF or lead in (0xFE, 0xFF):
        code = 3  # single byte out of range (a continuation byte or 254/255 as a start byte)
        seq = seq[:1]
    elif 0xF8 <= lead <= 0xFD:
        code = 1  # sequence longer than four bytes
        seq = seq[:1]
    elif lead in (0xC0, 0xC1) or (lead == 0xE0 and len(seq) > 1 and seq[1] < 0xA0) or (
            lead == 0xF0 and len(seq) > 1 and seq[1] < 0x90):
        code = 7  # overlong encoding: not a valid UTF-8 sequence
        seq = seq[:2]
    elif lead == 0xED and len(seq) > 1 and seq[1] >= 0xA0:
        code = 5  # surrogate code point
        seq = seq[:3]
    elif lead >= 0xF5 or (lead == 0xF4 and len(seq) > 1 and seq[1] >= 0x90):
        code = 8  # beyond U+10FFFF
        seq = seq[:4]
    else:
        need = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        seq = seq[:need]
        if len(seq) < need or all(0x80 <= b <= 0xBF for b in seq[1:]):
            code = 2  # incomplete sequence
        else:
            code = 4  # a continuation byte out of range
            seq = bytes(b for i, b in enumerate(seq) if i == 0 or 0x80 <= b <= 0xBF) + bytes(
                [next(b for b in seq[1:] if not 0x80 <= b <= 0xBF)])
    hexseq = " ".join(f"{b:02x}" for b in seq)
    return start, f"{INVALID_UTF8}. Bad UTF-8 hex sequence: {hexseq} (error {code})"


INVALID_UTF8 = "String contains invalid or unsupported UTF-8 codepoints"


def _replacement(char: str):
    def replace(m: re.Match) -> str:  # a surrogateescape'd byte is one byte; an escaped surrogate was three
        return char * (1 if "\udc80" <= m.group() <= "\udcff" else 3)

    return replace


def check_unicode(s: str, column_kind: str, acceptinvchars: str | None) -> str:
    """Reject (or replace, with ACCEPTINVCHARS) invalid UTF-8 and NUL characters in a string value."""
    if _SURROGATE_RE.search(s):
        if acceptinvchars is not None:
            s = _SURROGATE_RE.sub(_replacement(acceptinvchars), s)
        else:
            problem = utf8_problem(raw_bytes(s))
            raise Reject(1220, problem[1] if problem else INVALID_UTF8 + ".",
                         s.encode("utf-8", "replace").decode("utf-8", "replace"))
    if "\x00" in s:
        raise Reject(1220, "String contains a NUL character (\\u0000), which cannot be loaded",
                     s.replace("\x00", "\\u0000"))
    return s


# --------------------------------------------------------------------------- character types

def truncate_utf8(s: str, nbytes: int) -> str:
    """`s` cut to at most `nbytes` bytes of UTF-8, never inside a character."""
    b = s.encode("utf-8")
    if len(b) <= nbytes:
        return s
    return b[:nbytes].decode("utf-8", "ignore")


def make_char_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    n = col.length
    is_char = col.kind == "char"
    emptyasnull = opts.emptyasnull  # (Redshift has no TEXT: it is VARCHAR(256) there)
    blanksasnull = opts.blanksasnull
    truncate = opts.truncatecolumns
    acceptinv = opts.acceptinvchars

    def convert(v: Any) -> str:
        s = v if type(v) is str else json_text(v)
        if not s:
            return NULL if emptyasnull else ""
        if blanksasnull and s[0] <= " " and _is_blank(s):  # (a blank string starts with a character <= " ")
            return NULL
        if not s.isascii():
            s = check_unicode(s, col.kind, acceptinv)
            if is_char and not s.isascii():
                bad = next(c for c in s if ord(c) > 127)
                hexchar = " ".join(f"{b:02x}" for b in bad.encode("utf-8", "replace"))
                raise Reject(1220, "Multibyte character not supported for CHAR (Hint: Try using VARCHAR). "
                             f"Invalid char: {hexchar}", s)
        elif "\x00" in s:
            check_unicode(s, col.kind, acceptinv)
        if n is not None:
            size = len(s) if s.isascii() else len(s.encode("utf-8"))
            if size > n:
                if not truncate:
                    raise Reject(1204, "String length exceeds DDL length", s)
                s = truncate_utf8(s, n)
        return copy_escape(s)

    return convert


# --------------------------------------------------------------------------- numbers

_INT_RANGES = {
    "int2": (-(2**15), 2**15 - 1, "Short"),
    "int4": (-(2**31), 2**31 - 1, "Integer"),
    "int8": (-(2**63), 2**63 - 1, "Long"),
}
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _invalid_digit(s: str, typename: str, allowed: str) -> Reject:
    pos = 0
    for pos, c in enumerate(s):
        if c not in allowed or (c in "+-" and pos != 0):
            break
    c = s[pos] if s else ""
    return Reject(1207, f"Invalid digit, Value '{c}', Pos {pos}, Type: {typename}", s)


def make_int_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    lo, hi, typename = _INT_RANGES[col.kind]
    overflow = f"Overflow ({typename} valid range {lo} to {hi})"
    safe_digits = len(str(hi)) - 1  # a string of this many ASCII digits always fits

    def convert(v: Any) -> str:
        if type(v) is int:
            if lo <= v <= hi:
                return str(v)
            raise Reject(1207, overflow, str(v))
        if type(v) is str and len(v) <= safe_digits and v.isdigit() and v.isascii():  # "39" (the real userId)
            return str(int(v))
        s = json_text(v)
        if not s or _is_blank(s):
            return NULL
        if not (s.isascii() and _INT_RE.fullmatch(s)):
            raise _invalid_digit(s, typename, "0123456789+-")
        i = int(s)
        if not lo <= i <= hi:
            raise Reject(1207, overflow, s)
        return str(i)

    return convert


_FLOAT4_MAX = 3.4028234663852886e38
_INF = float("inf")


def make_float_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    single = col.kind == "float4"
    typename = "Float" if single else "Double"

    def convert(v: Any) -> str:
        if type(v) is float:
            f = v
            text = None
        elif type(v) is int:
            text = str(v)
            try:
                f = float(v)
            except OverflowError:
                raise Reject(1207, f"Overflow ({typename} range)", text) from None
        else:
            text = json_text(v)
            if not text or _is_blank(text):
                return NULL
            if not (text.isascii() and _FLOAT_RE.fullmatch(text)):
                raise _invalid_digit(text, typename, "0123456789+-.eE")
            f = float(text)
        if f == _INF or f == -_INF:
            raise Reject(1207, f"Overflow ({typename} range)", text or repr(v))
        if single:
            if abs(f) > _FLOAT4_MAX:
                raise Reject(1207, f"Overflow ({typename} range)", text or repr(v))
            f32 = struct.unpack("f", struct.pack("f", f))[0]
            if f32 == 0.0 and f != 0.0:
                raise Reject(1207, f"Underflow ({typename} range)", text or repr(v))
        elif f == 0.0 and text is not None and re.search(r"[1-9]", text.split("e")[0].split("E")[0]):
            raise Reject(1207, f"Underflow ({typename} range)", text)
        return repr(f)

    return convert


def make_numeric_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    precision, scale = col.length, col.scale
    quantum = Decimal(1).scaleb(-scale) if scale is not None else None

    def convert(v: Any) -> str:
        if type(v) is float:
            text = orjson.dumps(v).decode()
        else:
            text = json_text(v)
            if not text or _is_blank(text):
                return NULL
        if not (text.isascii() and _FLOAT_RE.fullmatch(text)):
            raise _invalid_digit(text, "Numeric", "0123456789+-.eE")
        try:
            d = Decimal(text)
            if quantum is not None:
                d = d.quantize(quantum, rounding=ROUND_DOWN)  # COPY truncates to the scale (ROUNDEC rounds)
        except InvalidOperation:
            raise Reject(1207, "Numeric data overflow (result precision)", text) from None
        if precision is not None and d.adjusted() + 1 > precision - (scale or 0) and d != 0:
            raise Reject(1207, "Numeric data overflow (result precision)", text)
        return format(d, "f")

    return convert


_TRUE = frozenset(("t", "true", "y", "yes", "1", "on"))
_FALSE = frozenset(("f", "false", "n", "no", "0", "off"))


def make_bool_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    def convert(v: Any) -> str:
        if v is True:
            return "t"
        if v is False:
            return "f"
        if type(v) is int and v in (0, 1):
            return "t" if v else "f"
        s = json_text(v)
        if not s or _is_blank(s):
            return NULL
        low = s.strip(_ASCII_WS).lower()
        if low in _TRUE:
            return "t"
        if low in _FALSE:
            return "f"
        raise Reject(1210, f"Invalid boolean value: '{s}'", s)

    return convert


# --------------------------------------------------------------------------- timestamps

# The range of PostgreSQL's (and Redshift's) TIMESTAMP, in days since 1970-01-01:
# 4714-11-24 BC (Julian day 0) .. 294276-12-31 AD.
_MIN_DAYS = -2_440_588
_MAX_DAYS = 106_762_939


def civil_from_days(z: int) -> tuple[int, int, int]:
    """(year, month, day) of the proleptic Gregorian calendar, `z` days after 1970-01-01 (H. Hinnant)."""
    z += 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def date_text(days: int) -> str:
    y, m, d = civil_from_days(days)
    if y <= 0:  # astronomical year 0 = 1 BC
        return f"{1 - y:04d}-{m:02d}-{d:02d} BC"
    return f"{y:04d}-{m:02d}-{d:02d}"


_MS = [f"{ms:03d}" for ms in range(1000)]


@functools.cache
def _hms() -> list[str]:
    """'HH:MM:SS.' of each second of a day, built on first use: by every emulated COPY of a timestamp column, also with
    the C converter, whose declined lines go through these converters. Joined from 24 hours, 60 minutes and 60
    seconds written once: 0.012 s, where formatting each of the 86,400 seconds took 0.12 s, a twentieth of a daily
    run (2026-12-07)."""
    hours = [f"{h:02d}:" for h in range(24)]
    sixty = [f"{m:02d}" for m in range(60)]
    minutes = [f"{m}:" for m in sixty]
    seconds = [f"{s}." for s in sixty]
    return [h + m + s for h in hours for m in minutes for s in seconds]


class EpochFormatter:
    """Epoch milliseconds -> 'YYYY-MM-DD HH:MM:SS.fff' (UTC), by integer arithmetic, day prefixes cached."""

    def __init__(self) -> None:
        self._days: dict[int, tuple[str, str]] = {}  # day -> (date part, BC suffix)
        self._hms = _hms()

    def __call__(self, ms: int) -> str:
        days, rem = divmod(ms, 86_400_000)
        parts = self._days.get(days)
        if parts is None:
            if not _MIN_DAYS <= days <= _MAX_DAYS:
                raise ValueError("timestamp out of range")
            text = date_text(days)
            parts = (text[:-3], " BC") if text.endswith(" BC") else (text, "")
            if len(self._days) > 100_000:
                self._days.clear()
            self._days[days] = parts
        secs, milli = divmod(rem, 1000)
        return f"{parts[0]} {self._hms[secs]}{_MS[milli]}{parts[1]}"


_TS_RE = re.compile(
    r"(\d{4,6})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?"
)


def _valid_date(y: int, m: int, d: int) -> bool:
    if not (1 <= m <= 12 and d >= 1):
        return False
    days = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return d <= days[m - 1]


def make_timestamp_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    fmt = (opts.timeformat or "").lower() or None
    tz = col.kind == "timestamptz"
    is_date = col.kind == "date"
    fmt_name = "YYYY-MM-DD" if is_date else ("YYYY-MM-DD HH24:MI:SSOF" if tz else "YYYY-MM-DD HH24:MI:SS")
    err_code = 1205 if is_date else 1206
    what = "date" if is_date else "timestamp"
    formatter = EpochFormatter()
    scale = 1000 if fmt == "epochsecs" else 1

    def bad(s: str) -> Reject:
        fmt_shown = opts.timeformat if fmt and not is_date else fmt_name
        return Reject(err_code, f"Invalid {what} format or value [{fmt_shown}]", s)

    def from_epoch(v: Any) -> str:
        if type(v) is int:
            i = v
        else:
            s = json_text(v)
            if not s or _is_blank(s):
                return NULL
            if not (s.isascii() and _INT_RE.fullmatch(s)):
                raise bad(s)
            i = int(s)
        try:
            text = formatter(i * scale)
        except ValueError:
            raise bad(str(v)) from None
        if is_date:
            text = text.split(" ", 1)[0] + (" BC" if text.endswith(" BC") else "")
        elif tz:
            text += "+00"
        return text

    def from_text(v: Any) -> str:
        s = json_text(v)
        if not s or _is_blank(s):
            return NULL
        if type(v) is not str or not s.isascii():
            raise bad(s)
        m = _TS_RE.fullmatch(s.strip())
        if not m:
            raise bad(s)
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        h = int(m.group(4) or 0)
        mi = int(m.group(5) or 0)
        sec = int(m.group(6) or 0)
        if not _valid_date(y, mo, d) or y == 0 or h > 23 or mi > 59 or sec > 59 or y > 294_276:
            raise bad(s)
        if is_date:
            return f"{y:04d}-{mo:02d}-{d:02d}"
        frac = m.group(7)
        text = f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{sec:02d}" + (f".{frac}" if frac else "")
        zone = (m.group(8) or "").strip()
        if tz:
            text += " " + (zone if zone not in ("", "Z", "UTC") else "+00")
        return text

    if fmt in ("epochmillisecs", "epochsecs"):
        return from_epoch
    if fmt in (None, "auto"):
        return from_text
    raise ValueError(f"TIMEFORMAT {opts.timeformat!r} is not supported by the emulator "
                     "(use 'epochmillisecs', 'epochsecs', 'auto' or none)")


def make_other_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    """Types Redshift's JSON COPY does not target here (json, uuid, ...): the value's text, PostgreSQL checks it."""

    def convert(v: Any) -> str:
        s = json_text(v)
        if not s:
            return NULL
        s = check_unicode(s, col.kind, opts.acceptinvchars)
        return copy_escape(s)

    return convert


def make_converter(col: Column, opts: Options) -> Callable[[Any], str]:
    """The converter for one column (see the module docstring for the rules)."""
    kind = col.kind
    if kind in ("varchar", "char", "text"):
        return make_char_converter(col, opts)
    if kind in _INT_RANGES:
        return make_int_converter(col, opts)
    if kind in ("float4", "float8"):
        return make_float_converter(col, opts)
    if kind == "numeric":
        return make_numeric_converter(col, opts)
    if kind == "bool":
        return make_bool_converter(col, opts)
    if kind in ("timestamp", "timestamptz", "date"):
        return make_timestamp_converter(col, opts)
    return make_other_converter(col, opts)
