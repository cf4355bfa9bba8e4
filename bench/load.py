#!/usr/bin/env python
"""Load benchmark: the toolkit's COPY emulation and transform against PostgreSQL's own COPY ceiling.

In one run, on one PostgreSQL server:
  1. generates (or reuses, cached by parameters under bench/.cache/) N events and M songs with
     sparkify.sample;
  2. toolkit: in a separate child process (so that its peak memory is the load's alone), exactly what
     etl.py runs: lock, empty staging, the emulated COPY of the JSON files into staging_events and
     staging_songs (timed: staging_load_s), then merge_staging (batch tables, merges, data-quality checks,
     etl_runs row; timed: transform_s) in the same transaction, then commit (timed: commit_s);
  3. ceiling: psycopg2 COPY ... FROM STDIN of exactly the same rows, already flattened to COPY text, into
     freshly created, identical empty staging tables (timed: baseline_copy_s, then its commit:
     baseline_commit_s). The flattened text is
     `COPY staging_* TO STDOUT` of the staging tables the emulator filled in the first repeat, so the rows
     are the same by construction; it is written to a temporary file before any baseline is timed;
  4. naive reference: one INSERT per row (json.loads + cursor.execute per event, one commit) on a slice
     of the first events, as rows per second.
Before every timed load all tables are dropped and recreated (sparkify.pipeline.plans.create_tables_plan) and
a CHECKPOINT is taken; the toolkit and the ceiling alternate which goes first across repeats. Timings
exclude connecting; the ratios count each side's commit (where a table filled without WAL is synced to disk:
staging_vs_copy_ratio compares the staging load with the bare COPY, pipeline_vs_copy_ratio the staging load,
transform and commit with the COPY and its commit); --repeat N reports medians.

Engines: `--engine local` (default) starts a dedicated embedded PostgreSQL in bench/.cache/pgdata (not
the user's .sparkify/) and stops it at the end if it started it; `--engine postgres --config dwh.cfg`
uses the [CLUSTER] server of the file, inside a schema `sparkify_bench` (created, then dropped at the
end), so the warehouse's own tables are never touched.

Progress is logged to stderr; the results table goes to stdout, or with --json only one JSON object.

Examples:
  python bench/load.py                                   # 1,000,000 events, 100,000 songs, median of 3
  python bench/load.py --events 5000000 --repeat 1 --json --output bench/results/5m.json
  python bench/load.py --engine postgres --config dwh.cfg --events 200000 --songs 20000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.script import (
    add_cache_option,
    add_output_options,
    emit,
    format_steps,
    run,
    setup_logging,
    slowest_steps,
    start,
)

log = logging.getLogger("bench.load")

BENCH_DB = "bench"  # the database of the dedicated local server
BENCH_SCHEMA = "sparkify_bench"  # --engine postgres: everything happens in this schema
COPY_BUFFER = 1 << 20
STAGING = ("staging_events", "staging_songs")
# issue 22's targets (bench/incremental.py has the daily runs', bench/report.py the report's)
TARGETS = {"staging_vs_copy_ratio": 1.3, "pipeline_vs_copy_ratio": 3.0, "peak_rss_mb": 250.0}


# --------------------------------------------------------------------------------------------------
# Arguments and set-up


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    doc = __doc__.strip().splitlines()
    p = argparse.ArgumentParser(prog="bench/load.py", description=doc[0],
                                epilog="\n".join(doc[1:]).strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000, help="log events to generate (default: %(default)s)")
    p.add_argument("--songs", type=int, default=100_000, help="song files to generate (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="sample seed (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="measurements of each load; medians are reported "
                                                          "(default: %(default)s)")
    p.add_argument("--engine", choices=("local", "postgres"), default="local",
                   help="local: a dedicated embedded server under the cache dir; postgres: the server of --config")
    p.add_argument("--config", type=Path, default=None, metavar="PATH",
                   help="dwh.cfg with ENGINE = postgres and [CLUSTER] (required for --engine postgres)")
    p.add_argument("--naive-rows", type=int, default=20_000, metavar="N",
                   help="events in the one-INSERT-per-row reference slice; 0 skips it (default: %(default)s)")
    p.add_argument("--transform-timeout", type=float, default=600.0, metavar="S",
                   help="cancel merge_staging after S seconds and report it as not finished; 0: no limit "
                        "(default: %(default)s)")
    p.add_argument("--before-merge", action="append", default=[], metavar="SQL",
                   help="experiment: a statement run on the load's connection just before merge_staging, timed as "
                        "part of the transform (e.g. \"analyze staging_events\"); repeatable")
    p.add_argument("--keep-server", action="store_true", help="--engine local: leave the server running")
    p.add_argument("--no-daily", action="store_true",
                   help="skip the daily-run measurement (bench/incremental.py: a re-run with nothing new, one new day)")
    add_cache_option(p)
    add_output_options(p)
    args = p.parse_args(argv)
    if args.events < 1 or args.songs < 1:
        p.error("--events and --songs must be at least 1")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.engine == "postgres" and args.config is None:
        p.error("--engine postgres needs --config (a dwh.cfg with ENGINE = postgres and [CLUSTER])")
    return args


def sample_dir(cache: Path, events: int, songs: int, seed: int) -> Path:
    return cache / f"sample-e{events}-s{songs}-seed{seed}"


def bench_config(args: argparse.Namespace, sample: Path):
    """The Config the toolkit runs with: the bench's server, the generated sample as sources, MAXERROR 0."""
    from sparkify.config import Config, S3Settings, load_config
    from sparkify.errors import ConfigError

    s3 = S3Settings(log_data=str(sample / "log_data"), log_jsonpath=str(sample / "log_json_path.json"),
                    song_data=str(sample / "song_data"))
    if args.engine == "local":
        return Config(engine="local", s3=s3, data_dir=(args.cache_dir / "pgdata").resolve(), local_db_name=BENCH_DB)
    config = load_config(args.config)
    if config.engine != "postgres":
        raise ConfigError([f"[WAREHOUSE] ENGINE is {config.engine!r}; --engine postgres needs ENGINE = postgres"],
                          path=str(args.config))
    return dataclasses.replace(config, s3=s3, maxerror=0, sample_dir=None)


