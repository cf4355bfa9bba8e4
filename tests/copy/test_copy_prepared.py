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
