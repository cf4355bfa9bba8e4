"""RowBuilder.row (the Python reference for a record) and RowBuilder.pump (it, over the lines of a file, with the
slow path for the lines it cannot take): same rows, line by line, whatever the values."""

from __future__ import annotations

import itertools
import random

import orjson
import pytest

from sparkify.copy.convert import NULL, Options, column_from_catalog
from sparkify.copy.rows import RowBuilder, RowReject, get_path, lower_keys

COLUMNS = [column_from_catalog(n, t) for n, t in [
    ("s", "character varying(8)"), ("big", "character varying(512)"), ("c", "character(3)"), ("txt", "text"),
    ("i", "integer"), ("sm", "smallint"), ("bi", "bigint"), ("d", "double precision"), ("r", "real"),
    ("ts", "timestamp without time zone"), ("b", "boolean"), ("n", "numeric(8,2)"),
]]
OPTIONS = [
    Options(timeformat="epochmillisecs", truncatecolumns=True, blanksasnull=True, emptyasnull=True),
    Options(),
    Options(timeformat="epochmillisecs", acceptinvchars="?"),
]
VALUES = [None, "", " ", "  x", "abc", "abcdefgh", "abcdefghi", "ééééé", "a\tb", "a\\b", "a\nb", "a\rb", "a\x00b",
          "a\x02b", "\x0b", "!", "😀😀😀", "39", "-7", "3.5", "1e3", "true", "t", "2018-11-01 20:57:10",
          0, 1, -1, 200, 32768, 2**31, 2**63, 1541105830796, -62135596800001, 253402300800000,
          0.0, 246.30812, 1540919166796.0, 1e39, -1e-50, True, False, [1, "a"], {"k": "v"}, "x" * 300]


def builder(opts: Options) -> RowBuilder:
    return RowBuilder(COLUMNS, [(c.name,) for c in COLUMNS], opts)


class _Ctx:
    def __init__(self, b: RowBuilder):
        self.lineno = 0
        self.b = b
        self.handled: list[int] = []

    def handle(self, line, lines, out):
        self.handled.append(self.lineno)
        try:
            out.append(self.b.row(orjson.loads(line)))
        except RowReject as exc:
            out.append(f"REJECT {exc.column} {exc.reject.err_code}")


def run_pump(b: RowBuilder, records) -> tuple[list[str], _Ctx]:
    ctx = _Ctx(b)
    out = [r for chunk in b.pump(iter([orjson.dumps(r) for r in records]), ctx) for r in chunk]
    return out, ctx


def reference(b: RowBuilder, record) -> str:
    try:
        return b.row(record)
    except RowReject as exc:
        return f"REJECT {exc.column} {exc.reject.err_code}"


@pytest.mark.parametrize("opts", OPTIONS, ids=["pipeline", "defaults", "acceptinvchars"])
def test_pump_equals_row_for_every_value_in_every_column(opts):
    b = builder(opts)
    records = []
    for col, value in itertools.product(COLUMNS, VALUES):
        rec = {c.name: "ok" if c.kind in ("varchar", "char", "text") else None for c in COLUMNS}
        rec[col.name] = value
        records.append(rec)
    fast, _ = run_pump(b, records)
    assert fast == [reference(b, r) for r in records]


def test_pump_equals_row_on_random_records():
    rnd = random.Random(11)
    b = builder(OPTIONS[0])
    records = [{c.name: rnd.choice(VALUES) for c in COLUMNS if rnd.random() < 0.9} for _ in range(3000)]
    fast, _ = run_pump(b, records)
    assert fast == [reference(b, r) for r in records]


def test_missing_members_load_null_without_the_slow_path():
    b = builder(OPTIONS[0])
    fast, ctx = run_pump(b, [{"s": "a"}, {c.name: None for c in COLUMNS}])
    assert fast == ["\t".join(["a"] + [NULL] * (len(COLUMNS) - 1)), "\t".join([NULL] * len(COLUMNS))]
    assert ctx.handled == []


