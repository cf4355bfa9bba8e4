"""A line too long to hold: Redshift's 4 MB limit applies while it is read, and memory stays bounded.

The line reader holds at most about 4 MB of a line; a longer one is read in pieces and split into its
top-level values as they arrive (records.LineSplitter). So a value over 4 MB fails the COPY as soon as 4 MB
of it have been read, and a huge line of small objects written back to back (Kinesis Data Firehose's way)
loads record by record. The pure functions are checked against `Recovery.recover`, which reads a whole line;
the emulated COPY of a 40 MB line runs in a child process whose peak memory (ru_maxrss) is measured.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from sparkify.copy import rows
from sparkify.copy.convert import Options, column_from_catalog
from sparkify.copy.producer import FileContext
from sparkify.copy.records import MAX_OBJECT_BYTES, LineSplitter, Malformed, ObjectTooLarge, Recovery
from sparkify.copy.rows import LineReader, RowBuilder
from sparkify.copy.sources import SourceFile
from tests.helpers.corpus import T_DDL

ROOT = Path(__file__).resolve().parents[2]
MB = 1 << 20


def split(line: bytes, piece: int, lineno: int = 1) -> tuple[list, bytes | None]:
    """(found records as (lineno, value or Malformed reason, raw), open tail) of `line` read `piece` bytes at a time."""
    splitter = LineSplitter(Recovery(None), lineno, first_line=lineno == 1)
    pieces = (line[i:i + piece] for i in range(0, len(line), piece))
    found = [(f.lineno, f.value.reason if isinstance(f.value, Malformed) else f.value, f.raw)
             for f in splitter.records(pieces)]
    return found, splitter.open_tail


def recovered(line: bytes, lineno: int = 1) -> list:
    found, _ = Recovery(None).recover(line, lineno, iter(()), lineno == 1)
    return [(f.lineno, f.value.reason if isinstance(f.value, Malformed) else f.value, f.raw) for f in found]


LINES = [
    b'{"a": 1}{"a": 2} {"a": "x}y{z"}\n',
    b'\xef\xbb\xbf{"a": "quote \\" and backslash \\\\"}  [1, {"b": [2, "]"]}]\t{"c": null}\n',
    b'{"a": 1} 42 {"b": 2}\n',  # a scalar: the rest of the line is one bad record
    b'{"a": 1} {"b": "unterminated\n',
    b'{"a": {"b": {"c": "\\u00e9\\\\"}}}{"x": "\xc3\xa9t\xc3\xa9"}',  # no newline at the end of the file
    b"   \n",
]


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64, 10_000])
@pytest.mark.parametrize("line", LINES, ids=range(len(LINES)))
def test_a_line_in_pieces_gives_the_records_of_the_whole_line(line, piece):
    found, tail = split(line, piece)
    assert tail is None
    assert found == recovered(line)


@pytest.mark.parametrize("piece", [1, 5, 4096])
def test_random_back_to_back_objects_in_pieces(piece):
    rng = random.Random(piece)
    objects = [{"s": "".join(rng.choice('ab"\\{}[] é') for _ in range(rng.randrange(12))), "n": [rng.random()]}
               for _ in range(300)]
    line = b"".join(orjson.dumps(o) + b" " * rng.randrange(3) for o in objects) + b"\n"
    found, tail = split(line, piece)
    assert tail is None and [value for _, value, _ in found] == objects


def test_a_value_the_line_leaves_open_is_the_tail():
    found, tail = split(b'{"a": 1} {"b": [1,\n', 3)
    assert [value for _, value, _ in found] == [{"a": 1}] and tail == b'{"b": [1,\n'


def test_a_value_over_4_mb_fails_once_4_mb_of_it_are_read():
    fed = []

    def pieces():
        yield b'{"a": 1} {"big": "'
        for _ in range(40):  # 40 MB, if it were all read
            fed.append(MB)
            yield b"x" * MB

    splitter = LineSplitter(Recovery(None), 7, first_line=False)
    records = splitter.records(pieces())
    assert next(records).value == {"a": 1}
    with pytest.raises(ObjectTooLarge) as exc:
        next(records)
    assert exc.value.lineno == 7 and not exc.value.complete
    assert f"more than {MAX_OBJECT_BYTES} bytes" in str(exc.value) and "4 MB" in str(exc.value)
    assert len(fed) == 4  # the value passed 4 MB with its fourth megabyte: nothing more was read


# --------------------------------------------------------------------------------------------------
# The reader and both converters, with small limits (the same code that holds 4 MB at most)

COLUMNS = [column_from_catalog("id", "integer", False), column_from_catalog("name", "character varying(8)", False)]


class Sink:
    def __init__(self):
        self.rejected: list[tuple[int, int, str]] = []

    def reject(self, src, lineno, raw, column, reject):
        self.rejected.append((lineno, reject.err_code, raw[:20].decode("utf-8", "replace")))


@pytest.fixture(params=[False, True], ids=["python", "native"])
def native(request) -> bool:
    """Both converters: the pure-Python reference, and the C converter (which must then be usable)."""
    if request.param:
        request.getfixturevalue("native_library")
    return request.param


def convert(data: bytes, *, native: bool) -> tuple[list[str], list, int]:
    builder = RowBuilder(COLUMNS, [("id",), ("name",)], Options(truncatecolumns=True), native=native)
    sink = Sink()
    ctx = FileContext(sink, builder, SourceFile("/x.json", "x.json"), Recovery(None))
    out = b"".join(payload for payload, _ in builder.pump_bytes(io.BytesIO(data), ctx))
    return out.decode().splitlines(), sink.rejected, ctx.lineno


@pytest.fixture
def small_limits(monkeypatch):
    """A reader that holds 64 bytes of a line and reads 16 at a time."""
    monkeypatch.setattr(rows, "MAX_LINE_BYTES", 64)
    monkeypatch.setattr(rows, "CHUNK_BYTES", 16)


def test_long_lines_load_as_their_records_and_line_numbers_stay_right(small_limits, native):
    objects = [{"id": i, "name": f"n{i}"} for i in range(40)]
    data = (b'{"id": 1, "name": "short"}\n'
            + b"".join(orjson.dumps(o) for o in objects) + b"\n"  # line 2: long, back to back
            + b'{"id": "x", "name": "bad"}\n'  # line 3: rejected
            + b"  " + b" ".join(orjson.dumps(o) for o in objects[:3]) + b' {"id": "y"} garbage ' + b"z" * 200 + b"\n"
            + b'{"id": 2, "name": [1,\n2]}\n'  # lines 5-6: one multi-line object
            + b'{"id": 3, "name": "last"}')
    got, rejected, lineno = convert(data, native=native)
    assert got == ["1\tshort", *[f"{i}\tn{i}" for i in range(40)], *[f"{i}\tn{i}" for i in range(3)], "2\t[1,2]",
                   "3\tlast"]
    assert [(n, code) for n, code, _ in rejected] == [(3, 1207), (4, 1207), (4, 1216)]
    assert rejected[2][2] == "garbage zzzzzzzzzzzz"
    assert lineno == 7


def test_a_multi_line_object_cut_by_a_long_line_is_truncated_and_the_long_line_loads(small_limits, native):
    data = b'{"id": 1, "name":\n' + b'{"id": 5, "name": "x"}' * 10 + b"\n" + b'{"id": 6, "name": "y"}\n'
    got, rejected, lineno = convert(data, native=native)
    assert got == ["5\tx"] * 10 + ["6\ty"]
    assert [(n, code) for n, code, _ in rejected] == [(1, 1216)]
    assert lineno == 3


def test_the_reader_hands_out_a_long_line_in_pieces(small_limits):
    reader = LineReader(io.BytesIO(b"a" * 200 + b"\nnext\n"))
    with pytest.raises(rows.LongLine):
        next(reader)
    pieces = list(reader.line_parts())
    assert b"".join(pieces) == b"a" * 200 + b"\n" and max(map(len, pieces)) <= 64 + 16
    assert next(reader) == b"next\n" and not reader.exhausted
    with pytest.raises(StopIteration):
        next(reader)
    assert reader.exhausted


# --------------------------------------------------------------------------------------------------
# A 40 MB line through the emulated COPY, in a child process: its peak memory

CHILD = r"""
import json, resource, sys
import psycopg2
from sparkify.copy.emulator import emulate_copy
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError

