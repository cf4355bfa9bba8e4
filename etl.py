"""Load the JSON logs and the song catalog into staging, then merge them into the star schema.

One transaction: COPY into staging_events and staging_songs, merge into songplays, users, songs,
artists and time, run the data-quality checks, commit. Any failure leaves the warehouse as it
was and exits non-zero. Re-running with the same data changes nothing (idempotent).

With ENGINE = redshift the preflight checks (--preflight) run first and stop the load before any
SQL if one is fatal (--skip-preflight bypasses them). --dry-run prints the statements instead, in
order, and connects to nothing.

Without a dwh.cfg (the built-in local default) it loads the generated sample data in .sparkify/sample/,
generating it first if needed (python generate_data.py does the same). Stop the embedded PostgreSQL
server with stop_local.py (make stop).
"""

from __future__ import annotations

from sparkify import cli, dryrun, preflight
from sparkify.config import load_config
from sparkify.pipeline import run_etl

PROG = "etl.py"


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(PROG, __doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="print the SQL this would run on Redshift, in order; connect to nothing")
    mode.add_argument("--preflight", action="store_true",
                      help="check the cluster, IAM role, S3 sources and tables, one line each; exit 1 if any is fatal")
    p.add_argument("--skip-preflight", action="store_true",
                   help="ENGINE = redshift: load without running the preflight checks first")
    args = p.parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        if args.dry_run:
            print(dryrun.dry_run_text(PROG, config), end="")
            return 0
        if args.preflight:
            text, code = preflight.report(config)
            print(text)
            return code
        if config.engine == "redshift" and not args.skip_preflight:
            preflight.require_ok(config)
        if config.sample_dir is not None:  # the built-in default: its sources are the generated sample
            from sparkify import sample  # (only here: the generator needs POSIX file locks)

            sample.ensure_default_sample(config.sample_dir)
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
