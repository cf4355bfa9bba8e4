"""The C converter (sparkify/copy/native.c) against the Python path, which is the reference.

Every input goes through `RowBuilder.pump_bytes` twice, with and without the C converter (native_diff.py);
the COPY text, the rejected records (line, column, error code) and the line count must be identical. The C
converter may decline anything (the Python path then handles the line), so the tests also check that it
does convert the plain lines itself. `make sanitize` (part of `make test`) runs this file again against the
AddressSanitizer + UndefinedBehaviorSanitizer build (tests/conftest.py: --native-lib).
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import pytest

from sparkify import ledger
from sparkify.copy import native, sources
from sparkify.copy.convert import Options, column_from_catalog
from sparkify.copy.jsonpaths import parse_jsonpaths_file
from sparkify.copy.rows import RowBuilder
from sparkify.copy.sources import SourceFile
from sparkify.errors import LoadError
from tests.helpers.native_diff import COLUMNS, OPTION_SETS, builders, counting, line, run
from tests.helpers.native_diff import MISSING as _MISSING
from tests.helpers.schema import postgres_ddl

# Skipped only where the library cannot exist (no C compiler, or SPARKIFY_NATIVE=0); a compiler without a
# usable library fails (tests/fixtures/inputs.py, native_library).
pytestmark = pytest.mark.usefixtures("native_library")


CASES = {
    "plain": line(),
    "ascii escapes": line(txt="a\"b\\c/d\be\ff\ng\rh\ti"),
    "unicode escapes": rb'{"s8":"Jos\u00e9","txt":"\ud83c\udfb5 \u2603 \u00e9t\u00e9","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":0,"b":false,"nn":1}',
    "raw utf-8": '{"s8":"été","txt":"Sigur Rós 🎵","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":0,"b":false,"nn":1}'.encode(),
    "escaped slash": rb'{"s8":"a\/b","txt":"Mozilla\/5.0 \"quoted\"","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "varchar exactly 8 bytes": line(s8="12345678"),
    "varchar 9 bytes": line(s8="123456789"),
    "varchar multibyte over": line(s8="ééééé"),
    "varchar multibyte fits": line(s8="éééé"),
    "empty string varchar": line(s8=""),
    "blank varchar": line(s8="   "),
    "leading space varchar": line(s8=" a"),
    "tab only": line(txt="\t"),
    "the null marker": line(txt="\x02"),
    "marker inside": line(txt="a\x02b"),
    "nul escape": rb'{"s8":"a\u0000b","txt":"x","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "lone surrogate": rb'{"s8":"a","txt":"\ud800x","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "low surrogate first": rb'{"s8":"a","txt":"\udc00\ud800","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "invalid utf-8": b'{"s8":"a\xff","txt":"x","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "overlong utf-8": b'{"s8":"\xc0\xaf","txt":"x","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "utf-8 surrogate bytes": b'{"s8":"\xed\xa0\x80","txt":"x","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "raw tab in string": b'{"s8":"a\tb","txt":"x","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "number into varchar": line(txt=12),
    "float into varchar": line(txt=1.25),
    "bool into varchar": line(txt=True),
    "object into varchar": line(txt={"a": 1}),
    "array into varchar": line(txt=[1, 2]),
    "int2 max": line(i2=32767),
    "int2 overflow": line(i2=32768),
    "int2 min": line(i2=-32768),
    "int4 overflow": line(i4=2**31),
    "int8 max": line(i8=2**63 - 1),
    "int8 overflow": line(i8=2**63),
    "int8 19 digits": line(i8=1000000000000000000),
    "int digit string": line(i4="39"),
    "int leading zeros string": line(i4="0039"),
    "int empty string": line(i4=""),
    "int blank string": line(i4="  "),
    "int signed string": line(i4="-5"),
    "int float": line(i4=3.0),
    "int float string": line(i4="3.5"),
    "int too long string": line(i2="12345"),
    "negative zero": b'{"s8":"a","txt":"x","i2":-0,"i4":2,"i8":3,"f8":-0.0,"ts":1,"b":true,"nn":1}',
    "float int": line(f8=5),
    "float registration": line(f8=1540919166796.0),
    "float length": line(f8=246.30812),
    "float small negative": line(f8=-0.000123),
    "float 17 digits": line(f8=0.12345678901234568),
    "long plain text": line(txt="Mozilla/5.0 (Windows NT 6.1; WOW64) " * 20),
    "float exponent": b'{"s8":"a","txt":"x","i2":1,"i4":2,"i8":3,"f8":1e5,"ts":1,"b":true,"nn":1}',
    "float huge exponent": b'{"s8":"a","txt":"x","i2":1,"i4":2,"i8":3,"f8":1e400,"ts":1,"b":true,"nn":1}',
    "float tiny": b'{"s8":"a","txt":"x","i2":1,"i4":2,"i8":3,"f8":1e-400,"ts":1,"b":true,"nn":1}',
    "float long mantissa": b'{"s8":"a","txt":"x","i2":1,"i4":2,"i8":3,"f8":0.1000000000000000055511151231257827,"ts":1,"b":true,"nn":1}',
    "float string": line(f8="2.5"),
    "ts negative": line(ts=-1),
    "ts before epoch": line(ts=-86400001),
    "ts year 1": line(ts=-62135596800000),
    "ts year 9999": line(ts=253402300799999),
    "ts beyond 9999": line(ts=253402300800000),
    "ts string": line(ts="1541030419796"),
    "ts float": line(ts=1541030419796.0),
    "bool false": line(b=False),
    "bool 1": line(b=1),
    "bool 0": line(b=0),
    "bool 2": line(b=2),
    "bool string": line(b="true"),
    "null values": line(s8=None, txt=None, i2=None, f8=None, ts=None, b=None),
    "not-null null": line(nn=None),
    "not-null missing": line(nn=_MISSING),
    "not-null empty string": line(nn=""),
    "missing members": line(s8=_MISSING, ts=_MISSING),
    "empty object": b"{}",
    "unknown members": b'{"zz":1,"s8":"a","other":[1,{"x":2}],"txt":"x","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1,"b":true,"nn":1}',
    "unknown nested object": b'{"meta":{"a":[1,2]},"s8":"a","nn":1}',
    "duplicate member": b'{"s8":"a","s8":"b","nn":1}',
    "duplicate unknown member": b'{"zz":1,"zz":2,"nn":1}',
    "whitespace everywhere": b'  {  "s8" : "a" ,\t"nn"\t:\t1  }  \r',
    "trailing garbage": b'{"s8":"a","nn":1} x',
    "two objects": b'{"s8":"a","nn":1}{"s8":"b","nn":2}',
    "array record": b'[1,2,3]',
    "scalar record": b'"just a string"',
    "malformed": b'{"s8":"a","nn":1',
    "bad literal": b'{"s8":tru,"nn":1}',
    "bad number": b'{"i4":01,"nn":1}',
    "bad number dot": b'{"f8":1.,"nn":1}',
    "leading plus": b'{"i4":+1,"nn":1}',
    "key with escape": b'{"s\\u0038":"a","nn":1}',
    "non-ascii key": '{"é":"a","nn":1}'.encode(),
    "bom": b'\xef\xbb\xbf{"s8":"a","nn":1}',
    "blank line": b"   ",
    "multi-line object": b'{"s8":"a",\n"nn":1}',
}


@pytest.mark.parametrize("options", list(OPTION_SETS))
@pytest.mark.parametrize("case", list(CASES))
def test_native_matches_python(case, options):
    fast, reference = builders(options)
    data = CASES[case] + b"\n" + line() + b"\n"  # and a plain line after it: resuming after a decline
    assert run(fast, data) == run(reference, data)


def test_plain_lines_are_converted_natively():
    fast, _ = builders("etl", fresh=True)
    counts = counting(fast)
    plain = [CASES[c] for c in ("plain", "ascii escapes", "unicode escapes", "raw utf-8", "escaped slash",
                                "null values", "missing members", "duplicate unknown member", "whitespace everywhere")]
    data = b"\n".join(plain * 100) + b"\n"
    run(fast, data)
    assert sum(counts) == len(plain) * 100


def _random_value(rng: random.Random):
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2**15 - 1, 2**15, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63,
                           rng.randrange(-10**6, 10**6), rng.randrange(10**12, 10**13)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e-7, 123.456, 1.5e300, rng.uniform(-1000, 1000)])
    if kind == 4:
        return rng.choice(["", " ", "  x", "39", "0039", "-5", "3.5", "abc", "12345678", "123456789", "t"])
    if kind == 5:
        alphabet = "ab \t\n\r\\\"/é🎵\x02\x01\x7f€"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
    if kind == 6:
        return {"k": rng.randrange(3)}
    if kind == 7:
        return [rng.randrange(3)]
    return "".join(rng.choice("abcdefghij") for _ in range(rng.randrange(1, 10)))


def _random_line(rng: random.Random) -> bytes:
    keys = [name for name, *_ in COLUMNS] + ["extra"]
    obj = {k: _random_value(rng) for k in keys if rng.random() < 0.9}
    text = json.dumps(obj, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.05:  # damage it
        cut = rng.randrange(len(text))
        text = text[:cut] + rng.choice(["", "x", "}", "{", '"', ",", "\\"]) + text[cut + 1:]
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("options", list(OPTION_SETS))
def test_native_matches_python_on_random_lines(options):
    rng = random.Random(f"native-{options}")
    fast, reference = builders(options)
    for batch in range(20):
        data = b"\n".join(_random_line(rng) for _ in range(200)) + b"\n"
        assert run(fast, data) == run(reference, data), f"batch {batch}"


def test_lines_longer_than_the_read_block(monkeypatch):
    """A line bigger than the reader's block and the converter's output buffer goes through as well."""
    fast, reference = builders("etl")
    big = line(txt="x" * (3 * 1024 * 1024))
    data = line() + b"\n" + big + b"\n" + line() + b"\n"
    assert run(fast, data) == run(reference, data)


def _columns(table: str) -> list:
    """The columns of a staging table (its CREATE TABLE in sql_queries, as the local engines run it), as the
    catalog (format_type) names their types."""
    return [column_from_catalog(name, type_text.replace("timestamp", "timestamp without time zone"))
            for name, type_text in
            re.findall(r"(\w+)\s+(varchar\(\d+\)|integer|smallint|bigint|double precision|timestamp)",
                       postgres_ddl(table))]


@pytest.mark.realdata
def test_real_data_same_rows_through_c_and_python(real_data):
    """The real log and song files, file by file, with the bindings etl.py uses: the C converter and the
    Python reference give the same rows; C converts nearly all of them itself (a few songs with a numeric
    artist_name or artist_location are declined)."""
    etl = Options(timeformat="epochmillisecs", truncatecolumns=True, emptyasnull=True, blanksasnull=True)
    events = _columns("staging_events")
    paths = parse_jsonpaths_file((real_data / "log_json_path.json").read_bytes(), "log_json_path.json")
    songs = _columns("staging_songs")
    converted = total = 0
    for columns, colpaths, source in ((events, paths, "log_data"), (songs, [(c.name,) for c in songs], "song_data")):
        fast = RowBuilder(columns, colpaths, etl)
        reference = RowBuilder(columns, colpaths, etl, native=False)
        counts = counting(fast)
        for path in sorted(p for p in (real_data / source).rglob("*.json")):
            data = path.read_bytes()
            c_out, py_out = run(fast, data), run(reference, data)
            assert c_out == py_out, path.name
            total += len(py_out[0])
        converted += sum(counts)
    assert total == 8056 + 1943  # FACTS.md
    assert converted > 0.99 * total


# --------------------------------------------------------------------------- listing and reading

@pytest.fixture
def tree(tmp_path):
    (tmp_path / "data" / "A" / "B").mkdir(parents=True)
    (tmp_path / "data" / "A" / "B" / "TRA.json").write_bytes(line())
    (tmp_path / "data" / "A" / "TRB.json").write_bytes(line() + b"\n")
    (tmp_path / "data" / "A" / "empty.json").write_bytes(b"")
    (tmp_path / "data" / "A" / "big.json").write_bytes((line() + b"\n") * 1000)  # > 64 KB: streamed
    (tmp_path / "data" / "A-sibling").mkdir()
    (tmp_path / "data" / "A-sibling" / "x.json").write_bytes(line())
    os.symlink(tmp_path / "data" / "A" / "TRB.json", tmp_path / "data" / "A" / "link.json")
    os.symlink(tmp_path / "data" / "A" / "B", tmp_path / "data" / "A" / "C")
    return tmp_path / "data"


@pytest.mark.parametrize("prefix", ["", "A", "A/", "A/B", "A-", "A/T", "nothing"])
def test_native_listing_matches_scandir(tree, prefix, monkeypatch):
    location = str(tree) + "/" + prefix
    listed = [(s.url, s.key) for s in sources.list_local(location)]
    monkeypatch.setattr(native, "list_dir", lambda path: None)
    assert listed == [(s.url, s.key) for s in sources.list_local(location)]


@pytest.mark.parametrize("prefix", ["", "A", "A/", "A/B", "A-", "A/T", "nothing"])
def test_native_ledger_listing_matches_scandir(tree, prefix, monkeypatch):
    """The load ledger's listing (sizes and versions; links followed, dangling ones left out) is the same with
    the C lister (native.list_stat) as with os.scandir, the reference."""
    os.symlink(tree / "A" / "gone.json", tree / "A" / "dangling.json")
    os.mkfifo(tree / "A" / "fifo.json")  # neither a file nor a directory: not listed
    location = str(tree) + "/" + prefix
    listed = sorted(ledger.list_objects(location))
    assert native.list_stat(str(tree / "A")) is not None  # the C lister did list
    # the same objects as the COPY emulation's listing, whose prefix rule is written apart
    assert [(o.url, o.key) for o in listed] == sorted((s.url, s.key) for s in sources.list_local(location))
    monkeypatch.setattr(native, "list_stat", lambda path: None)
    assert listed == sorted(ledger.list_objects(location))
    if prefix == "A/":
        assert {o.key for o in listed} == {"A/B/TRA.json", "A/C/TRA.json", "A/TRB.json", "A/big.json",
                                           "A/empty.json", "A/link.json"}
        assert {o.size for o in listed if o.key == "A/big.json"} == {(len(line()) + 1) * 1000}


def test_native_ledger_listing_of_a_large_directory_and_a_name_not_utf8(tmp_path, monkeypatch):
    """A directory of more entries than the lister's first buffers hold (it grows them and lists again), and a
    file name that is not UTF-8, which both listings name in the same error."""
    for i in range(5000):
        (tmp_path / f"song-{i:05d}-{'x' * 40}.json").write_bytes(b"{}" * (i % 7))
    listed = sorted(ledger.list_objects(str(tmp_path) + "/"))
    assert len(listed) == 5000 and listed[6].size == 12
    (tmp_path / os.fsdecode(b"bad-\xff.json")).write_bytes(b"{}")
    with pytest.raises(LoadError) as native_error:
        list(ledger.list_objects(str(tmp_path) + "/"))
    monkeypatch.setattr(native, "list_stat", lambda path: None)
    with pytest.raises(LoadError) as reference_error:
        list(ledger.list_objects(str(tmp_path) + "/"))
    assert str(native_error.value) == str(reference_error.value) and "bad-\\xff.json" in str(native_error.value)
    (tmp_path / os.fsdecode(b"bad-\xff.json")).unlink()
    assert sorted(ledger.list_objects(str(tmp_path) + "/")) == listed


def test_read_all_gives_every_file_in_order(tree):
    got = [(src.key, data if type(data) is bytes else data.read()) for src, data in
           sources.read_all(sources.list_local(str(tree) + "/"), None)]
    expected = [(s.key, Path(s.url).read_bytes()) for s in sources.list_local(str(tree) + "/")]
    assert got == expected
    assert [key for key, _ in got] == ["data/A-sibling/x.json", "data/A/B/TRA.json", "data/A/C/TRA.json",
                                       "data/A/TRB.json", "data/A/big.json", "data/A/empty.json",
                                       "data/A/link.json"]


def test_read_files_reports_big_and_unreadable_files(tree):
    paths = [str(tree / "A" / "TRB.json"), str(tree / "A" / "big.json"), str(tree / "A" / "gone.json"),
             str(tree / "A"), str(tree / "A" / "empty.json")]
    contents, joined = native.read_files(paths, 64 * 1024)
    assert contents == [line() + b"\n", -1, -2, -2, b""]
    assert joined is None  # not all one-line files


def test_read_files_joins_one_line_files(tree):
    paths = [str(tree / "A" / "B" / "TRA.json"), str(tree / "A" / "TRB.json"), str(tree / "A-sibling" / "x.json")]
    contents, joined = native.read_files(paths, 64 * 1024)
    assert contents == [line(), line() + b"\n", line()]
    assert joined == (line() + b"\n") * 3


def test_a_file_that_disappears_is_named(tree):
    src = SourceFile(str(tree / "A" / "gone.json"), "A/gone.json")
    with pytest.raises(LoadError, match="gone.json disappeared"):
        list(sources.read_all(iter([src]), None))
