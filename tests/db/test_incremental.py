"""Daily runs on the real udacity-dend files: the load ledger, order independence, late songs, no-op runs,
appended and vanished objects, --reload, and a run killed with SIGKILL in the middle of its COPY.

The files are copied into a writable tree first (the tests append to them, delete and touch them); the contract
is the README's: one full load of the real data gives songplays 6,820 with 39 matched, users 97 (22 paid),
songs 1,943, artists 1,809, time 6,813 — and so must any sequence of runs over the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import create_tables
import etl
import sql_queries
from sparkify.config import load_config
from sparkify.pipeline import run_etl
from tests.helpers.db import query, query_once, run
from tests.helpers.star import CONTRACT, contract, latest_run, report_tables_disagree, star

pytestmark = pytest.mark.realdata
PROJECT = Path(__file__).resolve().parents[2]
DAYS = "2018/11/2018-11-"


@pytest.fixture
def data(real_data, tmp_path) -> Path:
    """A writable copy of the real log files (the tests append to them, touch and delete them); the song files
    are read where they are."""
    root = tmp_path / "bucket"
    shutil.copytree(real_data / "log_data", root / "log_data")
    shutil.copy(real_data / "log_json_path.json", root / "log_json_path.json")
    return root


@pytest.fixture
def cfg(data, real_data, config_file):
    """cfg(log="2018/11/2018-11-0", song="A/A") -> a dwh.cfg loading those key prefixes (logs: of the copy)."""

    def make(log: str = "", song: str = "") -> Path:
        name = f"dwh-{abs(hash((log, song)))}.cfg"
        songs = real_data / "song_data"
        return config_file(log_data=f"{data / 'log_data'}/{log}" if log else data / "log_data",
                           song_data=f"{songs}/{song}" if song else songs,
                           log_jsonpath=data / "log_json_path.json", name=name)

    return make


@pytest.fixture
def full_load(cfg, pg_conn):
    """full_load() -> the star schema of one full load of the copy, in this database (tables recreated)."""

    def load() -> dict:
        run(create_tables, cfg())
        run(etl, cfg())
        return star(pg_conn)

    return load


def test_events_first_and_their_songs_later_give_the_full_load(schema, cfg, pg_conn, full_load):
    run(etl, cfg(song="A/A/A"))  # every event, 61 of the 1,943 songs
    early = contract(pg_conn)
    assert early["songplays"] == 6820 and early["matched"] < 39
    run(etl, cfg())  # the rest of the songs: the plays loaded before now match them
    assert contract(pg_conn) == CONTRACT
    assert latest_run(pg_conn)["songplays_changed"] == 39 - early["matched"]
    got = star(pg_conn)
    assert got == full_load()


@pytest.mark.parametrize("batches", [
    pytest.param([("", "A/A/A")] + [("", "")], id="songs-in-two-parts"),
    pytest.param([(f"{DAYS}3", "A/D"), (f"{DAYS}2", "A/C"), (f"{DAYS}1", "A/B"), (f"{DAYS}0", "A/A"), ("", "")],
                 id="days-and-songs-backwards"),
    pytest.param([(f"{DAYS}{d:02d}", "A/A/A") for d in range(30, 20, -1)] + [(f"{DAYS}1", "A/B"), ("", "")],
                 id="one-day-at-a-time-backwards"),
    pytest.param([("", "A/B"), (f"{DAYS}0", ""), (f"{DAYS}2", "A/C"), ("", "")], id="mixed"),
])
def test_any_order_and_batch_size_gives_the_full_load(schema, cfg, pg_conn, full_load, batches):
    for log, song in batches:
        run(etl, cfg(log, song))
    assert contract(pg_conn) == CONTRACT
    ids = query(pg_conn, "select count(distinct songplay_id) from songplays")
    assert ids == [(6820,)]
    assert report_tables_disagree(pg_conn) == []
    got = star(pg_conn)
    assert got == full_load()


def test_a_run_with_nothing_new_stages_nothing_and_changes_nothing(schema, cfg, pg_conn):
    run(etl, cfg())
    before = star(pg_conn), query(pg_conn, "select * from loaded_objects order by 1, 2")
    ids = query(pg_conn, "select songplay_id, session_id, item_in_session from songplays order by 1")
    report = run_etl(load_config(cfg()), show_progress=False)
    assert report.staged == {}
    assert (star(pg_conn), query(pg_conn, "select * from loaded_objects order by 1, 2")) == before
    assert query(pg_conn, "select songplay_id, session_id, item_in_session from songplays order by 1") == ids
    assert query(pg_conn, "select count(*) from staging_events") == [(0,)]
    assert query(pg_conn, "select count(*) from staging_songs") == [(0,)]
    last = latest_run(pg_conn)
    assert (last["run_id"], last["objects_loaded"], last["objects_skipped"], last["songplays_rows"]) == (
        2, 0, 30 + 1943, 6820)
    assert report.row_counts["songplays"] == 6820  # from the previous run's totals: nothing was counted
    # it checked nothing, so the checks the report shows are still those of the load (run 1)
    recorded = query(pg_conn, sql_queries.latest_run_checks.sql)
    assert {r[0] for r in recorded} == {1} and len(recorded) > 10


def test_an_event_appended_to_a_loaded_file_appears_after_the_next_run(schema, cfg, data, pg_conn):
    run(etl, cfg())
    ids = {(s, i): pid for pid, s, i in query(pg_conn, "select songplay_id, session_id, item_in_session "
                                                      "from songplays")}
    day = data / "log_data" / "2018" / "11" / "2018-11-15-events.json"
    last = json.loads(day.read_text().splitlines()[-1])
    new = dict(last, itemInSession=999, ts=last["ts"] + 1, page="NextSong", song="Scream", artist="Adelitas Way",
               length=213.9424)
    text = day.read_text()
    day.write_text(text + ("" if text.endswith("\n") else "\n") + json.dumps(new) + "\n")
    report = run_etl(load_config(cfg()), show_progress=False)
    plan = report.objects["staging_events"]
    assert ([o.key for o in plan.reloaded], plan.new, plan.unchanged) == (["log_data/2018/11/2018-11-15-events.json"],
                                                                          [], 29)
    assert report.staged == {"staging_events": len(day.read_text().splitlines())}
    assert contract(pg_conn)["songplays"] == 6821
    assert query(pg_conn, "select song_id from songplays where item_in_session = 999") == [("SOBLFFE12AF72AA5BA",)]
    kept = {(s, i): pid for pid, s, i in query(pg_conn, "select songplay_id, session_id, item_in_session "
                                                       "from songplays")}
    assert {k: kept[k] for k in ids} == ids  # every play loaded before keeps its songplay_id
    assert query(pg_conn, "select count(*) from loaded_objects") == [(1973,)]


def test_an_object_that_disappeared_is_reported_and_its_rows_stay(schema, cfg, data, pg_conn, caplog):
    config = load_config(cfg())
    run_etl(config, show_progress=False)
    before = star(pg_conn)
    (data / "log_data" / "2018" / "11" / "2018-11-30-events.json").unlink()
    caplog.clear()
    run_etl(config, show_progress=False)
    assert star(pg_conn) == before
    assert latest_run(pg_conn)["objects_missing"] == 1
    assert any("gone from" in r.message and "2018-11-30-events.json" in r.message for r in caplog.records)
    assert query(pg_conn, "select count(*) from loaded_objects") == [(1973,)]


def test_reload_stages_everything_again_and_changes_nothing(schema, cfg, data, pg_conn):
    run(etl, cfg())
    before = star(pg_conn)
    report = run_etl(load_config(cfg()), show_progress=False, reload=True)
    assert report.staged == {"staging_events": 8056, "staging_songs": 1943}
    assert star(pg_conn) == before
    assert query(pg_conn, "select count(*), min(run_id), max(run_id) from loaded_objects") == [(1973, 2, 2)]


def test_a_touched_file_is_loaded_again(schema, cfg, data, pg_conn):
    """Same size, another modification time: loaded again (the merge makes that harmless)."""
    run(etl, cfg())
    day = data / "log_data" / "2018" / "11" / "2018-11-07-events.json"
    st = day.stat()
    os.utime(day, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000))
    report = run_etl(load_config(cfg()), show_progress=False)
    assert [o.url for o in report.objects["staging_events"].reloaded] == [str(day)]
    assert report.staged == {"staging_events": len(day.read_text().splitlines())}
    assert contract(pg_conn) == CONTRACT


def test_a_prefix_without_objects_fails_the_run_clearly(schema, cfg, pg_conn, capsys):
    assert etl.main(["--config", str(cfg(log="2019")), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "staging_events: no object to COPY: the specified S3 prefix" in err and "2019' does not exist" in err
    assert err.endswith(" (a local path, read as a prefix: no file or directory's path starts with it; check [S3] "
                        "LOG_DATA)\n")


def _active_copy(dsn: str) -> bool:
    (active,), = query_once(dsn, "select count(*) from pg_stat_activity "
                                 "where query ilike 'copy %%staging_events%%from stdin%%' and state = 'active'")
    return active > 0


def test_a_run_killed_mid_copy_leaves_ledger_and_star_schema_as_they_were(schema, cfg, data, pg_conn, pg_dsn, tmp_path):
    """SIGKILL while etl.py's COPY is running: nothing of that run remains; the next run completes."""
    run(etl, cfg(log=f"{DAYS}0"))  # days 1-9 loaded
    before = star(pg_conn), query(pg_conn, "select * from loaded_objects order by 1, 2"), \
        query(pg_conn, "select * from etl_runs")
    # enough new events that the COPY lasts: 15 more copies of each log file, as new objects
    days = data / "log_data" / "2018" / "11"
    for path in sorted(days.iterdir()):
        for k in range(15):
            shutil.copy(path, days / f"copy{k:02d}-{path.name}")
    proc = subprocess.Popen([sys.executable, "etl.py", "--config", str(cfg()), "--quiet"], cwd=PROJECT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not _active_copy(pg_dsn):
            assert proc.poll() is None, f"etl.py ended before its COPY was seen: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "no COPY seen within 60 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while _active_copy(pg_dsn) and time.monotonic() < deadline:  # the server notices the client is gone
        time.sleep(0.05)
    after = star(pg_conn), query(pg_conn, "select * from loaded_objects order by 1, 2"), \
        query(pg_conn, "select * from etl_runs")
    assert after == before
    run(etl, cfg())
    assert contract(pg_conn) == CONTRACT
    assert latest_run(pg_conn)["objects_loaded"] == 21 + 30 * 15  # days 10-30, and every copy


def test_ledger_rows_sent_with_copy_are_the_rows_redshift_gets_as_literals(pg_conn, tmp_path):
    """The PostgreSQL engines send the ledger with COPY text; Redshift with INSERT literals: the same rows, odd
    characters in paths included."""
    from datetime import datetime

    from sparkify import ledger

    (tmp_path / "a\tb\\c").mkdir()
    for name in ("x\ny.json", "plain.json", "é ü.json"):
        (tmp_path / "a\tb\\c" / name).write_text("{}")
    plan = ledger.plan_table("staging_songs", str(tmp_path), ledger.list_objects(str(tmp_path)), {})
    loaded_at = datetime(2026, 11, 30, 12, 0, 0, 123456)
    with pg_conn.cursor() as cur:
        cur.execute("create temp table lo (table_name text, object_url text, size bigint, version text, "
                    "last_modified timestamp, run_id bigint, loaded_at timestamp)")
        import io

        cur.copy_expert("copy lo from stdin", io.StringIO(ledger.ledger_copy_text(plan, 7, loaded_at)))
        cur.execute("select * from lo order by object_url")
        copied = cur.fetchall()
    pg_conn.rollback()
    assert copied == sorted(ledger.ledger_rows(plan, 7, loaded_at), key=lambda r: r[1])
    assert len(copied) == 3 and all(r[4] is not None for r in copied)


def test_a_warehouse_without_a_newer_table_fails_naming_it_and_keeps_nothing(schema, cfg, pg_conn, capsys):
    """A warehouse made by an older version (no etl_run_checks): the run fails at its end, rolls back, and the
    one line names the table and the fix."""
    with pg_conn.cursor() as cur:
        cur.execute("drop table etl_run_checks")
    pg_conn.commit()
    assert etl.main(["--config", str(cfg(log="2018/11/2018-11-01")), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("etl.py: the warehouse has no table etl_run_checks (create_tables.py makes every table; a "
                    "warehouse made by an older version lacks the newer ones): run create_tables.py, then etl.py")]
    assert query(pg_conn, "select count(*) from loaded_objects") == [(0,)]
    assert query(pg_conn, "select count(*) from songplays") == [(0,)]
