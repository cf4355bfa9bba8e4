"""Row counts, the analysts' queries and the data-quality checks, as tables or JSON.

--check runs the data-quality checks of whole tables and exits 1 if any fails (naming the check, the
number of offending rows and a few keys); without it, the output shows the checks the latest etl.py run
passed on the rows it touched (recorded in etl_run_checks). --json prints one JSON object instead of
tables. --html PATH writes the analysts' report, one self-contained HTML page of charts, and prints its
path (its charts are rendered by a worker process, sparkify.chart_worker, started before the queries); with
--json as well, stdout holds the JSON alone and the path is a log line on stderr.
--dry-run (ENGINE = redshift) prints the statements instead, in order, and connects to nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from sparkify import cli
from sparkify.config import load_config
from sparkify.errors import CheckError
from sparkify.reports import build_report, format_report
from sparkify.text import visible

PROG = "analytics.py"


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(PROG, __doc__)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--check", action="store_true",
                   help="run the data-quality checks of whole tables; exit 1 if any fails")
    p.add_argument("--html", metavar="PATH", type=Path,
                   help="write the report as one self-contained HTML page of charts to PATH")
    p.add_argument("--dry-run", action="store_true",
                   help="print the SQL this would run on Redshift, in order; connect to nothing")
    args = p.parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        with_checks = bool(args.check)
        if args.dry_run:
            from sparkify import dryrun  # (only here: it costs a report a third of a second to import)

            print(dryrun.dry_run_text(PROG, config, with_checks=with_checks), end="")
            return 0
        if not args.html:
            report = build_report(config, with_checks=with_checks)
        else:
            from sparkify.chart_worker import ChartWorker
            from sparkify.report_html import check_destination, write_html

            check_destination(args.html)
            with ChartWorker() as renderer:  # started now: it readies the charts while the queries run
                report = build_report(config, with_checks=with_checks)
                written = write_html(report, args.html, renderer=renderer)
            wrote = f"wrote {visible(written.path)}: {written.charts} charts, {written.size / 1e6:.1f} MB"
            if args.json:  # stdout holds the JSON alone
                cli.log.info("%s", wrote)
            else:
                print(wrote)
        if args.json:
            print(json.dumps(report.as_json(), indent=2, default=str))
        elif not args.html:
            print(format_report(report))
        failures = [c for c in report.checks if not c.passed]
        if args.check and failures:
            first = failures[0]
            raise CheckError(f"{len(failures)} data-quality check(s) failed; first: {first.line()[6:]}", failures)
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
