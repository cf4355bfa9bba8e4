"""The worker-process path (sparkify.copy.parallel) gives exactly what the sequential path gives: same rows in
the same order, same rejected records and line numbers, same failures. Tiny segments force files to be cut."""

from __future__ import annotations

import pytest

from sparkify.copy import parallel
from sparkify.copy.parallel import Segment, plan_batches, plan_segments, read_segment
from sparkify.copy.sources import SourceFile
from sparkify.errors import LoadError

from .conftest import BAD, T_DDL


@pytest.fixture
def workers(monkeypatch):
    def use(n: int, segment_bytes: int = 64):
        monkeypatch.setenv("SPARKIFY_COPY_WORKERS", str(n))
        monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0 if n else 1 << 60)
        monkeypatch.setattr(parallel, "SEGMENT_BYTES", segment_bytes)
    return use


def snapshot(db, table="t", columns="*"):
    rows = db.query(f"select {columns} from {table} order by seq")
    stl = [(r["filename"], r["line_number"], r["colname"], r["err_code"], r["err_reason"]) for r in db.stl()]
    return rows, stl


def run_both(db, workers, ddl, table, n_workers=2, segment_bytes=64, expect_error=False, **copy):
    outcomes = []
    for n in (0, n_workers):
        workers(n, segment_bytes)
        db.execute("drop schema public cascade; create schema public")
        db.execute(ddl)
        db.execute(f"alter table {table} add column if not exists seq bigint generated always as identity")
        if expect_error:
            with pytest.raises(LoadError) as exc:
                db.copy(table, **copy)
            outcomes.append((str(exc.value), snapshot(db, table)))
        else:
            result = db.copy(table, **copy)
            outcomes.append(((result.loaded, result.rejected, result.files), snapshot(db, table)))
    assert outcomes[0] == outcomes[1]
    return outcomes[0]


@pytest.mark.parametrize("name, maxerror", [
    ("wrong_types.json", 10), ("malformed_json.json", 5), ("truncated_object.json", 5),
    ("pretty_printed_multiline.json", 1), ("several_per_line.json", 0), ("invalid_utf8.json", 5),
    ("bom.json", 0), ("prefix_collision/", 0),
])
def test_corpus_same_outcome(db, workers, name, maxerror):
    (loaded, _, _), _ = run_both(db, workers, T_DDL, "t", source=f"{BAD}/{name}", maxerror=maxerror)
    assert loaded > 0


def test_maxerror_failure_same_message(db, workers):
    message, (rows, stl) = run_both(db, workers, T_DDL, "t", source=BAD / "wrong_types.json", maxerror=3,
                                    expect_error=True)
    assert "COPY rejected 4 records (MAXERROR 3)" in message and rows == [] and len(stl) == 4


def test_object_too_large_same_outcome(db, workers, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b'{"id": 1}\n' * 50 + b'{"id": 2, "tags": "' + b"x" * (4 * 1024 * 1024) + b'"}\n')
    message, _ = run_both(db, workers, T_DDL, "t", source=big, segment_bytes=1 << 20, expect_error=True)
    assert "big.json line 51" in message and "4 MB" in message


@pytest.mark.realdata
def test_real_log_data_same_rows(db, workers, real_data):
    from sparkify.warehouse import translate_for_postgres
    import sql_queries

    (loaded, rejected, files), _ = run_both(
        db, workers, translate_for_postgres(sql_queries.staging_events_table_create), "staging_events",
        segment_bytes=64 * 1024, source=real_data / "log_data", json=real_data / "log_json_path.json",
        timeformat="epochmillisecs", n_workers=3)
    assert (loaded, rejected, files) == (8056, 0, 30)


def test_segments_cover_every_line_once(tmp_path):
    f = tmp_path / "a.json"
    lines = [f'{{"id": {i}, "pad": "{"x" * (i % 13)}"}}\n'.encode() for i in range(200)]
    f.write_bytes(b"".join(lines))
    src = SourceFile(url=str(f), key="a.json", size=f.stat().st_size)
    for size in (1, 7, 50, 64, 1000, 1 << 20):
        segs = list(plan_segments(iter([src]), size))
        assert segs[-1].last and not any(s.last for s in segs[:-1])
        assert b"".join(read_segment(str(f), s.start, s.end) for s in segs) == f.read_bytes()
        assert [s for b in plan_batches(iter(segs), size) for s in b] == segs


def test_empty_file_is_one_segment(tmp_path):
    f = tmp_path / "e.json"
    f.write_bytes(b"")
    assert list(plan_segments(iter([SourceFile(str(f), "e.json", 0)]))) == [
        Segment(0, SourceFile(str(f), "e.json", 0), 0, 0, True)]
