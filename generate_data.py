"""Generate sample Sparkify input data (song_data, log_data, log_json_path.json) like the udacity-dend bucket.

The files have the exact formats and layout of s3://udacity-dend: newline-delimited JSON events in
log_data/YYYY/MM/YYYY-MM-DD-events.json, one JSON object per file in song_data/A/B/C/TRABC....json.
The same options always give byte-identical files. An existing sample with the same options is reused
(see SAMPLE.json in the output directory) unless --force is given.

Examples:
  python generate_data.py                                   # the default local sample (8,000 events, 500 songs)
  python generate_data.py --events 1000000 --songs 10000 --out /tmp/big-sample
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from sparkify import cli
from sparkify.config import DEFAULT_HOME
from sparkify.sample import default_users, ensure_sample, generate


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = cli.parser("generate_data.py", __doc__, config=False)
    p.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_HOME / "sample",
                   help="output directory (default: %(default)s)")
    p.add_argument("--events", type=int, default=8000, help="exact number of log events (default: %(default)s)")
    p.add_argument("--songs", type=int, default=500, help="exact number of song files (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    p.add_argument("--users", type=int, default=None,
                   help=f"number of users (default: about one per 80 events, e.g. {default_users(8000)} for 8000)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2018, 11, 1), metavar="YYYY-MM-DD",
                   help="first day of events, UTC (default: %(default)s)")
    p.add_argument("--days", type=int, default=30, help="number of days with events (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="regenerate even if the output directory holds the "
                                                        "same sample")
    return p.parse_args(argv)


def _run(args: argparse.Namespace) -> int:
    make = generate if args.force else ensure_sample
    s = make(args.out, events=args.events, songs=args.songs, seed=args.seed, users=args.users,
             start=args.start, days=args.days)
    print(f"sample in {s.out_dir}: {s.events} events ({s.next_song_events} NextSong, {s.matched_plays} matching "
          f"a catalog song) in {s.log_files} log files, {s.users} users, {s.songs} song files")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    cli.setup_logging(args)
    return cli.run("generate_data.py", lambda: _run(args))


if __name__ == "__main__":
    raise SystemExit(main())
