"""A killed etl.py (SIGKILL) releases the ETL lock within seconds on the local engines, even while the server is
in the middle of one of its statements: the embedded server checks every second whether the client of a
running statement is still there (client_connection_check_interval). Without that check the dead run's
statement (here: waiting for a lock the test holds) would go on, holding the ETL lock, until it ended."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]


def etl(cfg: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "etl.py", "--config", str(cfg), "-q"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def locks(conn) -> list[tuple[int, str, bool]]:
    """(backend pid, table, granted) of the locks on etl_runs and loaded_objects."""
    with conn.cursor() as cur:
        cur.execute("select pid, relation::regclass::text, granted from pg_locks "
                    "where relation in ('etl_runs'::regclass, 'loaded_objects'::regclass) and pid <> pg_backend_pid()")
        return cur.fetchall()


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout} s")


def test_a_killed_run_releases_the_lock_within_seconds(schema, config_file, pg_dsn, real_data):
    cfg = config_file(log_data=real_data / "log_data" / "2018" / "11" / "2018-11-0",
                      log_jsonpath=real_data / "log_json_path.json", song_data=real_data / "song_data" / "A" / "A")
    watcher = psycopg2.connect(pg_dsn)
    watcher.autocommit = True
    blocker = psycopg2.connect(pg_dsn)  # holds the ledger's table, so that a run blocks inside a statement
    blocker.cursor().execute("lock table loaded_objects in access exclusive mode")
    blocker_pid = blocker.get_backend_pid()
    first = second = None
    try:
        first = etl(cfg)

        def first_is_stuck():
            rows = locks(watcher)
            holders = {pid for pid, table, granted in rows if table == "etl_runs" and granted}
            waiting = {pid for pid, table, granted in rows if table == "loaded_objects" and not granted}
            return holders & waiting

        (dead_backend,) = wait_for(first_is_stuck, 60, "the first run holding the ETL lock, waiting for the ledger")
        first.kill()
        first.wait()
        killed_at = time.monotonic()
        second = etl(cfg)  # waits up to LOCK_TIMEOUT (5 s) for the ETL lock, then would fail

        def second_holds_the_lock():
            return [pid for pid, table, granted in locks(watcher)
                    if table == "etl_runs" and granted and pid not in (dead_backend, blocker_pid)]

        wait_for(second_holds_the_lock, 10, "the second run holding the ETL lock")
        released_after = time.monotonic() - killed_at
        blocker.rollback()
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        assert released_after < 5, f"the ETL lock was released {released_after:.1f} s after the kill"
        assert out.startswith("loaded staging_events ")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        blocker.close()
        watcher.close()