def use_bench_schema() -> None:
    """--engine postgres: every connection of this process and its children works in BENCH_SCHEMA (libpq
    reads PGOPTIONS), so the warehouse's own tables in the configured database are never touched."""
    opt = f"-c search_path={BENCH_SCHEMA}"
    current = os.environ.get("PGOPTIONS", "")
    if opt not in current:
        os.environ["PGOPTIONS"] = f"{current} {opt}".strip()


def warm_page_cache(root: Path) -> tuple[int, int]:
    """Read every file of the sample once, so that no timed load pays for a cold page cache."""
    files = size = 0
    buf = bytearray(COPY_BUFFER)
    for dirpath, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(dirpath, name), "rb", buffering=0) as fh:
                while n := fh.readinto(buf):
                    size += n
            files += 1
    return files, size


# --------------------------------------------------------------------------------------------------
# Database helpers (parent process)


def admin_sql(wh, *statements: str) -> None:
    conn = wh.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            for s in statements:
                cur.execute(s)
    finally:
        conn.close()


def reset_tables(wh) -> None:
    """Drop and recreate every table (create_tables.py's plan), then CHECKPOINT so no load pays for an
    earlier one's dirty pages."""
    from sparkify.pipeline.executor import execute_plan
    from sparkify.pipeline.plans import create_tables_plan
    from sparkify.pipeline.state import RunState

    execute_plan(wh, create_tables_plan(), RunState(wh.config), show_progress=False)
    try:
        admin_sql(wh, "checkpoint")
    except Exception as exc:  # noqa: BLE001 - CHECKPOINT needs superuser (or pg_checkpoint) on a foreign server
        log.debug("checkpoint skipped: %s", exc)


def server_info(wh) -> dict:
    conn = wh.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("select current_setting('server_version')")
            info = {"server_version": cur.fetchone()[0]}
            for name in ("shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size", "wal_level",
                         "synchronous_commit", "fsync", "max_parallel_workers_per_gather"):
                cur.execute("select current_setting(%s, true)", (name,))
                info[name] = cur.fetchone()[0]
        return info
    finally:
        conn.close()


