"""The differential harness: the same bytes through the C converter and through the Python reference.

`compare(data, options)` runs `RowBuilder.pump_bytes` twice over `data` (newline-delimited JSON), with the
C converter (sparkify/copy/native.c) and without it (sparkify.copy.rows / convert: the reference), and
returns both outcomes: the rows (numbers as the server reads them), the rejected records (line, column,
error code, reason) and the line count; or what was raised. Used by test_copy_native.py, the fuzz tests
(test_copy_fuzz.py, the corpus in fuzz_corpus/) and tools/fuzz_native.py.
"""

from __future__ import annotations

import io
import json

from sparkify.copy.convert import Options, column_from_catalog
from sparkify.copy.producer import FileContext
from sparkify.copy.records import Recovery
from sparkify.copy.rows import RowBuilder
from sparkify.copy.sources import SourceFile

COLUMNS = [
    ("s8", "character varying(8)"),
    ("txt", "text"),
    ("i2", "smallint"),
    ("i4", "integer"),
    ("i8", "bigint"),
    ("f8", "double precision"),
    ("ts", "timestamp without time zone"),
    ("b", "boolean"),
    ("nn", "integer", True),
]
KEYS = [name for name, *_ in COLUMNS]
OPTION_SETS = {
    "plain": Options(timeformat="epochmillisecs"),
    "etl": Options(timeformat="epochmillisecs", truncatecolumns=True, emptyasnull=True, blanksasnull=True),
    "acceptinvchars": Options(timeformat="epochmillisecs", acceptinvchars="?"),
}
_NUMBER_KINDS = {"int2": int, "int4": int, "int8": int, "float8": float}
BASE = {"s8": "abc", "txt": "hello", "i2": 1, "i4": 2, "i8": 3, "f8": 1.5, "ts": 1541030419796, "b": True, "nn": 7}
MISSING = object()


class _Sink:
    def __init__(self):
        self.rejected: list[tuple] = []

    def reject(self, src, lineno, raw, column, reject):
        self.rejected.append((lineno, column, reject.err_code, reject.reason))


_builders: dict[str, tuple[RowBuilder, RowBuilder]] = {}


def builders(options: str | Options, fresh: bool = False) -> tuple[RowBuilder, RowBuilder]:
    """(with the C converter, the Python reference) for COLUMNS; the first has .native set. Cached per option
    set (a converter holds a 9 MB output buffer), unless `fresh`."""
    key = options if isinstance(options, str) else repr(options)
    if fresh or key not in _builders:
        opts = OPTION_SETS[options] if isinstance(options, str) else options
        columns = [column_from_catalog(name, type_text, *rest) for name, type_text, *rest in COLUMNS]
        paths = [(name,) for name in KEYS]
        fast = RowBuilder(columns, paths, opts)
        assert fast.native is not None, "the C converter is not available"
        pair = (fast, RowBuilder(columns, paths, opts, native=False))
        if fresh:
            return pair
        _builders[key] = pair
    return _builders[key]


def values(out: bytes, columns) -> list[list]:
    """The rows of COPY text, numbers as the server reads them: the C converter passes a JSON number's text
    through (1.50, 5, -0), the Python path writes repr() (1.5, 5.0, 0): the same values."""
    numeric = {i: _NUMBER_KINDS[c.kind] for i, c in enumerate(columns) if c.kind in _NUMBER_KINDS}
    rows = []
    for text in out.decode("utf-8").split("\n")[:-1]:
        fields: list = text.split("\t")
        assert len(fields) == len(columns), text
        for i, kind in numeric.items():
            if fields[i] != "\x02":
                fields[i] = kind(fields[i])
        rows.append(fields)
    return rows


def run(builder: RowBuilder, data: bytes) -> tuple[list | str, list, int]:
    """(rows or what was raised, rejected records, lines read) of `data` through `builder`."""
    sink = _Sink()
    ctx = FileContext(sink, builder, SourceFile("/x.json", "x.json"), Recovery(builder.opts.acceptinvchars))
    try:
        out = b"".join(payload for payload, _ in builder.pump_bytes(io.BytesIO(data), ctx))
    except Exception as exc:  # noqa: BLE001 - ObjectTooLarge and the like: both paths must raise the same
        return f"raised {type(exc).__name__}: {exc}", sink.rejected, ctx.lineno
    return values(out, builder.columns), sink.rejected, ctx.lineno


def compare(data: bytes, options: str) -> tuple[tuple, tuple]:
    """(outcome with C, outcome of the reference) of `data` (see run)."""
    fast, reference = builders(options)
    return run(fast, data), run(reference, data)


def counting(builder: RowBuilder) -> list[int]:
    """Rows the C converter produced itself, recorded per call (use it on a builders(..., fresh=True))."""
    counts: list[int] = []
    real = builder.native.convert

    def convert(buf, pos, end):
        result = real(buf, pos, end)
        counts.append(result[3])
        return result

    builder.native.convert = convert
    return counts


def line(**changes) -> bytes:
    """BASE with members changed (MISSING removes one), as a JSON line (without its newline)."""
    obj = dict(BASE)
    for key, value in changes.items():
        if value is MISSING:
            obj.pop(key)
        else:
            obj[key] = value
    return json.dumps(obj).encode()
