"""The bad-input corpus (bad_inputs/, one file per scenario) through the emulated COPY on real PostgreSQL:
rows loaded, records rejected, the sys_load_error_detail rows and the message, scenario by scenario."""

from __future__ import annotations

import logging

import pytest

from sparkify.errors import LoadError
from tests.helpers.corpus import BAD

NULL = None


def ids(db, column="id", order="seq"):
    return [r[0] for r in db.query(f"select {column} from t order by {order}")]


def errors(db, *fields):
    fields = fields or ("line_number", "column_name", "error_code")
    return [tuple(row[f] for f in fields) for row in db.load_errors()]


def test_malformed_json(t_table):
    result = t_table.copy(source=BAD / "malformed_json.json", maxerror=5)
    assert (result.loaded, result.rejected, result.files) == (3, 2, 1)
    assert ids(t_table) == [1, 3, 5]
    rejected = t_table.load_errors()
    assert [(r["line_number"], r["column_name"], r["error_code"]) for r in rejected] == [(2, "", 1216), (4, "", 1216)]
    assert rejected[0]["file_name"] == str(BAD / "malformed_json.json")
    assert rejected[0]["error_message"].startswith("Invalid JSON:")


def test_malformed_json_fails_the_copy_with_a_message(t_table):
    with pytest.raises(LoadError) as exc:
        t_table.copy(source=BAD / "malformed_json.json", maxerror=0)
    msg = str(exc.value)
    assert msg.startswith("t: COPY rejected 1 record (MAXERROR 0); first: malformed_json.json line 2: Invalid JSON:")
    assert msg.endswith("(see sys_load_error_detail)")
    assert exc.value.table == "t" and len(exc.value.rejected) == 1


def test_truncated_object(t_table):
    result = t_table.copy(source=BAD / "truncated_object.json", maxerror=5)
    assert (result.loaded, result.rejected) == (3, 2)
    assert ids(t_table) == [1, 3, 5]
    assert errors(t_table, "line_number", "error_code") == [(2, 1216), (4, 1216)]
    reasons = [r["error_message"] for r in t_table.load_errors()]
    assert "unterminated string" in reasons[0] and "truncated object" in reasons[1]


WRONG_TYPES = [
    (1, "id", 1207, "Invalid digit, Value 'a', Pos 0, Type: Integer"),
    (2, "id", 1207, "Invalid digit, Value '.', Pos 1, Type: Integer"),
    (3, "small", 1207, "Overflow (Short valid range -32768 to 32767)"),
    (4, "flag", 1210, "Invalid boolean value: 'maybe'"),
    (5, "score", 1207, "Invalid digit, Value 'x', Pos 0, Type: Double"),
    (6, "ts", 1206, "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]"),
    (9, "big", 1207, "Overflow (Long valid range -9223372036854775808 to 9223372036854775807)"),
]


def test_wrong_types(t_table):
    result = t_table.copy(source=BAD / "wrong_types.json", maxerror=7)
    assert (result.loaded, result.rejected) == (2, 7)
    assert t_table.query("select id, score, flag, small, big from t order by big") == [
        (42, 1.5, True, None, 7), (None, None, None, None, 8)]  # quoted numbers load; "" and "  " load NULL
    assert errors(t_table, "line_number", "column_name", "error_code", "error_message") == WRONG_TYPES
    assert [r["column_type"] for r in t_table.load_errors()] == ["int4", "int4", "int2", "bool", "float8", "timestamp", "int8"]


