"""Prepared (overlapping) COPYs: prepare_copy starts reading and converting the next table's files while the
previous COPY runs; the prepared COPY then loads its rows, reports its rejections and fails in its own turn."""

from __future__ import annotations

import json
import threading

import psycopg2
import pytest

from sparkify.copy.emulator import emulate_copy, prepare_copy
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError


def _producers() -> list:
    return [t for t in threading.enumerate() if t.name == "sparkify-copy-producer"]


def _write_files(directory, n: int, bad_at: int | None = None):
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = "x" * 20 if i == bad_at else "n"  # varchar(8): too long, rejected without TRUNCATECOLUMNS
        (directory / f"f{i:04d}.json").write_text(json.dumps({"id": i, "name": name}))


def test_a_prepared_copy_runs_in_its_turn_with_its_rows(db, tmp_path):
    db.execute("create table a (id integer, name varchar(8)); create table b (id integer, name varchar(8))")
    _write_files(tmp_path / "a", 50)
    _write_files(tmp_path / "b", 700)
    spec_a = CopySpec(table="a", source=str(tmp_path / "a") + "/")
    spec_b = CopySpec(table="b", source=str(tmp_path / "b") + "/")
    prepared = prepare_copy(db.conn, spec_b)  # starts reading b at once
    assert prepared.error is None and _producers()
    emulate_copy(db.conn, spec_a, error_conn_factory=lambda: psycopg2.connect(db.dsn))
    result = emulate_copy(db.conn, spec_b, error_conn_factory=lambda: psycopg2.connect(db.dsn), prepared=prepared)
    db.conn.commit()
    assert (result.loaded, result.files) == (700, 700)
    assert db.query("select count(*), sum(id) from b") == [(700, sum(range(700)))]
    assert not _producers()


def test_a_prepared_copy_reports_its_rejections_in_its_turn(db, tmp_path):
    db.execute("create table b (id integer, name varchar(8))")
    _write_files(tmp_path / "b", 30, bad_at=17)
    spec_b = CopySpec(table="b", source=str(tmp_path / "b") + "/", truncatecolumns=False)
    prepared = prepare_copy(db.conn, spec_b)
    with pytest.raises(LoadError, match=r"b: COPY rejected 1 record .*f0017\.json line 1, column name"):
        emulate_copy(db.conn, spec_b, error_conn_factory=lambda: psycopg2.connect(db.dsn), prepared=prepared)
    db.conn.rollback()
    assert [(r["file_name"].rsplit("/", 1)[1], r["error_code"]) for r in db.load_errors()] == [("f0017.json", 1204)]
    assert not _producers()


def test_a_prepared_copy_that_never_runs_is_stopped(db, tmp_path, monkeypatch):
    from sparkify.copy import producer, streaming

    # Chunks of a few rows, one converted ahead: the producer is still at work (blocked on the full queue) when
    # the COPY is closed, whatever the machine's speed; with the real sizes, 300 small files fit in the queue.
    monkeypatch.setattr(producer, "SEND_BYTES", 64)
    monkeypatch.setattr(streaming, "PREFETCH_CHUNKS", 1)
    db.execute("create table b (id integer, name varchar(8))")
    _write_files(tmp_path / "b", 300)
    prepared = prepare_copy(db.conn, CopySpec(table="b", source=str(tmp_path / "b") + "/"))
    assert _producers()
    prepared.close()
    assert not _producers()


def test_a_prepared_copy_of_a_missing_prefix_fails_in_its_turn(db, tmp_path):
    db.execute("create table b (id integer, name varchar(8))")
    spec = CopySpec(table="b", source=str(tmp_path / "nothing-here"))
    prepared = prepare_copy(db.conn, spec)  # no exception yet
    with pytest.raises(LoadError, match="b: COPY found no file"):
        emulate_copy(db.conn, spec, error_conn_factory=lambda: psycopg2.connect(db.dsn), prepared=prepared)


def test_a_prepared_copy_waits_until_the_copy_before_has_sent_its_first_chunks(db, tmp_path, monkeypatch):
    """prepare_copy(after=event) converts nothing until the COPY before sets `ahead`: when it has sent
    START_NEXT_AFTER chunks (here 3 of its 100), or converted all it had."""
    from sparkify.copy import streaming

    monkeypatch.setattr(streaming, "START_NEXT_AFTER", 3)
    db.execute("create table b (id integer, name varchar(8))")
    _write_files(tmp_path / "b", 20)
    spec_b = CopySpec(table="b", source=str(tmp_path / "b") + "/")
    ahead = threading.Event()
    prepared = prepare_copy(db.conn, spec_b, after=ahead)
    assert prepared.load.files_done == 0
    first = streaming.Background(iter([b"1\tn\n"] * 100), ahead=ahead)  # the COPY before, as its producer
    for _ in range(2):
        next(first)
    assert not ahead.wait(0.3) and prepared.load.files_done == 0  # two chunks sent: b still waits
    next(first)
    assert ahead.wait(5)  # the third: b converts now
    first.close()
    result = emulate_copy(db.conn, spec_b, error_conn_factory=lambda: psycopg2.connect(db.dsn), prepared=prepared)
    assert (result.loaded, result.files) == (20, 20)
    assert not _producers()


def test_the_copy_before_frees_the_prepared_ones_when_it_ends_or_fails(db, tmp_path):
    """A COPY shorter than START_NEXT_AFTER chunks sets `ahead` when its conversion ends; one that fails or is
    closed sets it too; and a prepared COPY that waits is stopped by close() (no thread is left waiting)."""
    from sparkify.copy import streaming

    db.execute("create table a (id integer, name varchar(8))")
    _write_files(tmp_path / "a", 5)
    ahead = threading.Event()
    short = streaming.Background(iter([b"1\tn\n"]), ahead=ahead)
    assert list(short) == [b"1\tn\n"] and ahead.is_set()

    def failing():
        yield b"1\tn\n"
        raise LoadError("a: the converter failed")

    ahead = threading.Event()
    with pytest.raises(LoadError, match="converter failed"):
        list(streaming.Background(failing(), ahead=ahead))
    assert ahead.is_set()

    waiting = prepare_copy(db.conn, CopySpec(table="a", source=str(tmp_path / "a") + "/"), after=threading.Event())
    assert _producers()
    waiting.close()
    assert not _producers() and waiting.load.files_done == 0
