"""The daily-run part of the load benchmark (bench/load.py runs it after the staging/pipeline measurement).

What a daily etl.py costs against the first full load, measured in the same run on the same server, with
LOG_DATA and SONG_DATA unchanged between runs as a daily job has them:
  - full_load_s: etl.py (run_etl) into empty tables, all 30 days and every song file;
  - noop_rerun_s: etl.py again right after, with nothing new;
  - one_day_s: etl.py when day 30 has just arrived in LOG_DATA, onto a warehouse holding days 1-29 and
    every song (loaded, untimed, by a run before it);
  noop_rerun_ratio = noop_rerun_s / full_load_s, one_day_ratio = one_day_s / full_load_s.
Each load runs in a child process (a fresh interpreter, as etl.py would be) and is timed there, around
run_etl: connecting, the lock, the listing and the ledger, COPY, merge, checks and the commit included.
Between a load and the next measured run the benchmark runs VACUUM (ANALYZE) on the database, as
PostgreSQL's autovacuum does by itself within a minute of a large load: a daily job's next run comes
hours later, not seconds. Without it the measured run would pay for the previous load's first reads
(hint bits on every new page), which no daily run pays.

LOG_DATA is a directory of the benchmark's own (`<cache>/daily-<sample>/log_data/...`) holding hard links to
the sample's day files, so "day 30 arrives" is a new directory entry; SONG_DATA is the sample's own.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import statistics
import time
import traceback
from pathlib import Path

from bench.child import run_in_child
from bench.script import format_steps, setup_logging, slowest_steps

log = logging.getLogger("bench.incremental")

TARGETS = {"noop_rerun_ratio": 0.05, "one_day_ratio": 0.10}  # issue 22


def _child(config, log_level: int, conn_out) -> None:
    try:
        setup_logging(log_level)
        from sparkify.pipeline import run_etl

        t0 = time.perf_counter()
        report = run_etl(config, show_progress=False)
        seconds = time.perf_counter() - t0
        conn_out.send({"seconds": seconds, "timings": dict(report.timings), "steps": dict(report.steps),
                       "staged": dict(report.staged),
                       "row_counts": dict(report.row_counts),
                       "objects": {t: p.summary() for t, p in report.objects.items()}})
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn_out.send({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
    finally:
        conn_out.close()


def timed_etl(config, log_level: int) -> dict:
    """run_etl(config) in a fresh child process: its wall time and report."""
    return run_in_child(_child, (config, log_level), name="bench-etl", what="etl")


def _link_days(sample_logs: Path, daily_logs: Path, days: list[Path]) -> None:
    """daily_logs holds exactly `days` (hard links to the sample's files; copies where links are impossible)."""
    if daily_logs.exists():
        shutil.rmtree(daily_logs)
    for src in days:
        dst = daily_logs / src.relative_to(sample_logs)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def settle(wh) -> None:
    """What autovacuum does after a large load (see the module docstring)."""
    conn = wh.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("vacuum (analyze)")
    finally:
        conn.close()


def run(wh, sample_dir: Path, cache_dir: Path, repeat: int, log_level: int, reset_tables) -> dict:
    """Measure the daily runs `repeat` times (medians); `reset_tables(wh)` drops and recreates every table."""
    sample_logs = sample_dir / "log_data"
    days = sorted(p for p in sample_logs.rglob("*.json"))
    if len(days) < 2:
        raise RuntimeError(f"{sample_logs}: the daily benchmark needs at least two day files")
    daily = cache_dir / f"daily-{sample_dir.name}"
    daily_logs = daily / "log_data"
    config = dataclasses.replace(wh.config, s3=dataclasses.replace(wh.config.s3, log_data=str(daily_logs)))
    runs = []
    for i in range(repeat):
        log.info("daily runs %d/%d: full load of %d days", i + 1, repeat, len(days))
        _link_days(sample_logs, daily_logs, days)
        reset_tables(wh)
        full = timed_etl(config, log_level)
        log.info("daily runs %d/%d: full load %.2f s; re-run with nothing new", i + 1, repeat, full["seconds"])
        settle(wh)
        noop = timed_etl(config, log_level)
        if noop["staged"]:
            raise RuntimeError(f"a re-run with nothing new staged {noop['staged']}")
        log.info("daily runs %d/%d: re-run %.3f s; days 1-%d (untimed), then the last day", i + 1, repeat,
                 noop["seconds"], len(days) - 1)
        _link_days(sample_logs, daily_logs, days[:-1])
        reset_tables(wh)
        timed_etl(config, log_level)
        settle(wh)
        _link_days(sample_logs, daily_logs, days)
        one_day = timed_etl(config, log_level)
        if one_day["staged"].get("staging_events") is None or "staging_songs" in one_day["staged"]:
            raise RuntimeError(f"the last day's run staged {one_day['staged']}, expected that day's events only")
        star = ("songplays", "users", "songs", "artists", "time")
        if {t: one_day["row_counts"][t] for t in star} != {t: full["row_counts"][t] for t in star}:
            raise RuntimeError(f"days 1-{len(days) - 1} then the last day gave {one_day['row_counts']}, one full load "
                               f"{full['row_counts']}")
        log.info("daily runs %d/%d: the last day %.3f s", i + 1, repeat, one_day["seconds"])
        runs.append({"full_load_s": full["seconds"], "noop_rerun_s": noop["seconds"], "one_day_s": one_day["seconds"],
                     "full_timings": full["timings"], "noop_timings": noop["timings"],
                     "one_day_timings": one_day["timings"], "one_day_staged": one_day["staged"],
                     "one_day_steps": one_day["steps"]})
    shutil.rmtree(daily, ignore_errors=True)
    full_s = statistics.median(r["full_load_s"] for r in runs)
    noop_s = statistics.median(r["noop_rerun_s"] for r in runs)
    day_s = statistics.median(r["one_day_s"] for r in runs)
    out = {
        "full_load_s": round(full_s, 3),
        "noop_rerun_s": round(noop_s, 3),
        "one_day_s": round(day_s, 3),
        "noop_rerun_ratio": round(noop_s / full_s, 4),
        "one_day_ratio": round(day_s / full_s, 4),
        "days": len(days),
        # where the day's time goes: its slowest statements (RunResult.steps), median seconds
        "one_day_slowest_steps_s": slowest_steps([r["one_day_steps"] for r in runs], top=10),
        "runs": [{k: (round(v, 3) if isinstance(v, float) else
                      {kk: round(vv, 3) for kk, vv in v.items()} if k.endswith("timings") else v)
                  for k, v in r.items() if k != "one_day_steps"} for r in runs],
    }
    out["targets"] = {k: {"target": t, "value": out[k], "met": out[k] <= t} for k, t in TARGETS.items()}
    return out


def format_lines(r: dict) -> list[str]:
    return [
        f"daily runs (median of {len(r['runs'])}; LOG_DATA and SONG_DATA unchanged between runs):",
        f"  first full load ({r['days']} days){'':<22}{r['full_load_s']:9.2f}",
        f"  re-run with nothing new{'':<20}{r['noop_rerun_s']:9.3f}{'':12}{r['noop_rerun_ratio']:8.3f}x full",
        f"  day {r['days']} onto days 1-{r['days'] - 1}{'':<22}{r['one_day_s']:9.3f}{'':12}{r['one_day_ratio']:8.3f}x full",
        *format_steps(f"  day {r['days']}", r["one_day_slowest_steps_s"], r["one_day_s"]),
    ]
