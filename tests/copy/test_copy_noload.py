"""COPY ... NOLOAD emulated on the embedded PostgreSQL: every record read, converted and judged as a load would,
rejections recorded in sys_load_error_detail and MAXERROR applied, and not one row inserted."""

from __future__ import annotations

import pytest

from sparkify.errors import LoadError
from tests.helpers.corpus import BAD
from tests.helpers.schema import postgres_ddl


def rows(db, table="t"):
    return db.query(f"select count(*) from {table}")[0][0]


def test_noload_reads_good_input_and_inserts_nothing(t_table, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.json").write_text('{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n')
    (tmp_path / "data" / "b.json").write_text('{"id": 3, "name": "c"}\n')
    result = t_table.copy(source=tmp_path / "data", noload=True)
    assert (result.files, result.loaded, result.rejected) == (2, 3, 0)  # loaded: the rows a load would insert
    assert rows(t_table) == 0 and t_table.load_errors() == []
    # the same COPY without NOLOAD inserts exactly those rows
    assert t_table.copy(source=tmp_path / "data").loaded == 3 and rows(t_table) == 3


def test_noload_reports_rejections_within_maxerror(t_table):
    result = t_table.copy(source=BAD / "malformed_json.json", maxerror=5, noload=True)
    assert (result.loaded, result.rejected) == (3, 2)
    assert rows(t_table) == 0
    assert [(r["line_number"], r["error_code"]) for r in t_table.load_errors()] == [(2, 1216), (4, 1216)]


def test_noload_fails_as_a_load_would_beyond_maxerror(t_table):
    with pytest.raises(LoadError) as info:
        t_table.copy(source=BAD / "malformed_json.json", maxerror=0, noload=True)
    assert str(info.value).startswith("t: COPY rejected 1 record (MAXERROR 0); first: malformed_json.json line 2: "
                                      "Invalid JSON:")
    assert rows(t_table) == 0 and len(t_table.load_errors()) == 1  # kept, as Redshift keeps them for a failed COPY


def test_noload_of_the_real_events_with_their_jsonpaths(db, real_data):
    db.execute(postgres_ddl("staging_events"))
    result = db.copy("staging_events", real_data / "log_data", json=real_data / "log_json_path.json",
                     timeformat="epochmillisecs", noload=True)
    assert (result.files, result.loaded, result.rejected) == (30, 8056, 0)
    assert rows(db, "staging_events") == 0
