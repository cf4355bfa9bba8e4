"""One etl.py run is one transaction over the Data API too: a killed run leaves nothing once Redshift ends its
session, a failing statement rolls the run back and is named in one line, Ctrl-C cancels the running statement
and rolls back, and two runs serialize on the ETL lock inside their sessions. Through the stand-in, on a small
part of the real data in moto's S3; etl.py runs as a user runs it (a subprocess, psycopg2.connect refused)."""

from __future__ import annotations

import signal
import time

import pytest

import etl
import sql_queries
from sparkify.dataapi.connection import SESSION_KEEPALIVE_S
from tests.helpers.dwhcfg import DwhCfg
from tests.helpers.scripts import run_guarded, start_guarded

SMALL = {"log_prefix": "small/log_data", "song_prefix": "small/song_data"}
COUNTED = (*sql_queries.ALL_TABLES, *sql_queries.BOOKKEEPING_TABLES)  # every table but schema_versions


def counts(standin) -> dict[str, int]:
    return {t: standin.query(f"select count(*) from {t}")[0][0] for t in COUNTED}


EMPTY = dict.fromkeys(COUNTED, 0)


@pytest.fixture
def small_cfg(schema, tmp_path, s3_standin, no_psycopg2_connect):
    """A created warehouse (the stand-in's) and a dwh.cfg for the small part of the real data."""
    cfg = DwhCfg.data_api(**SMALL).write(tmp_path / "dwh.cfg")
    return cfg


def wait_for(condition, timeout: float = 60, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_killed_run_leaves_nothing_once_its_session_ends(small_cfg, s3_standin, tmp_path, no_psycopg2_connect):
    pause = s3_standin.pause_on("insert into loaded_objects")  # after both COPYs, before the merge
    proc = start_guarded("etl.py", small_cfg, "--skip-preflight")
    try:
        assert pause.reached.wait(120), proc.stderr.read() if proc.poll() is not None else "no ledger insert"
        proc.kill()
    finally:
        proc.wait(30)
    pause.release()  # the statement runs in the session the dead process left, its transaction still open
    session = pause.statement.session
    wait_for(lambda: session.running is None, what="the ledger insert to finish")
    assert not session.closed
    # (its transaction holds `lock etl_runs`, which blocks readers too, on Redshift as here)
    assert s3_standin.query("select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
                            "where c.relname = 'etl_runs' and l.mode = 'AccessExclusiveLock' and l.granted") == [(1,)]
    held = DwhCfg.data_api(lock_timeout=3, **SMALL).write(tmp_path / "held.cfg")
    assert etl.main(["--config", str(held), "--quiet", "--skip-preflight"]) == 1

    s3_standin.advance(SESSION_KEEPALIVE_S + 1)  # Redshift ends the idle session: its transaction rolls back
    wait_for(lambda: session.closed, what="the session to end")
    assert counts(s3_standin) == EMPTY
    assert etl.main(["--config", str(small_cfg), "--quiet", "--skip-preflight"]) == 0
    after = counts(s3_standin)
    assert after["etl_runs"] == 1 and after["loaded_objects"] == 43 and after["songplays"] > 0
    assert s3_standin.query("select run_id from etl_runs") == [(1,)]
    assert not no_psycopg2_connect


def test_the_lock_timeout_names_a_killed_runs_session(small_cfg, s3_standin, tmp_path, capsys):
    pause = s3_standin.pause_on("insert into loaded_objects")
    proc = start_guarded("etl.py", small_cfg, "--skip-preflight")
    try:
        assert pause.reached.wait(120)
        proc.kill()
    finally:
        proc.wait(30)
        pause.release()
    held = DwhCfg.data_api(lock_timeout=3, **SMALL).write(tmp_path / "held.cfg")
    assert etl.main(["--config", str(held), "--quiet", "--skip-preflight"]) == 1
    err = capsys.readouterr().err
    assert "still held the lock on etl_runs after 3 s (a killed run's Data API session keeps it" in err, err


def test_a_failing_statement_rolls_the_run_back_and_is_named_in_one_line(small_cfg, s3_standin):
    s3_standin.query("alter table artists rename column location to artist_location")  # the merge will fail
    failed = run_guarded("etl.py", small_cfg, "--skip-preflight", check=False)
    assert failed.returncode == 1
    lines = [line for line in failed.stderr.splitlines() if line.startswith("etl.py:")]
    assert len(lines) == 1, failed.stderr
    head, _, error = lines[0].partition(" failed on Redshift: ")
    name = head.removeprefix("etl.py: database error: ")
    assert isinstance(getattr(sql_queries, name, None), sql_queries.Statement), lines[0]  # its name in sql_queries
    assert error.startswith("ERROR: ") and "location" in error and "location" in getattr(sql_queries, name).sql
    assert counts(s3_standin) == EMPTY
    failing = next(s for s in s3_standin.statements.values() if s.status == "FAILED")
    in_session = [st.sql for st in s3_standin.statements.values() if st.session is failing.session]
    assert in_session[0] == "begin" and in_session[-1] == "rollback" and in_session[-2] == failing.sql
    s3_standin.query("alter table artists rename column artist_location to location")
    assert etl.main(["--config", str(small_cfg), "--quiet", "--skip-preflight"]) == 0  # the lock was released
    assert counts(s3_standin)["etl_runs"] == 1


def test_ctrl_c_cancels_the_running_statement_and_rolls_back(small_cfg, s3_standin):
    pause = s3_standin.pause_on("copy staging_songs")
    proc = start_guarded("etl.py", small_cfg, "--skip-preflight")
    try:
        assert pause.reached.wait(120)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "etl.py: interrupted" in err, err
    copy = pause.statement
    assert [p["Id"] for p in s3_standin.calls("CancelStatement")] == [copy.id] and copy.status == "ABORTED"
    in_session = [st.sql for st in s3_standin.statements.values() if st.session is copy.session]
    assert in_session[-2:] == [copy.sql, "rollback"]
    assert counts(s3_standin) == EMPTY
    started = time.monotonic()
    assert etl.main(["--config", str(small_cfg), "--quiet", "--skip-preflight"]) == 0
    assert time.monotonic() - started < 30  # no lock left behind: it did not wait for the session to expire


def test_two_runs_serialize_on_the_lock_in_their_sessions(small_cfg, s3_standin):
    pause = s3_standin.pause_on("insert into etl_runs")  # the first run's last statement
    first = start_guarded("etl.py", small_cfg, "--skip-preflight")
    second = None
    try:
        assert pause.reached.wait(120)
        second = start_guarded("etl.py", small_cfg, "--skip-preflight")
        locks = lambda: [s for s in s3_standin.statements.values()
                         if s.sql == "lock etl_runs" and s.session is not pause.statement.session]
        wait_for(lambda: any(s.status == "FAILED" for s in locks()), what="the second run's first lock attempt")
        failed = next(s for s in locks() if s.status == "FAILED")
        assert "statement timeout" in failed.error
        wait_for(lambda: len(locks()) == 2, what="the second run's second attempt")
        time.sleep(0.5)
        assert locks()[1].status == "STARTED"  # waiting on the first run's lock
        pause.release()
        _, err1 = first.communicate(timeout=120)
        out2, err2 = second.communicate(timeout=120)
    finally:
        pause.release()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert "another etl.py run is loading this warehouse; waiting" in err2
    assert out2.startswith("loaded nothing new (0 objects; 43 unchanged skipped)"), out2
    assert s3_standin.query("select run_id from etl_runs order by 1") == [(1,), (2,)]