def dump_staging(wh, out_dir: Path) -> dict[str, dict]:
    """COPY each staging table TO STDOUT into out_dir/<table>.copy: the ceiling's input, byte for byte."""
    files = {}
    conn = wh.connect()
    try:
        with conn.cursor() as cur:
            for table in STAGING:
                path = out_dir / f"{table}.copy"
                with open(path, "wb") as fh:
                    cur.copy_expert(f"copy {table} to stdout with (format text, encoding 'UTF8')", fh, size=COPY_BUFFER)
                cur.execute(f"select count(*) from {table}")
                files[table] = {"path": path, "rows": cur.fetchone()[0], "bytes": path.stat().st_size}
        conn.rollback()
    finally:
        conn.close()
    return files


def run_baseline(wh, flat: dict[str, dict]) -> dict:
    """The ceiling: COPY FROM STDIN of the flattened rows into the freshly recreated, empty staging tables."""
    reset_tables(wh)
    conn = wh.connect()
    per_table = {}
    try:
        with conn.cursor() as cur:
            t0 = time.perf_counter()
            for table in STAGING:
                t = time.perf_counter()
                with open(flat[table]["path"], "rb") as fh:
                    cur.copy_expert(f"copy {table} from stdin with (format text, encoding 'UTF8')", fh,
                                    size=COPY_BUFFER)
                per_table[table] = time.perf_counter() - t
            seconds = time.perf_counter() - t0
            t = time.perf_counter()
            conn.commit()
            commit_s = time.perf_counter() - t
            counts = {}
            for table in STAGING:
                cur.execute(f"select count(*) from {table}")
                counts[table] = cur.fetchone()[0]
        conn.rollback()
    finally:
        conn.close()
    for table in STAGING:
        if counts[table] != flat[table]["rows"]:
            raise RuntimeError(f"baseline loaded {counts[table]} rows into {table}, expected {flat[table]['rows']}")
    return {"baseline_copy_s": seconds, "baseline_tables_s": per_table, "baseline_commit_s": commit_s}


# --------------------------------------------------------------------------------------------------
# The toolkit's load, in a child process


def peak_rss_kb() -> dict:
    """This process's peak resident set: VmHWM (per address space: a spawned child's own, not counting the
    parent's pages it briefly shared before exec), and ru_maxrss for reference."""
    import resource

    out = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["ru_maxrss"] = maxrss // 1024 if sys.platform == "darwin" else maxrss  # bytes on macOS, kB on Linux
    out.setdefault("VmHWM", out["ru_maxrss"])
    return out


def _proc_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    out[line[:5]] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return out


def _proc_pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except (OSError, ValueError):
                continue
            found += kids
            todo += kids
    return found


class TreeMemory:
    """Samples the memory of this process and its descendants (the emulator's worker processes, if it forks
    any) every `interval` seconds in a thread: the peak of the summed RSS and of the summed PSS (PSS shares
    the pages a fork child still has in common with its parent fairly), and each process's own peak RSS."""

    def __init__(self, interval: float = 0.05):
        import threading

        self.interval = interval
        self.available = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
        self.peak_rss_kb = self.peak_pss_kb = 0
        self.hwm_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def sample(self) -> None:
        me = os.getpid()
        rss = pss = 0
        for pid in [me, *_descendants(me)]:
            st = _proc_status(pid)
            if not st:
                continue
            rss += st.get("VmRSS", 0)
            pss += _proc_pss(pid)
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), st.get("VmHWM", 0))
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        if self.available:
            self.sample()
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.available:
            self._stop.set()
            self._thread.join()
            self.sample()