def test_maxerror_boundary_and_atomicity(t_table):
    t_table.execute("insert into t (id, name) values (100, 'before'), (101, 'before')")
    with pytest.raises(LoadError) as exc:
        t_table.copy(source=BAD / "wrong_types.json", maxerror=6)  # 7 bad records: one too many
    assert str(exc.value).startswith("t: COPY rejected 7 records (MAXERROR 6); first: wrong_types.json line 1, "
                                     "column id: Invalid digit, Value 'a', Pos 0, Type: Integer (see sys_load_error_detail)")
    assert len(exc.value.rejected) == 7
    # the table is exactly as before, and the rejected records are kept in sys_load_error_detail
    assert t_table.query("select id, name from t order by id") == [(100, "before"), (101, "before")]
    assert len(t_table.load_errors()) == 7
    result = t_table.copy(source=BAD / "wrong_types.json", maxerror=7)  # exactly enough
    assert (result.loaded, result.rejected) == (2, 7)
    assert len(t_table.load_errors()) == 14
    assert len({r["query_id"] for r in t_table.load_errors()}) == 2


def test_failed_copy_inside_a_transaction_keeps_earlier_work(t_table):
    """The SAVEPOINT lets the caller keep its transaction after a failed COPY."""
    import psycopg2

    from sparkify.copy.emulator import emulate_copy
    from sparkify.copy.spec import CopySpec

    conn = t_table.conn
    with conn.cursor() as cur:
        cur.execute("insert into t (id) values (1)")
    with pytest.raises(LoadError):
        emulate_copy(conn, CopySpec(table="t", source=str(BAD / "wrong_types.json")),
                     error_conn_factory=lambda: psycopg2.connect(t_table.dsn))
    with conn.cursor() as cur:
        cur.execute("insert into t (id) values (2)")  # the transaction is still usable
    conn.commit()
    assert ids(t_table) == [1, 2]


@pytest.mark.parametrize("acceptinvchars, loaded, names", [
    (None, 2, ["ok", None]),
    ("?", 4, ["ok", "caf?", "??", None]),
    ("^", 4, ["ok", "caf^", "^^", None]),
])
def test_invalid_utf8(t_table, acceptinvchars, loaded, names):
    result = t_table.copy(source=BAD / "invalid_utf8.json", maxerror=2, acceptinvchars=acceptinvchars)
    assert result.loaded == loaded
    assert ids(t_table, "name") == names
    if acceptinvchars is None:
        assert errors(t_table, "line_number", "column_name", "error_code", "error_message") == [
            (2, "name", 1220, ("String contains invalid or unsupported UTF-8 codepoints. Bad UTF-8 hex sequence: "
                               "e9 (error 2)")),
            (3, "name", 1220, ("String contains invalid or unsupported UTF-8 codepoints. Bad UTF-8 hex sequence: "
                               "ff (error 3)")),
        ]


def test_overlong_multibyte_truncated_on_character_boundaries(t_table):
    result = t_table.copy(source=BAD / "overlong_multibyte.json")
    assert (result.loaded, result.rejected) == (4, 0)
    names = ids(t_table, "name")
    assert names == ["éééé", "aééé", "abcdefgh", "😀😀"]
    assert all(len(n.encode()) <= 8 for n in names)


def test_overlong_multibyte_rejected_without_truncatecolumns(t_table):
    result = t_table.copy(source=BAD / "overlong_multibyte.json", truncatecolumns=False, maxerror=3)
    assert ids(t_table) == [3]
    assert errors(t_table, "line_number", "column_name", "error_code", "error_message", "column_length") == [
        (1, "name", 1204, "String length exceeds DDL length", "8"),
        (2, "name", 1204, "String length exceeds DDL length", "8"),
        (4, "name", 1204, "String length exceeds DDL length", "8")]
    assert result.rejected == 3


def test_missing_fields_load_null(t_table):
    assert t_table.copy(source=BAD / "missing_fields.json").loaded == 3
    assert t_table.query("select id, name from t order by seq") == [(1, None), (None, "x"), (None, None)]


def test_unknown_fields_are_ignored_and_names_are_case_sensitive(t_table):
    t_table.copy(source=BAD / "unknown_fields.json")
    t_table.copy(source=BAD / "unknown_fields.json", json="auto ignorecase")
    assert t_table.query("select id, name from t order by seq") == [(None, None), (1, "upper")]


