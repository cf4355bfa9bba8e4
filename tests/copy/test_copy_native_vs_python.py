"""The emulated COPY with the C converter gives exactly what it gives in pure Python (SPARKIFY_NATIVE=0): the same
rows in the same order, the same rejected records and line numbers, the same failures and progress counts, on
the bad-input corpus and on the real log data. Each C run must have converted rows in C (counted), so the
comparison is never the Python path against itself."""

from __future__ import annotations

import shutil

import pytest

from sparkify.copy import native
from sparkify.errors import LoadError
from tests.helpers.corpus import BAD, T_DDL

pytestmark = pytest.mark.usefixtures("native_library")


@pytest.fixture
def c_rows(monkeypatch):
    """The rows the C converter converts, counted (the list's sum)."""
    counted: list[int] = []
    real = native.NativeConverter.convert

    def convert(self, buf, pos, end):
        result = real(self, buf, pos, end)
        counted.append(result[3])
        return result

    monkeypatch.setattr(native.NativeConverter, "convert", convert)
    return counted


def snapshot(db, table):
    rows = db.query(f"select {table}::text from {table} order by seq")  # as text: timestamps BC too
    stl = [(r["file_name"], r["line_number"], r["column_name"], r["error_code"], r["error_message"])
           for r in db.load_errors()]
    return rows, stl


def run_both(db, monkeypatch, c_rows, ddl, table, expect_error=False, **copy):
    """The same COPY with C, then in pure Python; returns both outcomes and the rows C converted."""
    outcomes = []
    converted = 0
    for switch in ("1", "0"):
        monkeypatch.setenv("SPARKIFY_NATIVE", switch)
        db.execute("drop schema public cascade; create schema public")
        db.execute(ddl)
        db.execute(f"alter table {table} add column if not exists seq bigint generated always as identity")
        seen: list[dict] = []
        before = sum(c_rows)
        if expect_error:
            with pytest.raises(LoadError) as exc:
                db.copy(table, progress=seen.append, **copy)
            outcomes.append((str(exc.value), snapshot(db, table)))
        else:
            result = db.copy(table, progress=seen.append, **copy)
            outcomes.append(((result.loaded, result.rejected, result.files, seen[-1]), snapshot(db, table)))
        if switch == "1":
            converted = sum(c_rows) - before
        else:
            assert sum(c_rows) == before, "SPARKIFY_NATIVE=0 still used the C converter"
    assert outcomes[0] == outcomes[1]
    return outcomes[0], converted


@pytest.mark.parametrize("name, maxerror", [
    ("wrong_types.json", 10), ("malformed_json.json", 5), ("truncated_object.json", 5),
    ("pretty_printed_multiline.json", 1), ("several_per_line.json", 0), ("invalid_utf8.json", 5),
    ("bom.json", 0), ("prefix_collision/", 0), ("missing_fields.json", 0), ("escaped_characters.json", 0),
    ("blank_and_empty_strings.json", 0), ("crlf_line_endings.json", 0), ("epoch_millis.json", 2),
    ("overlong_multibyte.json", 5), ("nul_character.json", 5),
])
def test_corpus_same_outcome(db, monkeypatch, c_rows, tmp_path, name, maxerror):
    """Each scenario, followed by a file of plain lines (which C converts: the run did use C)."""
    source = BAD / name
    if source.is_file():
        shutil.copyfile(source, tmp_path / f"a_{name}")
        (tmp_path / "b_plain.json").write_text('{"id": 100, "name": "plain", "ts": 1541105830796}\n' * 3)
        source = tmp_path
    ((loaded, _, _, _), _), converted = run_both(db, monkeypatch, c_rows, T_DDL, "t", source=f"{source}/",
                                                 maxerror=maxerror, timeformat="epochmillisecs")
    assert loaded > 0
    assert converted > 0, f"{name}: the C converter converted no row: C was not compared with Python"


def test_maxerror_failure_same_message(db, monkeypatch, c_rows, tmp_path):
    (tmp_path / "a_plain.json").write_text('{"id": 100, "name": "plain"}\n' * 3)
    shutil.copyfile(BAD / "wrong_types.json", tmp_path / "b_wrong_types.json")
    (message, (rows, stl)), converted = run_both(db, monkeypatch, c_rows, T_DDL, "t", source=f"{tmp_path}/",
                                                 maxerror=3, timeformat="epochmillisecs", expect_error=True)
    assert "COPY rejected 4 records (MAXERROR 3)" in message and rows == [] and len(stl) == 4
    assert converted == 3


def test_object_too_large_same_outcome(db, monkeypatch, c_rows, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b'{"id": 1}\n' * 50 + b'{"id": 2, "tags": "' + b"x" * (4 * 1024 * 1024) + b'"}\n')
    (message, _), converted = run_both(db, monkeypatch, c_rows, T_DDL, "t", source=big, expect_error=True,
                                       timeformat="epochmillisecs")
    assert "big.json line 51" in message and "4 MB" in message
    assert converted == 50


@pytest.mark.realdata
@pytest.mark.parametrize("table, source", [("staging_events", "log_data"), ("staging_songs", "song_data")])
def test_real_data_same_rows(db, monkeypatch, c_rows, real_data, table, source):
    import sql_queries
    from sparkify.warehouse import translate_for_postgres

    ddl = {"staging_events": sql_queries.staging_events_table_create,
           "staging_songs": sql_queries.staging_songs_table_create}[table].sql
    options = {"timeformat": "epochmillisecs", "truncatecolumns": True, "emptyasnull": True, "blanksasnull": True}
    if table == "staging_events":
        options["json"] = real_data / "log_json_path.json"
    ((loaded, rejected, files, progress), _), converted = run_both(
        db, monkeypatch, c_rows, translate_for_postgres(ddl), table, source=real_data / source, **options)
    assert (loaded, rejected, files) == {"staging_events": (8056, 0, 30), "staging_songs": (1943, 0, 1943)}[table]
    assert progress["files_done"] == files and progress["records"] == loaded
    assert converted > 0.99 * loaded  # (a few songs with a numeric artist_name are declined: Python takes them)