dsn, warm, path, maxerror = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = psycopg2.connect(dsn)

def copy(source):
    try:
        r = emulate_copy(conn, CopySpec(table="t", source=source, maxerror=maxerror),
                         error_conn_factory=lambda: psycopg2.connect(dsn))
        return {"loaded": r.loaded, "rejected": r.rejected}
    except LoadError as exc:
        return {"error": str(exc)}
    finally:
        conn.rollback()

def status_kb(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))

copy(warm)  # everything a COPY imports, starts and allocates once, before the measure
try:  # Linux: the peak reset to the resident size now (clear_refs 5), so the peak after is this COPY's
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before, peak = status_kb("VmRSS"), lambda: status_kb("VmHWM")
except OSError:  # elsewhere the peak so far: it can hide growth, never add any
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = copy(path)
outcome["growth_mb"] = (peak() - before) / 1024
print(json.dumps(outcome))
"""
LINE_MB = 40
BOUND_MB = 24  # the reader holds ~5 MB of a line; buffering the line would take more than 40 MB


def write_line(path: Path, head: bytes, body: bytes, tail: bytes = b"") -> Path:
    """A file of one line of LINE_MB MB (no newline): head, then body repeated, then tail."""
    with open(path, "wb") as fh:
        fh.write(head)
        fh.writelines(body for _ in range(LINE_MB * MB // len(body)))
        fh.write(tail)
    return path


def copy_in_child(copy_dsn, tmp_path, path: Path, *, native: bool, maxerror: int = 0) -> dict:
    warm = tmp_path / "warm.json"
    warm.write_bytes(b'{"id": 1, "name": "a"}\n' * 1000)
    env = {**os.environ, "SPARKIFY_NATIVE": "1" if native else "0"}
    done = subprocess.run([sys.executable, "-c", CHILD, copy_dsn, str(warm), str(path), str(maxerror)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def t_for_child(db):
    db.execute(T_DDL)
    return db


def test_a_40_mb_value_fails_the_copy_in_bounded_memory(t_for_child, copy_dsn, tmp_path, native):
    path = write_line(tmp_path / "huge.json", b'{"id": 1, "name": "', b"x" * MB)
    outcome = copy_in_child(copy_dsn, tmp_path, path, native=native, maxerror=100)
    assert "huge.json line 1" in outcome["error"] and "4 MB" in outcome["error"], outcome
    assert "whatever MAXERROR says" in outcome["error"]
    assert outcome["growth_mb"] < BOUND_MB, outcome


def test_a_40_mb_line_of_objects_loads_them_all_in_bounded_memory(t_for_child, copy_dsn, tmp_path, native):
    record = b'{"id": 7, "tags": "' + b"t" * 980 + b'", "name": "ok"}'  # ~1 KB each, back to back
    path = write_line(tmp_path / "firehose.json", b"", record)
    outcome = copy_in_child(copy_dsn, tmp_path, path, native=native)
    assert outcome.get("loaded") == LINE_MB * MB // len(record) and outcome["rejected"] == 0, outcome
    assert outcome["growth_mb"] < BOUND_MB, outcome
    assert t_for_child.query("select count(*), min(id), max(name) from t") == [(0, None, None)]  # (rolled back)


def test_a_40_mb_line_of_garbage_is_one_rejected_record_in_bounded_memory(t_for_child, copy_dsn, tmp_path, native):
    path = write_line(tmp_path / "garbage.json", b"not json ", b"#" * MB, tail=b'\n{"id": 2, "name": "after"}\n')
    outcome = copy_in_child(copy_dsn, tmp_path, path, native=native, maxerror=1)
    assert outcome.get("loaded") == 1 and outcome["rejected"] == 1, outcome
    assert outcome["growth_mb"] < BOUND_MB, outcome
