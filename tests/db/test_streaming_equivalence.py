"""The streaming COPY emulation loads byte for byte what a straightforward reference loader loads.

The reference reads the real udacity-dend files (../shared/data/sparkify) with the json module, one line
(events) or one file (songs) at a time, converts every value explicitly with Redshift's COPY rules for the
staging column's type (below, written independently of sparkify.copy), and inserts the rows with
executemany into twin tables (`create table ref_x (like x)`). The emulator (sparkify.copy.emulator,
through its public `emulate_copy`, with the very CopySpec etl.py binds) loads the real staging tables. Both
are dumped with `COPY (select * from t order by <every column>) TO STDOUT` and compared as bytes.

The emulator converts with the C converter where it can (the `native` variant checks that it did) and in
pure Python otherwise (`python`: SPARKIFY_NATIVE=0); both must load the reference's rows.

Also here: a smoke test of the load benchmark (bench/load.py) on a tiny generated sample.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg2
import pytest

import sql_queries
from sparkify.config import ClusterSettings, Config, S3Settings
from sparkify.copy.spec import bind
from sparkify.warehouse import translate_for_postgres

PROJECT_DIR = Path(__file__).resolve().parents[2]
EPOCH = datetime(1970, 1, 1)
WHITESPACE = " \t\n\r\x0b\x0c"
INT_RANGES = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
OPTIONS = {"staging_events": ("log_data", "epochmillisecs"), "staging_songs": ("song_data", None)}


# --------------------------------------------------------------------------------------------------
# The reference path: plain json + explicit conversions


class Rejected(Exception):
    """The reference would reject this value; the real data has none, so the test fails loudly."""


def text_of(v) -> str:
    """What Redshift converts from: a string's content, else the value's JSON text."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def to_varchar(v, nbytes: int | None):
    s = text_of(v)
    if s == "" or s.strip(WHITESPACE) == "":  # EMPTYASNULL, BLANKSASNULL
        return None
    if "\x00" in s:
        raise Rejected(f"NUL in {s!r}")
    if nbytes is not None and len(s.encode("utf-8")) > nbytes:  # TRUNCATECOLUMNS: cut at a character boundary
        s = s.encode("utf-8")[:nbytes].decode("utf-8", "ignore")
    return s


def to_int(v, kind: str):
    lo, hi = INT_RANGES[kind]
    if isinstance(v, bool):
        raise Rejected(f"boolean {v!r} into {kind}")
    if isinstance(v, int):
        i = v
    else:
        s = text_of(v)
        if s.strip(WHITESPACE) == "":  # empty and blank fields load NULL into non-character columns
            return None
        if not re.fullmatch(r"[+-]?[0-9]+", s):
            raise Rejected(f"{s!r} into {kind}")
        i = int(s)
    if not lo <= i <= hi:
        raise Rejected(f"{i} out of range for {kind}")
    return i


def to_double(v):
    if isinstance(v, bool):
        raise Rejected(f"boolean {v!r} into double precision")
    if isinstance(v, (int, float)):
        f = float(v)
    else:
        s = text_of(v)
        if s.strip(WHITESPACE) == "":
            return None
        f = float(s)
    if math.isinf(f) or math.isnan(f):
        raise Rejected(f"{v!r} into double precision")
    return f


def to_timestamp(v, timeformat: str | None):
    if timeformat != "epochmillisecs":
        raise Rejected(f"the reference only knows TIMEFORMAT 'epochmillisecs', not {timeformat!r}")
    if isinstance(v, bool):
        raise Rejected(f"boolean {v!r} into timestamp")
    if isinstance(v, int):
        ms = v
    else:
        s = text_of(v)
        if s.strip(WHITESPACE) == "":
            return None
        if not re.fullmatch(r"[+-]?[0-9]+", s):
            raise Rejected(f"{s!r} into timestamp")
        ms = int(s)
    return EPOCH + timedelta(milliseconds=ms)  # exact: integer milliseconds, no floating point


def converter(type_text: str, timeformat: str | None):
    """The conversion for a staging column, from its catalog type (format_type)."""
    m = re.fullmatch(r"character varying(?:\((\d+)\))?", type_text)
    if m:
        n = int(m.group(1)) if m.group(1) else None
        return lambda v: to_varchar(v, n)
    if type_text in INT_RANGES:
        return lambda v: to_int(v, type_text)
    if type_text == "double precision":
        return to_double
    if type_text == "timestamp without time zone":
        return lambda v: to_timestamp(v, timeformat)
    raise AssertionError(f"the reference has no rule for a {type_text} column: extend it")


