#!/usr/bin/env python
"""Report benchmark: what `analytics.py --html` costs as the warehouse grows, against what loading it costs.

For each size of generated sample (--events, default 200,000 and 2,000,000, with --songs songs), on the
benchmark's own embedded PostgreSQL (bench/.cache/pgdata, database bench_report; the user's .sparkify/ is never
touched):
  1. every table dropped and created again, then one etl.py load of the whole sample in a fresh process (timed:
     load_s), then VACUUM (ANALYZE), as autovacuum does within a minute of a load;
  2. `python analytics.py --config <the bench's> --html <file> -q` run --repeat times as a user runs it, a new
     process each time (timed by wall clock, interpreter and imports included: report_s, the median).
Ratios: report_growth = report_s at the largest size / report_s at the smallest; report_vs_load = report_s /
load_s at the largest size. issue 22's targets: report_growth <= 1.5, report_vs_load <= 0.10.

Progress goes to stderr; the results table to stdout, or with --json one JSON object.

Examples:
  python bench/report.py                                  # 200,000 and 2,000,000 events, 100,000 songs
  python bench/report.py --events 20000 200000 --repeat 1 --json --output bench/results/report.json
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.script import add_cache_option, add_output_options, emit, run, start

log = logging.getLogger("bench.report")

REPORT_DB = "bench_report"
TARGETS = {"report_growth": 1.5, "report_vs_load": 0.10}  # issue 22


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    doc = __doc__.strip().splitlines()
    p = argparse.ArgumentParser(prog="bench/report.py", description=doc[0], epilog="\n".join(doc[1:]).strip(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, nargs="+", default=[200_000, 2_000_000],
                   help="log events of each sample, smallest first (default: %(default)s)")
    p.add_argument("--songs", type=int, default=100_000, help="song files of each sample (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="sample seed (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="reports per size; medians are reported (default: %(default)s)")
    p.add_argument("--keep-server", action="store_true", help="leave the server running")
    add_cache_option(p)
    add_output_options(p)
    args = p.parse_args(argv)
    if any(n < 1 for n in args.events) or args.songs < 1 or args.repeat < 1:
        p.error("--events, --songs and --repeat must be at least 1")
    if args.events != sorted(args.events):
        p.error("--events: give the sizes smallest first")
    return args


def config_text(data_dir: Path, sample: Path) -> str:
    """The dwh.cfg analytics.py runs with: the bench's server and database, the sample as sources."""
    return (f"[WAREHOUSE]\nENGINE = local\nDATA_DIR = {data_dir}\nDB_NAME = {REPORT_DB}\n\n"
            f"[S3]\nLOG_DATA = {sample / 'log_data'}\nLOG_JSONPATH = {sample / 'log_json_path.json'}\n"
            f"SONG_DATA = {sample / 'song_data'}\n")


def timed_report(cfg: Path, out: Path) -> float:
    """One `analytics.py --html` in a new process, as a user runs it: its wall time (a failure raises)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "analytics.py"), "--config", str(cfg), "--html",
                           str(out), "-q"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"analytics.py --html failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return seconds


def measure_size(events: int, args, data_dir: Path, tmp: Path, level: int) -> dict:
    from bench import incremental
    from bench.load import reset_tables, sample_dir
    from sparkify import sample
    from sparkify.config import Config, S3Settings
    from sparkify.warehouse import Warehouse

    sdir = sample_dir(args.cache_dir, events, args.songs, args.seed)
    log.info("sample: %s", sdir)
    sample.ensure_sample(sdir, events=events, songs=args.songs, seed=args.seed)
    s3 = S3Settings(log_data=str(sdir / "log_data"), log_jsonpath=str(sdir / "log_json_path.json"),
                    song_data=str(sdir / "song_data"))
    config = Config(engine="local", s3=s3, data_dir=data_dir, local_db_name=REPORT_DB)
    wh = Warehouse(config)
    reset_tables(wh)
    log.info("%d events: loading with etl.py (a fresh process)", events)
    load = incremental.timed_etl(dataclasses.replace(config), level)
    incremental.settle(wh)
    cfg = tmp / f"dwh-{events}.cfg"
    cfg.write_text(config_text(data_dir, sdir))
    runs = []
    for i in range(args.repeat):
        seconds = timed_report(cfg, tmp / f"report-{events}.html")
        log.info("%d events: analytics.py --html %d/%d: %.2f s", events, i + 1, args.repeat, seconds)
        runs.append(seconds)
    return {"events": events, "plays": load["row_counts"].get("songplays"), "load_s": round(load["seconds"], 3),
            "report_s": round(statistics.median(runs), 3), "report_runs_s": [round(r, 3) for r in runs],
            "report_bytes": (tmp / f"report-{events}.html").stat().st_size}


def summarize(sizes: list[dict], args) -> dict:
    small, large = sizes[0], sizes[-1]
    out = {
        "songs": args.songs,
        "repeat": args.repeat,
        "sizes": sizes,
        "report_growth": round(large["report_s"] / small["report_s"], 3),
        "report_vs_load": round(large["report_s"] / large["load_s"], 4),
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None},
    }
    out["targets"] = {k: {"target": t, "value": out[k], "met": out[k] <= t} for k, t in TARGETS.items()}
    return out


def format_table(r: dict) -> str:
    lines = [f"Sparkify report benchmark: analytics.py --html, {r['songs']:,} songs; median of {r['repeat']}",
             f"{'events':>12}{'plays':>12}{'load (s)':>11}{'report (s)':>12}{'report/load':>13}"]
    for s in r["sizes"]:
        lines.append(f"{s['events']:>12,}{s['plays'] or 0:>12,}{s['load_s']:>11.2f}{s['report_s']:>12.2f}"
                     f"{s['report_s'] / s['load_s']:>13.3f}")
    lines.append("targets: " + "; ".join(f"{k} {v['value']} <= {v['target']}: {'met' if v['met'] else 'NOT met'}"
                                         for k, v in r["targets"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    level = start(args)
    from sparkify import localdb

    data_dir = (args.cache_dir / "pgdata").resolve()
    started_server = not localdb.is_running(data_dir)
    try:
        with tempfile.TemporaryDirectory(prefix="report-", dir=args.cache_dir) as tmp:
            sizes = [measure_size(events, args, data_dir, Path(tmp), level) for events in args.events]
        result = summarize(sizes, args)
    finally:
        if started_server and not args.keep_server:
            localdb.stop_server(data_dir)
    emit(result, args, format_table)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main, "bench/report.py"))