def test_bad_lines_take_the_slow_path_in_order():
    b = builder(OPTIONS[0])
    ctx = _Ctx(b)
    lines = [b'{"s": "a"}', b'{"i": "x"}', b"[1]", b'{"s": "b"}']
    out = [r for chunk in b.pump(iter(lines), ctx) for r in chunk]
    assert out == ["a" + "\t" + "\t".join([NULL] * (len(COLUMNS) - 1)), "REJECT 4 1207", "REJECT None 1216",
                   "b" + "\t" + "\t".join([NULL] * (len(COLUMNS) - 1))]
    assert ctx.handled == [2, 3] and ctx.lineno == 4


def test_non_objects_are_rejected_as_records():
    b = builder(OPTIONS[0])
    for record in ([1, 2], 5, "x", None):
        with pytest.raises(RowReject) as exc:
            b.row(record)
        assert exc.value.column is None and exc.value.reject.err_code == 1216


def test_chunks_are_yielded_by_size():
    b = RowBuilder(COLUMNS[:1], [("s",)], OPTIONS[0], chunk_rows=10)
    chunks = list(b.pump(iter([b'{"s": "a"}'] * 25), _Ctx(b)))
    assert [len(c) for c in chunks] == [10, 10, 5]


def test_jsonpaths_with_nesting_and_arrays():
    cols = [column_from_catalog("a", "integer"), column_from_catalog("b", "character varying(16)"),
            column_from_catalog("c", "integer")]
    b = RowBuilder(cols, [("x", "y"), ("arr", 1), (0,)], OPTIONS[0])
    assert b.row({"x": {"y": 5}, "arr": ["p", "q"]}) == f"5\tq\t{NULL}"
    assert b.row([7]) == f"{NULL}\t{NULL}\t7"
    fast, _ = run_pump(b, [{"x": {"y": 5}, "arr": ["p", "q"]}, [7], {"x": 1, "arr": "no"}])
    assert fast == [f"5\tq\t{NULL}", f"{NULL}\t{NULL}\t7", f"{NULL}\t{NULL}\t{NULL}"]


def test_auto_ignorecase():
    cols = [column_from_catalog("userid", "integer")]
    b = RowBuilder(cols, [("userid",)], OPTIONS[0], ignorecase=True)
    fast, _ = run_pump(b, [{"userId": 1}, {"USERID": 2, "userid": 3}, {"other": 4}])
    assert fast == ["1", "2", NULL]  # the first of colliding names wins


def test_not_null_column():
    cols = [column_from_catalog("a", "integer", not_null=True)]
    b = RowBuilder(cols, [("a",)], OPTIONS[0])
    fast, _ = run_pump(b, [{"a": 1}, {"a": None}, {"a": ""}])
    assert fast == ["1", "REJECT 0 1213", "REJECT 0 1213"]


def test_helpers():
    assert get_path({"a": [{"b": 1}]}, ("a", 0, "b")) == 1
    assert get_path({"a": [1]}, ("a", 3)) is None
    assert get_path({"a": [1]}, ("a", -1)) is None
    assert get_path({"a": 1}, ("a", "b")) is None
    assert lower_keys({"A": 1, "a": 2, "Bc": 3}) == {"a": 1, "bc": 3}


def test_repeated_values_convert_as_the_first_time():
    """Character columns remember converted strings: a repeated value (also a NULL, a rejected one, a long one)
    gives what a fresh builder gives."""
    cols = [column_from_catalog("a", "character varying(4)", not_null=True), column_from_catalog("b", "text")]
    opts = Options(emptyasnull=True, blanksasnull=True)
    values = ("", " ", "abc", "abcde", "é", "a\tb", 7, None, "y" * 300)
    records = [{"a": v, "b": w} for v in values for w in values]  # (the same strings in both columns)
    shared = RowBuilder(cols, [("a",), ("b",)], opts)
    for record in records * 3:
        assert reference(shared, record) == reference(RowBuilder(cols, [("a",), ("b",)], opts), record)


def test_negative_zero_stays_negative_after_a_zero():
    """The removed generated loop cached float texts by value, and -0.0 == 0.0: after a 0.0 it loaded -0.0 as 0."""
    b = RowBuilder([column_from_catalog("d", "double precision")], [("d",)], Options())
    fast, _ = run_pump(b, [{"d": 0.0}, {"d": -0.0}, {"d": 0}, {"d": -0.0}])
    assert fast == ["0.0", "-0.0", "0.0", "-0.0"]
