"""Load the new JSON logs and song files into staging, then merge them into the star schema.

One transaction: list the source prefixes and compare them with the load ledger (loaded_objects), COPY
the new or changed objects into staging_events and staging_songs, record them in the ledger, merge into
songplays, users, songs, artists and time, run the data-quality checks, commit. Any failure leaves the
warehouse as it was and exits non-zero (failing checks print their FAIL lines, as analytics.py --check
does). A run with nothing new changes nothing and costs a listing; --reload loads every object under the
prefixes again (the result is the same: the merge is idempotent).

With ENGINE = redshift the preflight checks (--preflight) run first and stop the load before any
SQL if one is fatal (--skip-preflight bypasses them). --dry-run prints the statements instead, in
order, and executes none: to show which objects are new it lists the source prefixes and reads the load
ledger on a read-only connection (rolled back).

Without a dwh.cfg (the built-in local default) it loads the generated sample data in .sparkify/sample/,
generating it first if needed (python generate_data.py does the same). Stop the embedded PostgreSQL
server with stop_local.py (make stop).
"""

from __future__ import annotations

from sparkify import cli, dryrun, preflight
from sparkify.config import load_config
from sparkify.errors import CheckError
from sparkify.pipeline import run_etl
from sparkify.text import visible_lines
from sql_queries import LOAD_ERRORS_VIEW

PROG = "etl.py"


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(PROG, __doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="print the SQL this would run on Redshift, in order, executing none (it lists the "
                           "sources and reads the load ledger, read-only)")
    mode.add_argument("--preflight", action="store_true",
                      help="check the cluster, IAM role, S3 sources and tables, one line each; exit 1 if any is fatal")
    p.add_argument("--reload", action="store_true",
                   help="load every object under the prefixes again, not only the new and changed ones")
    p.add_argument("--skip-preflight", action="store_true",
                   help="ENGINE = redshift: load without running the preflight checks first")
    args = p.parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        if args.dry_run:
            print(dryrun.dry_run_text(PROG, config, reload=args.reload), end="")
            return 0
        if config.sample_dir is not None:  # the built-in default: its sources are the generated sample
            from sparkify import sample  # (only here: the generator needs POSIX file locks)

            sample.ensure_default_sample(config.sample_dir)
        if args.preflight:
            text, code = preflight.report(config)
            print(visible_lines(text))
            return code
        if config.engine == "redshift" and not args.skip_preflight:
            preflight.require_ok(config)
        try:
            report = run_etl(config, show_progress=not args.quiet, reload=args.reload)
        except CheckError as exc:  # the run's result: each failing check, as analytics.py --check shows them
            print(visible_lines("\n".join(c.line() for c in exc.failures)))
            raise
        print(summary_line(report))
        return 0

    return cli.run(PROG, body)


def summary_line(report) -> str:
    """etl.py's result: what it loaded, and the star tables' row counts."""
    objects = report.objects.values()
    loaded = sum(len(p.to_load) for p in objects)
    skipped = sum(p.unchanged for p in objects)
    missing = sum(len(p.missing) for p in objects)
    staged = ", ".join(f"{t} {n}" for t, n in report.staged.items()) or "nothing new"
    rejected = sum(report.rejected.values())
    counts = ", ".join(f"{t} {report.row_counts.get(t)}" for t in ("songplays", "users", "songs", "artists", "time"))
    return (f"loaded {staged} ({loaded} objects; {skipped} unchanged skipped"
            + (f"; {missing} gone since loaded" if missing else "") + f"); {counts}"
            + (f"; {rejected} records rejected (see {LOAD_ERRORS_VIEW})" if rejected else ""))


if __name__ == "__main__":
    raise SystemExit(main())