def _child_main(config, log_level: int, before_merge: list[str], transform_timeout: float, conn_out) -> None:
    """Child process body: etl.py's plan (load part timed, then merge_staging timed), results to the pipe.

    The merge runs after a SAVEPOINT and under a watchdog: if it takes longer than transform_timeout, the
    watchdog cancels it, the merge is rolled back to the savepoint and the staged rows are still committed
    (the ceiling needs them)."""
    try:
        setup_logging(log_level)
        import threading

        import psycopg2

        from sparkify.pipeline.executor import execute_steps
        from sparkify.pipeline.load import CopyStep
        from sparkify.pipeline.plans import etl_plan
        from sparkify.pipeline.state import RunResult, RunState
        from sparkify.pipeline.steps import RunContext
        from sparkify.warehouse import Warehouse

        plan = etl_plan()
        n_load = max(i for i, s in enumerate(plan) if isinstance(s, CopyStep)) + 1
        wh = Warehouse(config)
        report = RunResult()
        conn = wh.connect()
        rss_before = peak_rss_kb()
        transform_s = transform_error = None
        tree = TreeMemory()
        try:
            ctx = RunContext(wh, wh.session(conn), RunState(config, result=report),
                             show_progress=log_level <= logging.INFO)
            with tree:
                t0 = time.perf_counter()
                execute_steps(ctx, plan[:n_load])  # lock, the run's objects (listing + ledger), the emulated COPYs
                t1 = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute("savepoint bench_merge")
            watchdog = threading.Timer(transform_timeout, conn.cancel) if transform_timeout > 0 else None
            if watchdog:
                watchdog.start()
            t2 = time.perf_counter()
            try:
                if before_merge:
                    with conn.cursor() as cur:
                        for statement in before_merge:
                            cur.execute(statement)
                execute_steps(ctx, plan[n_load:])  # the rest of etl_plan(): ledger, merges, counts, checks, etl_runs
                transform_s = time.perf_counter() - t2
            except psycopg2.errors.QueryCanceled:
                transform_error = f"cancelled by the benchmark after {transform_timeout:.0f} s (--transform-timeout)"
                log.error("transform: %s", transform_error)
                with conn.cursor() as cur:
                    cur.execute("rollback to savepoint bench_merge")
            finally:
                if watchdog:
                    watchdog.cancel()
            t3 = time.perf_counter()
            conn.commit()
            commit_s = time.perf_counter() - t3
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()
        rss = peak_rss_kb()
        import resource

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers = [pid for pid in tree.hwm_kb if pid != os.getpid()]
        conn_out.send({
            "staging_load_s": t1 - t0, "transform_s": transform_s, "transform_error": transform_error,
            "commit_s": commit_s, "timings": dict(report.timings), "steps": dict(report.steps),
            "staged": dict(report.staged),
            "rejected": dict(report.rejected), "row_counts": dict(report.row_counts),
            "run_counts": dict(report.run_counts), "peak_rss_kb": rss["VmHWM"], "ru_maxrss_kb": rss["ru_maxrss"],
            "rss_before_load_kb": rss_before["VmHWM"],
            # the load's process tree (main + the emulator's worker processes, if any)
            "tree_sampled": tree.available, "workers_seen": len(workers),
            "tree_peak_rss_kb": max(tree.peak_rss_kb, rss["VmHWM"]), "tree_peak_pss_kb": tree.peak_pss_kb,
            "tree_sum_of_peaks_kb": rss["VmHWM"] + sum(tree.hwm_kb[p] for p in workers),
            "workers_max_rss_kb": children.ru_maxrss // (1024 if sys.platform == "darwin" else 1),
        })
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn_out.send({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
    finally:
        conn_out.close()


def run_toolkit(wh, log_level: int, before_merge: list[str], transform_timeout: float) -> dict:
    from bench.child import run_in_child

    reset_tables(wh)
    return run_in_child(_child_main, (wh.config, log_level, before_merge, transform_timeout),
                        name="bench-toolkit-load", what="toolkit load")


# --------------------------------------------------------------------------------------------------
# The naive reference: one INSERT per row


EPOCH = datetime(1970, 1, 1)
_NAIVE_KEYS = ("artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level", "location",
               "method", "page", "registration", "sessionId", "song", "status", "ts", "userAgent", "userId")


def _naive_row(d: dict) -> tuple:
    """What a typical hand-written loader does per event: blanks to NULL, userId to int, ts to a datetime."""
    row = []
    for key in _NAIVE_KEYS:
        v = d.get(key)
        if v == "":
            v = None
        elif key == "ts" and v is not None:
            v = EPOCH + timedelta(milliseconds=v)
        elif key == "userId" and v is not None:
            v = int(v)
        row.append(v)
    return tuple(row)


def _first_lines(log_dir: Path, n: int) -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted(log_dir.rglob("*.json")):
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    lines.append(line)
                    if len(lines) >= n:
                        return lines
    return lines


def run_naive(wh, log_dir: Path, n: int) -> dict:
    """json.loads + cursor.execute(INSERT) per event into a twin of staging_events, autocommit off, one commit."""
    import sql_queries
    from sparkify.warehouse import translate_for_postgres

    lines = _first_lines(log_dir, n)
    ddl = translate_for_postgres(sql_queries.staging_events_table_create.sql.replace(
        "create table staging_events", "create table naive_staging_events"))
    admin_sql(wh, "drop table if exists naive_staging_events", ddl)
    insert = f"insert into naive_staging_events values ({', '.join(['%s'] * len(_NAIVE_KEYS))})"
    conn = wh.connect()
    try:
        with conn.cursor() as cur:
            t0 = time.perf_counter()
            for line in lines:
                cur.execute(insert, _naive_row(json.loads(line)))
            conn.commit()
            seconds = time.perf_counter() - t0
    finally:
        conn.close()
        admin_sql(wh, "drop table if exists naive_staging_events")
    return {"naive_rows": len(lines), "naive_s": seconds, "naive_insert_rows_per_s": len(lines) / seconds}


# --------------------------------------------------------------------------------------------------
# The run


def code_version() -> dict:
    """Which code was measured: the commit, and a hash of the toolkit's sources as they are on disk (the
    working tree may hold uncommitted changes)."""
    import hashlib
    import subprocess

    h = hashlib.sha256()
    for path in sorted([*(PROJECT_DIR / "sql_queries").rglob("*.py"), *(PROJECT_DIR / "sparkify").rglob("*.py")]):
        h.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes())
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True,
                                text=True, timeout=10, check=False).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"commit": commit, "sources_sha256": h.hexdigest()[:16]}


