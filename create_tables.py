"""Drop and recreate the staging, fact and dimension tables.

Everything in the warehouse is lost: use it to start afresh. For daily loads run etl.py alone,
which merges new data into the existing tables without duplicating anything.

--dry-run (ENGINE = redshift) prints the statements instead, in order, and connects to nothing.
"""

from __future__ import annotations

from sparkify import cli, dryrun
from sparkify.config import load_config
from sparkify.pipeline import create_tables

PROG = "create_tables.py"


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(PROG, __doc__)
    p.add_argument("--dry-run", action="store_true",
                   help="print the SQL this would run on Redshift, in order; connect to nothing")
    args = p.parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        if args.dry_run:
            print(dryrun.dry_run_text(PROG, config), end="")
            return 0
        create_tables(config)
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