def json_paths(path: Path) -> list[str]:
    """The member names of a JSONPaths file made of $['name'] / $.name expressions."""
    names = []
    for expr in json.loads(path.read_text())["jsonpaths"]:
        m = re.fullmatch(r"\$\[['\"](.+)['\"]\]|\$\.(\w+)", expr)
        assert m, f"the reference only reads simple member paths, not {expr!r}"
        names.append(m.group(1) or m.group(2))
    return names


def reference_rows(files: list[Path], keys: list[str], convs: list, per_line: bool) -> list[tuple]:
    rows = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        records = [json.loads(line) for line in text.splitlines() if line.strip()] if per_line else [json.loads(text)]
        for record in records:
            values = []
            for key, conv in zip(keys, convs):
                v = record.get(key)  # a missing member or a JSON null loads NULL
                values.append(None if v is None else conv(v))
            rows.append(tuple(values))
    return rows


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers


def config_for(real_data: Path, pg_dsn: str) -> Config:
    u = urlparse(pg_dsn)
    return Config(
        engine="postgres",
        s3=S3Settings(log_data=str(real_data / "log_data"), log_jsonpath=str(real_data / "log_json_path.json"),
                      song_data=str(real_data / "song_data")),
        cluster=ClusterSettings(host=parse_qs(u.query)["host"][0], db_name=u.path.lstrip("/"), db_user="postgres",
                                db_port=5432),
    )


def columns_of(conn, table: str) -> list[tuple[str, str]]:
    with conn.cursor() as cur:
        cur.execute("select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                    "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum",
                    (table,))
        return cur.fetchall()


def dump(conn, table: str) -> bytes:
    """The table as COPY text, ordered by every column: a byte-comparable picture of its rows."""
    n = len(columns_of(conn, table))
    out = io.BytesIO()
    with conn.cursor() as cur:
        cur.copy_expert(f"copy (select * from {table} order by {', '.join(str(i) for i in range(1, n + 1))}) "
                        "to stdout", out)
    return out.getvalue()


def _python_only(monkeypatch):
    monkeypatch.setenv("SPARKIFY_NATIVE", "0")


def _native(monkeypatch):
    from sparkify.copy import native

    converted: list[int] = []
    real_convert = native.NativeConverter.convert

    def spy(self, *args):
        result = real_convert(self, *args)
        converted.append(result[3])
        return result

    monkeypatch.setattr(native.NativeConverter, "convert", spy)
    # nearly every real record is converted in C (a few, e.g. songs with a numeric artist_name, are declined)
    return lambda: sum(converted) > 0.99 * (8056 + 1943)


VARIANTS = {
    "default": lambda mp: None,  # whatever the emulator chooses for these sizes
    "native": _native,
    "python": _python_only,
}


# --------------------------------------------------------------------------------------------------
# The test


@pytest.mark.realdata
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_emulated_copy_loads_exactly_the_reference_rows(variant, real_data, pg_dsn, monkeypatch, request):
    from sparkify.copy.emulator import emulate_copy

    if variant == "native":
        request.getfixturevalue("native_library")  # (skips only without a C compiler)
    ran = VARIANTS[variant](monkeypatch)
    config = config_for(real_data, pg_dsn)
    conn = psycopg2.connect(pg_dsn)
    try:
        with conn.cursor() as cur:
            for ddl in (sql_queries.staging_events_table_create, sql_queries.staging_songs_table_create):
                cur.execute(translate_for_postgres(ddl.sql))
            for table in OPTIONS:
                cur.execute(f"create table ref_{table} (like {table})")
        conn.commit()

        # the streaming path, with the spec etl.py binds from the configuration
        for template in sql_queries.copy_table_queries:
            spec = bind(template, config)
            assert spec.maxerror == 0 and spec.truncatecolumns and spec.emptyasnull and spec.blanksasnull
            result = emulate_copy(conn, spec, error_conn_factory=lambda: psycopg2.connect(pg_dsn))
            assert result.rejected == 0, result.errors[:3]
        conn.commit()
        if ran is not None:
            assert ran(), f"the {variant} path did not run"

        # the reference path
        for table, (source, timeformat) in OPTIONS.items():
            columns = columns_of(conn, table)
            convs = [converter(type_text, timeformat) for _, type_text in columns]
            if table == "staging_events":
                keys = json_paths(real_data / "log_json_path.json")  # JSONPaths map to columns by position
                files = sorted(p for p in (real_data / source).rglob("*") if p.is_file())
                rows = reference_rows(files, keys, convs, per_line=True)
            else:
                keys = [name for name, _ in columns]  # 'auto': member name = column name
                files = sorted(p for p in (real_data / source).rglob("*") if p.is_file())
                rows = reference_rows(files, keys, convs, per_line=False)
            assert len(keys) == len(columns)
            with conn.cursor() as cur:
                cur.executemany(f"insert into ref_{table} values ({', '.join(['%s'] * len(columns))})", rows)
        conn.commit()

        counts = {}
        for table in OPTIONS:
            emulated, reference = dump(conn, table), dump(conn, f"ref_{table}")
            counts[table] = reference.count(b"\n")
            if emulated != reference:
                e_lines, r_lines = emulated.splitlines(), reference.splitlines()
                first = next((i for i, (a, b) in enumerate(zip(e_lines, r_lines)) if a != b),
                             min(len(e_lines), len(r_lines)))
                pytest.fail(f"{table}: the emulated COPY differs from the reference ({len(e_lines)} vs "
                            f"{len(r_lines)} rows); first difference at sorted row {first}:\n"
                            f"  emulated:  {e_lines[first] if first < len(e_lines) else '(none)'!r}\n"
                            f"  reference: {r_lines[first] if first < len(r_lines) else '(none)'!r}")
        assert counts == {"staging_events": 8056, "staging_songs": 1943}  # FACTS.md: the real data's counts
    finally:
        conn.close()