@pytest.mark.parametrize("name", ["empty_file.json", "blank_lines_only.json"])
def test_empty_files_load_nothing(t_table, name):
    result = t_table.copy(source=BAD / name)
    assert (result.loaded, result.rejected, result.files) == (0, 0, 1)


@pytest.mark.parametrize("name", ["bom.json", "crlf_line_endings.json"])
def test_bom_and_crlf(t_table, name):
    assert t_table.copy(source=BAD / name).loaded == 2
    assert ids(t_table) == [1, 2]


def test_five_mb_object_fails_the_whole_copy(t_table, tmp_path):
    big = tmp_path / "five_mb_object.json"
    big.write_bytes(b'{"id": 1}\n{"id": 2, "tags": "' + b"x" * (5 * 1024 * 1024) + b'"}\n{"id": 3}\n')
    t_table.execute("insert into t (id) values (100)")
    with pytest.raises(LoadError) as exc:
        t_table.copy(source=big, maxerror=100)  # whatever MAXERROR says
    assert "five_mb_object.json line 2" in str(exc.value) and "4 MB" in str(exc.value)
    assert ids(t_table) == [100]
    assert errors(t_table, "line_number", "error_code") == [(2, 1216)]


def test_pretty_printed_object_just_over_4_mb(t_table, tmp_path):
    big = tmp_path / "pretty.json"
    big.write_bytes(b'{\n "id": 1,\n "tags": "' + b"x" * (4 * 1024 * 1024) + b'"\n}\n')
    with pytest.raises(LoadError, match="4 MB"):
        t_table.copy(source=big)


@pytest.mark.parametrize("prefix, expected", [
    ("prefix_collision/data", [1, 5, 2, 3]),  # a key prefix, not a directory: data_1/ and database.json match
    ("prefix_collision/dat", [1, 5, 2, 3]),
    ("prefix_collision/data/", [1, 5]),
    ("prefix_collision/data/a.json", [1]),
    ("prefix_collision/", [1, 5, 2, 3, 4]),
])
def test_prefix_collision(t_table, prefix, expected):
    result = t_table.copy(source=f"{BAD}/{prefix}")
    assert ids(t_table) == expected and result.files == len(expected)


def test_prefix_matching_no_file(t_table):
    with pytest.raises(LoadError) as exc:
        t_table.copy(source=BAD / "prefix_collision/nothing")
    assert "the specified S3 prefix" in str(exc.value) and "does not exist" in str(exc.value)
    assert str(exc.value).startswith("t: ")


def test_error_filenames_are_shown_relative_to_the_prefix_parent(t_table):
    with pytest.raises(LoadError) as exc:
        t_table.copy(source=BAD / "prefix_collision", json=str(BAD / "jsonpaths_count_mismatch.json"))
    assert "2 expressions but the table has 8 columns" in str(exc.value)


