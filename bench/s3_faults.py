#!/usr/bin/env python
"""S3 fault benchmark: a whole etl.py load from S3 with and without faults, through tools/s3_fault_proxy.py.

The real udacity-dend files (../shared/data/sparkify: 1,943 song objects, 30 log days and the JSONPaths file)
are put into a moto S3 server; a FaultProxy in front of it is the toolkit's [S3] ENDPOINT_URL (both served by
a process of their own, so that they do not compete with the measured load for its interpreter). Each scenario
is a full load (sparkify.pipeline.run_etl, the production retry policy of sparkify.s3io; --manifests: through
manifests on S3)
into freshly created tables of a dedicated embedded PostgreSQL server (bench/.cache/pgdata-s3faults):

- clean:     no fault;
- mixed:     a third of the objects (every third key) fail once, the faults in turn: 503 SlowDown, 500
             InternalError, a connection reset, a body cut short;
- slowdown:  a third of the objects answer 503 SlowDown once;
- slowdown-all: every object answers 503 SlowDown once;
- each-once: every object fails once (the four faults in turn).

For each: the seconds of the load, its ratio to the clean load, the faults met, and whether the star schema
(songplays, users, songs, artists, time) equals the clean load's. Results to stdout (--json: one object).

    python bench/s3_faults.py                # median of 3 per scenario
    python bench/s3_faults.py --repeat 1 --json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

log = logging.getLogger("bench.s3_faults")

BUCKET, OPS = "udacity-dend", "sparkify-ops"
STAR = ("songplays", "users", "songs", "artists", "time")
CYCLE = ("slowdown", "internal", "reset", "cut")
SCENARIOS = {
    "clean": lambda i: None,
    "mixed": lambda i: CYCLE[(i // 3) % len(CYCLE)] if i % 3 == 0 else None,
    "slowdown": lambda i: "slowdown" if i % 3 == 0 else None,
    "slowdown-all": lambda i: "slowdown",
    "each-once": lambda i: CYCLE[i % len(CYCLE)],
}


def parse_args(argv=None) -> argparse.Namespace:
    doc = (__doc__ or "").strip().splitlines()
    p = argparse.ArgumentParser(prog="bench/s3_faults.py", description=doc[0],
                                epilog="\n".join(doc[1:]).strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=PROJECT_DIR.parent / "shared" / "data" / "sparkify",
                   help="the real data folder (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="loads per scenario; medians are reported")
    p.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="only these (default: all)")
    p.add_argument("--data-dir", type=Path, default=PROJECT_DIR / "bench" / ".cache" / "pgdata-s3faults")
    p.add_argument("--json", action="store_true", help="print only one JSON object on stdout")
    p.add_argument("--manifests", action="store_true", help="with [S3] MANIFEST_PREFIX: each run writes a manifest "
                   "and the emulated COPY reads it (one HEAD per object), as on Redshift; default: the list of new "
                   "objects is handed to the emulated COPY")
    p.add_argument("-v", "--verbose", action="store_true", help="the toolkit's own log lines too")
    return p.parse_args(argv)


def star(conn) -> dict:
    with conn.cursor() as cur:
        out = {}
        for table in STAR:
            cur.execute(f"select * from {table} order by 1, 2")
            out[table] = cur.fetchall()
    conn.rollback()
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("sparkify").setLevel(logging.INFO if args.verbose else logging.WARNING)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")  # moto accepts anything; never real credentials
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import boto3
    import psycopg2

    from sparkify import localdb
    from sparkify.config import S3Settings, default_config
    from sparkify.pipeline import create_tables, run_etl
    from tools.s3_fault_proxy import control

    files = sorted(args.data.glob("song_data/**/*.json")) + sorted(args.data.glob("log_data/**/*.json"))
    started_server = not localdb.is_running(args.data_dir)
    results = {}
    served = subprocess.Popen([sys.executable, str(PROJECT_DIR / "tools" / "s3_fault_proxy.py")], cwd=PROJECT_DIR,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        urls = json.loads(served.stdout.readline())
        proxy_url, moto_url = urls["proxy"], urls["moto"]
        direct = boto3.client("s3", endpoint_url=moto_url, region_name="us-west-2")
        for name in (BUCKET, OPS):
            direct.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        keys = []
        for path in files:
            key = str(path.relative_to(args.data))
            direct.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
            keys.append(key)
        direct.put_object(Bucket=BUCKET, Key="log_json_path.json",
                          Body=(args.data / "log_json_path.json").read_bytes())
        keys.sort()  # the order the listing has
        log.info("%d objects in the bucket", len(keys))
        config = dataclasses.replace(
            default_config(args.data_dir.parent), data_dir=args.data_dir, local_db_name="bench_s3faults",
            sample_dir=None,
            s3=S3Settings(log_data=f"s3://{BUCKET}/log_data", song_data=f"s3://{BUCKET}/song_data",
                          log_jsonpath=f"s3://{BUCKET}/log_json_path.json", region="us-west-2",
                          endpoint_url=proxy_url,
                          manifest_prefix=f"s3://{OPS}/manifests" if args.manifests else None))
        dsn = localdb.ensure_database(localdb.ensure_server(args.data_dir), config.local_db_name)
        reference = None
        for name in args.scenario or list(SCENARIOS):
            times, faults = [], 0
            for _ in range(args.repeat):
                create_tables(config)
                control(proxy_url, "clear")
                by_fault: dict[str, list[str]] = {}
                for i, key in enumerate(keys):
                    fault = SCENARIOS[name](i)
                    if fault:
                        by_fault.setdefault(fault, []).append(f"{BUCKET}/{key}")
                for fault, paths in by_fault.items():
                    control(proxy_url, "fail", {"method": "GET", "paths": paths, "fault": fault})
                planted = control(proxy_url, "left")["left"]
                t0 = time.monotonic()
                run_etl(config, show_progress=False)
                times.append(time.monotonic() - t0)
                faults = planted - control(proxy_url, "left")["left"]
            conn = psycopg2.connect(dsn)
            schema = star(conn)
            conn.close()
            if reference is None:
                reference = schema
            results[name] = {"seconds": round(statistics.median(times), 2), "faults_met": faults,
                             "same_star_schema_as_first": schema == reference}
            log.info("%s: %s", name, results[name])
    finally:
        served.stdin.close()
        served.wait(timeout=60)
        if started_server:
            localdb.stop_server(args.data_dir)
    clean = results.get("clean", {}).get("seconds")
    for result in results.values():
        result["ratio_to_clean"] = round(result["seconds"] / clean, 2) if clean else None
    out = {"objects": len(files) + 1, "repeat": args.repeat, "manifests": args.manifests, "scenarios": results}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{'scenario':<10} {'seconds':>8} {'x clean':>8} {'faults':>7}  same star schema")
        for name, r in results.items():
            print(f"{name:<10} {r['seconds']:>8.2f} {r['ratio_to_clean'] or 0:>8.2f} {r['faults_met']:>7}  "
                  f"{r['same_star_schema_as_first']}")
    return 0 if all(r["same_star_schema_as_first"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