def median(values):
    return statistics.median(values) if values else None


def summarize(args, sample_summary, info: dict, toolkit: list[dict], baseline: list[dict], naive: dict | None,
              flat: dict, extra: dict) -> dict:
    base_s = median([b["baseline_copy_s"] for b in baseline])
    base_commit_s = median([b["baseline_copy_s"] + b["baseline_commit_s"] for b in baseline])
    load_s = median([t["staging_load_s"] for t in toolkit])
    finished = [t["transform_s"] for t in toolkit if t["transform_s"] is not None]
    transform_s = median(finished) if len(finished) == len(toolkit) else None
    pipeline_s = (median([t["staging_load_s"] + t["transform_s"] + t["commit_s"] for t in toolkit])
                  if transform_s is not None else None)
    ev_load_s = median([t["timings"].get("copy staging_events", 0.0) for t in toolkit])
    events = toolkit[0]["staged"].get("staging_events", 0)
    out = {
        "events": args.events,
        "songs": args.songs,
        "repeat": args.repeat,
        "engine": args.engine,
        "baseline_copy_s": round(base_s, 3),
        "staging_load_s": round(load_s, 3),
        "transform_s": round(transform_s, 3) if transform_s is not None else None,
        "staging_vs_copy_ratio": round(load_s / base_s, 3),
        "pipeline_s": round(pipeline_s, 3) if pipeline_s is not None else None,
        "baseline_with_commit_s": round(base_commit_s, 3),
        "pipeline_vs_copy_ratio": round(pipeline_s / base_commit_s, 3) if pipeline_s is not None else None,
        # the load's process tree: the child running etl.py's plan plus the emulator's worker processes
        "peak_rss_mb": round(max(t["tree_peak_rss_kb"] for t in toolkit) / 1024, 1),
        "peak_pss_mb": round(max(t["tree_peak_pss_kb"] for t in toolkit) / 1024, 1),
        "peak_rss_main_process_mb": round(max(t["peak_rss_kb"] for t in toolkit) / 1024, 1),
        "peak_rss_per_worker_mb": round(max(t["workers_max_rss_kb"] for t in toolkit) / 1024, 1),
        "load_workers_seen": max(t["workers_seen"] for t in toolkit),
        "memory_sampled": all(t["tree_sampled"] for t in toolkit),
        "load_process_rss_before_load_mb": round(median([t["rss_before_load_kb"] for t in toolkit]) / 1024, 1),
        "baseline_tables_s": {tb: round(median([b["baseline_tables_s"][tb] for b in baseline]), 3) for tb in STAGING},
        "staging_tables_s": {tb: round(median([t["timings"].get(f"copy {tb}", 0.0) for t in toolkit]), 3)
                             for tb in STAGING},
        "staging_tables_vs_copy_ratio": {
            tb: round(median([t["timings"].get(f"copy {tb}", 0.0) for t in toolkit])
                      / median([b["baseline_tables_s"][tb] for b in baseline]), 2) for tb in STAGING},
        "transform_sql_s": round(median([t["timings"].get("transform", 0.0) for t in toolkit]), 3),
        "report_tables_s": round(median([t["timings"].get("report", 0.0) for t in toolkit]), 3),
        "checks_s": round(median([t["timings"].get("checks", 0.0) for t in toolkit]), 3),
        # every part etl.py times (sparkify.pipeline.plans.etl_timing), median seconds
        "timings_s": {k: round(median([t["timings"].get(k, 0.0) for t in toolkit]), 3)
                      for k in dict.fromkeys(k for t in toolkit for k in t["timings"])},
        # where the pipeline's time goes: its slowest statements (RunResult.steps), median seconds
        "slowest_steps_s": slowest_steps([t["steps"] for t in toolkit], top=12),
        "transform_error": next((t["transform_error"] for t in toolkit if t["transform_error"]), None),
        "before_merge": list(args.before_merge),
        "commit_s": round(median([t["commit_s"] for t in toolkit]), 3),
        "baseline_commit_s": round(median([b["baseline_commit_s"] for b in baseline]), 3),
        "staged_rows": toolkit[0]["staged"],
        "star_rows": {k: v for k, v in toolkit[0]["row_counts"].items() if k not in STAGING},
        "toolkit_events_rows_per_s": round(events / ev_load_s) if ev_load_s else None,
        "ceiling_input": "COPY staging_* TO STDOUT of the tables the emulator filled (same rows by construction)",
        "ceiling_input_bytes": {tb: flat[tb]["bytes"] for tb in STAGING},
        "sample": {"dir": str(sample_summary.out_dir), **sample_summary.to_dict()},
        "server": info,
        "code": {**extra["code"],
                 "changed_during_run": extra["code"]["sources_sha256"] != code_version()["sources_sha256"]},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "converter": _converter(),
        "runs": [{"toolkit": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in t.items()
                              if k in ("staging_load_s", "transform_s", "commit_s", "tree_peak_rss_kb",
                                       "peak_rss_kb")}
                             | {f"{tb}_s": round(t["timings"].get(f"copy {tb}", 0.0), 3) for tb in STAGING},
                  "baseline_copy_s": round(b["baseline_copy_s"], 3), "order": o}
                 for t, b, o in zip(toolkit, baseline, extra["orders"])],
        **{k: v for k, v in extra.items() if k not in ("orders", "code")},
    }
    if naive:
        out["naive_rows"] = naive["naive_rows"]
        out["naive_insert_rows_per_s"] = round(naive["naive_insert_rows_per_s"])
        if out["toolkit_events_rows_per_s"]:
            out["toolkit_vs_naive_speedup"] = round(out["toolkit_events_rows_per_s"] / naive["naive_insert_rows_per_s"], 1)
    out["targets"] = {k: {"target": t, "value": out[k], "met": out[k] is not None and out[k] <= t}
                      for k, t in TARGETS.items()}
    return out