def test_jsonpaths_wrong_shape_falls_back_to_auto_with_a_warning(t_table, caplog):
    result = t_table.copy(source=BAD / "bom.json", json=BAD / "jsonpaths_wrong_shape.json")
    assert result.loaded == 2 and ids(t_table) == [1, 2]
    assert any("jsonpaths_wrong_shape.json" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


@pytest.mark.parametrize("name, message", [
    ("jsonpaths_invalid_json.json", "is not valid JSON"),
    ("jsonpaths_not_an_object.json", "must hold one JSON object"),
    ("jsonpaths_count_mismatch.json", "has 2 expressions but the table has 8 columns"),
    ("jsonpaths_missing.json", "does not exist"),
])
def test_jsonpaths_errors_name_the_file(t_table, name, message):
    with pytest.raises(LoadError) as exc:
        t_table.copy(source=BAD / "bom.json", json=BAD / name)
    assert message in str(exc.value) and name in str(exc.value)


def test_jsonpaths_nested_paths_and_array_indexes(t_table):
    result = t_table.copy(source=BAD / "nested_records.json", json=BAD / "jsonpaths_nested.json",
                          timeformat="epochmillisecs")
    assert result.loaded == 3
    rows = t_table.query("select id, name, score, ts, flag, small, big, tags from t order by seq")
    import datetime as dt
    assert rows == [
        (7, "ann", 2.5, dt.datetime(2018, 11, 1, 20, 57, 10, 796000), True, 3, None, '["x",{"y":null}]'),
        (8, None, None, dt.datetime(2018, 11, 1, 20, 57, 10, 797000), None, None, None, "plain"),
        (None, None, None, None, None, None, None, None),
    ]


def test_pretty_printed_multiline(t_table):
    result = t_table.copy(source=BAD / "pretty_printed_multiline.json", maxerror=1)
    assert (result.loaded, result.rejected) == (3, 1)
    assert t_table.query("select id, name, tags from t order by seq") == [
        (1, "pretty", '{"a":[1,2]}'), (3, None, None), (4, None, None)]
    assert errors(t_table, "line_number", "column_name", "error_code") == [(7, "id", 1207)]  # where the object starts


def test_nul_character(t_table):
    result = t_table.copy(source=BAD / "nul_character.json", maxerror=1)
    assert ids(t_table) == [2] and result.rejected == 1
    assert errors(t_table, "line_number", "column_name", "error_code") == [(1, "name", 1220)]


def test_nested_values_load_as_compact_json_text(t_table):
    result = t_table.copy(source=BAD / "nested_values.json")
    assert result.loaded == 3
    assert t_table.query("select id, name, tags from t order by seq") == [
        (1, "12345", '{"k":[1,true,null]}'), (2, "true", "[1,2,3]"), (3, None, '{"long":"' + "x" * 23)]  # 32 bytes


def test_nested_value_too_long_without_truncatecolumns(t_table):
    result = t_table.copy(source=BAD / "nested_values.json", truncatecolumns=False, maxerror=1)
    assert result.rejected == 1 and errors(t_table, "line_number", "column_name", "error_code") == [(3, "tags", 1204)]


def test_scalars_load_as_their_json_text(t_table):
    t_table.copy(source=BAD / "scalars_as_text.json")
    assert t_table.query("select name, tags from t order by seq") == [("3.25", "false"), ("0", "100.0")]


def test_not_an_object(t_table):
    result = t_table.copy(source=BAD / "not_an_object.json", maxerror=3)
    assert ids(t_table) == [1]
    assert errors(t_table, "line_number", "column_name", "error_code") == [(1, "", 1216), (2, "", 1216), (3, "", 1216)]
    assert result.rejected == 3


def test_several_objects_per_line(t_table):
    assert t_table.copy(source=BAD / "several_per_line.json").loaded == 3
    assert ids(t_table) == [1, 2, 3]


@pytest.mark.parametrize("options, names, id4", [
    ({}, [None, None, " x ", "a"], None),
    ({"emptyasnull": False, "blanksasnull": False}, ["", "   ", " x ", "a"], None),  # "  " -> NULL for INT anyway
])
def test_blank_and_empty_strings(t_table, options, names, id4):
    t_table.copy(source=BAD / "blank_and_empty_strings.json", **options)
    assert ids(t_table, "name") == names
    assert ids(t_table)[3] is id4


def test_escaped_characters_round_trip(t_table):
    t_table.copy(source=BAD / "escaped_characters.json")
    assert ids(t_table, "name") == ["a\tb\\c", "l1\nl2", "été", '"q" /']


def test_epoch_milliseconds_exact(t_table):
    result = t_table.copy(source=BAD / "epoch_millis.json", timeformat="epochmillisecs", maxerror=2)
    assert result.rejected == 2
    assert errors(t_table, "line_number", "column_name", "error_code") == [(8, "ts", 1206), (9, "ts", 1206)]
    rows = t_table.query("select id, (extract(epoch from ts) * 1000)::bigint, ts::text from t order by id")
    assert rows == [
        (1, 1541105830796, "2018-11-01 20:57:10.796"),
        (2, -1, "1969-12-31 23:59:59.999"),
        (3, 0, "1970-01-01 00:00:00"),
        (4, 1541105830796, "2018-11-01 20:57:10.796"),
        (5, 253402300799999, "9999-12-31 23:59:59.999"),
        (6, -62135596800001, "0001-12-31 23:59:59.999 BC"),
        (7, 9224318015999999, "294276-12-31 23:59:59.999"),
    ]


def test_sys_load_error_detail_has_redshifts_columns(t_table):
    t_table.copy(source=BAD / "malformed_json.json", maxerror=5)
    cols = [r[0] for r in t_table.query(
        "select column_name from information_schema.columns where table_name = 'sys_load_error_detail' "
        "order by ordinal_position")]
    assert cols == ["user_id", "query_id", "transaction_id", "session_id", "database_name", "table_id", "start_time",
                    "file_name", "line_number", "column_name", "column_type", "column_length", "position",
                    "error_code", "error_message"]
    row = t_table.load_errors()[0]
    assert row["table_id"] == t_table.query("select 't'::regclass::oid")[0][0]
    assert row["database_name"] == t_table.query("select current_database()")[0][0]
    assert row["user_id"] == t_table.query("select oid from pg_roles where rolname = current_user")[0][0]
    assert row["session_id"] and row["query_id"] and row["start_time"] and row["transaction_id"]


def test_manifest_local(t_table, tmp_path):
    manifest = tmp_path / "load.manifest"
    manifest.write_text('{"entries": ['
                        f'{{"url": "{BAD}/bom.json", "mandatory": true}},'
                        f'{{"url": "{BAD}/gone.json", "mandatory": false}},'
                        f'{{"url": "{BAD}/several_per_line.json"}}]}}')
    result = t_table.copy(source=manifest, manifest=True)
    assert (result.loaded, result.files) == (5, 2)
    manifest.write_text(f'{{"entries": [{{"url": "{BAD}/gone.json", "mandatory": true}}]}}')
    with pytest.raises(LoadError, match="mandatory file .*gone.json does not exist"):
        t_table.copy(source=manifest, manifest=True)


def test_progress_reports(t_table):
    import psycopg2

    from sparkify.copy.emulator import emulate_copy
    from sparkify.copy.spec import CopySpec

    seen = []
    emulate_copy(t_table.conn, CopySpec(table="t", source=str(BAD / "prefix_collision/")),
                 error_conn_factory=lambda: psycopg2.connect(t_table.dsn), progress=seen.append)
    size = sum(p.stat().st_size for p in (BAD / "prefix_collision").rglob("*.json"))
    assert size == 50
    assert seen[-1] == {"table": "t", "files_done": 5, "files_total": 5, "records": 5, "bytes": size, "rejected": 0}


def test_missing_table(db):
    with pytest.raises(LoadError, match="table does not exist"):
        db.copy(table="nope", source=BAD / "bom.json")


def test_autocommit_connection_needs_no_savepoint(t_table):
    import psycopg2

    from sparkify.copy.emulator import emulate_copy
    from sparkify.copy.spec import CopySpec

    conn = psycopg2.connect(t_table.dsn)
    conn.autocommit = True
    try:
        result = emulate_copy(conn, CopySpec(table="t", source=str(BAD / "bom.json")),
                              error_conn_factory=lambda: psycopg2.connect(t_table.dsn))
        assert result.loaded == 2
        with pytest.raises(LoadError):
            emulate_copy(conn, CopySpec(table="t", source=str(BAD / "wrong_types.json")),
                         error_conn_factory=lambda: psycopg2.connect(t_table.dsn))
    finally:
        conn.close()
    assert ids(t_table) == [1, 2]  # the failed COPY (one statement) left nothing behind
