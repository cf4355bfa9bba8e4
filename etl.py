"""Load the JSON logs and the song catalog into staging, then merge them into the star schema.

One transaction: COPY into staging_events and staging_songs, merge into songplays, users, songs,
artists and time, run the data-quality checks, commit. Any failure leaves the warehouse as it
was and exits non-zero. Re-running with the same data changes nothing (idempotent).
"""

from __future__ import annotations

from sparkify import cli, localdb
from sparkify.config import load_config
from sparkify.pipeline import run_etl

PROG = "etl.py"


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(PROG, __doc__)
    p.add_argument("--stop-local", action="store_true",
                   help="stop the embedded PostgreSQL server (engine local) and exit")
    args = p.parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        if args.stop_local:
            stopped = localdb.stop_server(config.data_dir)
            print(f"embedded PostgreSQL in {config.data_dir}: {'stopped' if stopped else 'was not running'}")
            return 0
        report = run_etl(config, show_progress=not args.quiet)
        staged = ", ".join(f"{t} {n}" for t, n in report.staged.items())
        rejected = sum(report.rejected.values())
        print(f"loaded {staged}; songplays {report.row_counts.get('songplays')}, users "
              f"{report.row_counts.get('users')}, songs {report.row_counts.get('songs')}, artists "
              f"{report.row_counts.get('artists')}, time {report.row_counts.get('time')}"
              + (f"; {rejected} records rejected (see stl_load_errors)" if rejected else ""))
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