def format_table(r: dict) -> str:
    base = r["baseline_copy_s"]

    def row(label, seconds=None, rows=None, ratio=None):
        s = f"{seconds:9.2f}" if seconds is not None else " " * 9
        rps = f"{rows / seconds:>12,.0f}" if rows and seconds else " " * 12
        rt = f"{ratio:8.2f}x" if ratio is not None else ""
        return f"{label:<44}{s}{rps}{rt}"

    ev, so = r["staged_rows"].get("staging_events", 0), r["staged_rows"].get("staging_songs", 0)
    lines = [
        (f"Sparkify load benchmark: {r['events']:,} events, {r['songs']:,} songs; engine {r['engine']} "
         f"(PostgreSQL {r['server']['server_version']}); median of {r['repeat']}"),
        f"{'phase':<44}{'seconds':>9}{'rows/s':>12}{'vs COPY':>9}",
        row("ceiling: COPY FROM STDIN of the flat rows", base, ev + so, 1.0),
        row("  staging_events", r["baseline_tables_s"]["staging_events"], ev),
        row("  staging_songs", r["baseline_tables_s"]["staging_songs"], so),
        row("toolkit: emulated COPY of the JSON files", r["staging_load_s"], ev + so, r["staging_vs_copy_ratio"]),
        row("  staging_events", r["staging_tables_s"]["staging_events"], ev,
            r["staging_tables_s"]["staging_events"] / r["baseline_tables_s"]["staging_events"]),
        row("  staging_songs", r["staging_tables_s"]["staging_songs"], so,
            r["staging_tables_s"]["staging_songs"] / r["baseline_tables_s"]["staging_songs"]),
        row("transform: merge_staging" + (" (NOT FINISHED)" if r["transform_s"] is None else ""), r["transform_s"]),
        row("  merges + ANALYZE ('transform' timing)", r["transform_sql_s"]),
        row("  the report's tables ('report' timing)", r["report_tables_s"]),
        row("  data-quality checks", r["checks_s"]),
        row("  commit", r["commit_s"]),
        row("ceiling and its commit", r["baseline_with_commit_s"], None, 1.0),
        row("pipeline: staging load + transform + commit", r["pipeline_s"], None, r["pipeline_vs_copy_ratio"]),
    ]
    if r["transform_error"]:
        lines.append(f"transform: {r['transform_error']}")
    if r["before_merge"]:
        lines.append("experiment: before merge_staging ran " + "; ".join(r["before_merge"]))
    if "naive_insert_rows_per_s" in r:
        lines.append(f"{'naive: one INSERT per row (' + format(r['naive_rows'], ',') + ' events)':<44}"
                     f"{'':9}{r['naive_insert_rows_per_s']:>12,}  (toolkit: {r['toolkit_vs_naive_speedup']}x faster)")
    lines.append(f"peak RSS of the load: {r['peak_rss_mb']:.1f} MB (PSS {r['peak_pss_mb']:.1f} MB) over the load "
                 f"process and {r['load_workers_seen']} worker processes; main process {r['peak_rss_main_process_mb']:.1f} MB "
                 f"({r['load_process_rss_before_load_mb']:.1f} MB before the load began), each worker at most "
                 f"{r['peak_rss_per_worker_mb']:.1f} MB")
    lines += format_steps("first load", r["slowest_steps_s"], r["pipeline_s"])
    if "daily" in r:
        from bench import incremental

        lines += incremental.format_lines(r["daily"])
    lines.append(f"converter: {r['converter']}")
    lines.append("targets: " + "; ".join(f"{k} {v['value']} <= {v['target']}: {'met' if v['met'] else 'NOT met'}"
                                         for k, v in r["targets"].items()))
    return "\n".join(lines)