def test_reference_conversions_follow_redshift_rules():
    """The reference itself, on the cases the real data has (and a few it might)."""
    varchar = converter("character varying(4)", None)
    assert varchar("") is None and varchar("  ") is None and varchar("ab") == "ab"
    assert varchar(27) == "27"  # a numeric artist_location loads its JSON text
    assert varchar("abcdef") == "abcd" and varchar("aé€") == "aé"  # cut at 4 bytes, never inside a character
    integer = converter("integer", None)
    assert integer("39") == 39 and integer("") is None and integer(7) == 7
    with pytest.raises(Rejected):
        integer("3.5")
    ts = converter("timestamp without time zone", "epochmillisecs")
    assert ts(1541105830796) == datetime(2018, 11, 1, 20, 57, 10, 796000)
    assert converter("double precision", None)(1540919166796) == 1540919166796.0


# --------------------------------------------------------------------------------------------------
# The benchmark's smoke test (no timing is asserted)


def test_bench_load_smoke(config_file, pg_dsn, tmp_path):
    """bench/load.py on 2,000 events and 200 songs, against the test session's server (--engine postgres,
    which works in its own schema), emits the JSON object with the documented keys."""
    cfg = config_file()
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    proc = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "bench" / "load.py"), "--engine", "postgres", "--config", str(cfg),
         "--events", "2000", "--songs", "200", "--repeat", "1", "--naive-rows", "200", "--json", "-q",
         "--cache-dir", str(tmp_path / "cache"), "--output", str(out)],
        capture_output=True, text=True, timeout=120, env=env, cwd=PROJECT_DIR, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)  # --json: the JSON object and nothing else on stdout
    assert json.loads(out.read_text()) == result
    for key in ("events", "songs", "baseline_copy_s", "staging_load_s", "transform_s", "staging_vs_copy_ratio",
                "pipeline_vs_copy_ratio", "peak_rss_mb", "naive_insert_rows_per_s"):
        assert key in result, key
    assert (result["events"], result["songs"]) == (2000, 200)
    assert result["staged_rows"] == {"staging_events": 2000, "staging_songs": 200}
    assert result["star_rows"]["songplays"] > 0
    assert all(result[k] > 0 for k in ("baseline_copy_s", "staging_load_s", "transform_s", "peak_rss_mb"))
    # the profile of the first load and of the day: their slowest statements, longest first, and the text of both
    for steps in (result["slowest_steps_s"], result["daily"]["one_day_slowest_steps_s"]):
        assert steps and list(steps.values()) == sorted(steps.values(), reverse=True)
    assert "songplay_first_insert" in result["slowest_steps_s"]
    assert "staging_events_copy" in result["daily"]["one_day_slowest_steps_s"]  # the day's events were copied
    from bench.load import format_table

    text = format_table(result)
    assert "first load (slowest statements" in text and "day 30 (slowest statements" in text
    # the benchmark worked in its own schema, dropped at the end: the database's own tables were never touched
    conn = psycopg2.connect(pg_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select count(*) from pg_namespace where nspname = 'sparkify_bench'")
            assert cur.fetchone()[0] == 0
            cur.execute("select count(*) from pg_tables where schemaname = 'public'")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