def _converter() -> str:
    """Which JSON -> COPY text converter the load used (SPARKIFY_NATIVE=0 measures the pure-Python one)."""
    from sparkify.copy import native

    return "native (C, sparkify/copy/native.c)" if native.enabled() and native.load_library() else "python"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    level = start(args)
    from sparkify import localdb, sample
    from sparkify.warehouse import Warehouse

    started = time.monotonic()
    code = code_version()
    sdir = sample_dir(args.cache_dir, args.events, args.songs, args.seed)
    config = bench_config(args, sdir)
    log.info("sample: %s", sdir)
    t = time.monotonic()
    summary = sample.ensure_sample(sdir, events=args.events, songs=args.songs, seed=args.seed)
    sample_s = time.monotonic() - t
    if args.engine == "postgres":
        use_bench_schema()
    started_server = args.engine == "local" and not localdb.is_running(config.data_dir)
    wh = Warehouse(config)
    tmp = Path(tempfile.mkdtemp(prefix="flat-", dir=args.cache_dir))
    try:
        if args.engine == "postgres":
            admin_sql(wh, f"create schema if not exists {BENCH_SCHEMA}")
        info = server_info(wh)
        log.info("server: PostgreSQL %s (%s)", info["server_version"], wh.describe())
        t = time.monotonic()
        files, size = warm_page_cache(sdir)
        log.info("page cache warmed: %d files, %.0f MB in %.1f s", files, size / 1e6, time.monotonic() - t)

        toolkit: list[dict] = []
        baseline: list[dict] = []
        orders: list[str] = []
        flat: dict = {}
        for i in range(args.repeat):
            order = ("toolkit", "baseline") if i % 2 == 0 else ("baseline", "toolkit")
            orders.append(" then ".join(order))
            for what in order:
                if what == "toolkit":
                    log.info("repeat %d/%d: toolkit load (emulated COPY + merge_staging, child process)",
                             i + 1, args.repeat)
                    res = run_toolkit(wh, level, args.before_merge, args.transform_timeout)
                    toolkit.append(res)
                    log.info("repeat %d/%d: toolkit staging load %.2f s, transform %s (checks %.2f s), "
                             "peak RSS %.1f MB", i + 1, args.repeat, res["staging_load_s"],
                             "not finished" if res["transform_s"] is None else f"{res['transform_s']:.2f} s",
                             res["timings"].get("checks", 0.0), res["tree_peak_rss_kb"] / 1024)
                    if not flat:
                        log.info("flattening the staged rows for the ceiling (COPY TO STDOUT, untimed)")
                        flat = dump_staging(wh, tmp)
                        for tb in STAGING:
                            if flat[tb]["rows"] != res["staged"].get(tb):
                                raise RuntimeError(f"{tb}: {flat[tb]['rows']} rows dumped, {res['staged'].get(tb)} staged")
                else:
                    log.info("repeat %d/%d: ceiling (COPY FROM STDIN of the flat rows)", i + 1, args.repeat)
                    res = run_baseline(wh, flat)
                    baseline.append(res)
                    log.info("repeat %d/%d: ceiling %.2f s", i + 1, args.repeat, res["baseline_copy_s"])
        daily = None
        if not args.no_daily:
            from bench import incremental

            daily = incremental.run(wh, sdir, args.cache_dir, args.repeat, level, reset_tables)
        naive = None
        if args.naive_rows > 0:
            log.info("naive reference: one INSERT per row on the first %d events", args.naive_rows)
            naive = run_naive(wh, sdir / "log_data", args.naive_rows)
            log.info("naive reference: %.0f rows/s", naive["naive_insert_rows_per_s"])
        extra = {"orders": orders, "code": code, "sample_ready_s": round(sample_s, 1),
                 "bench_wall_s": round(time.monotonic() - started, 1),
                 "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat()}
        result = summarize(args, summary, info, toolkit, baseline, naive, flat, extra)
        if daily is not None:
            result["daily"] = daily
            for name, target in daily["targets"].items():
                result["targets"][name] = target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if args.engine == "postgres":
            try:
                admin_sql(wh, f"drop schema if exists {BENCH_SCHEMA} cascade")
            except Exception as exc:  # noqa: BLE001
                log.warning("could not drop schema %s: %s", BENCH_SCHEMA, exc)
        if started_server and not args.keep_server:
            localdb.stop_server(config.data_dir)

    emit(result, args, format_table)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main, "bench/load.py"))
