"""Drop and recreate the staging, fact and dimension tables; or, with --upgrade, bring them up to date in place.

Without --upgrade everything in the warehouse is lost: use it to start afresh. For daily loads run etl.py
alone, which merges new data into the existing tables without duplicating anything.

--upgrade brings a warehouse made by an earlier release (from the first with the load ledger, 2026-11-30)
to this release's schema version in place, in one transaction under the ETL lock: every row and the load
ledger are kept, the version is recorded in the warehouse (schema_versions), and running it again changes
nothing. A warehouse whose tables match no known version is refused, with the fix.

--dry-run (ENGINE = redshift) prints the statements instead, in order, and changes nothing (with --upgrade it
reads the warehouse's version first, if it can connect).
"""

from __future__ import annotations

import sql_queries
from sparkify import cli, dryrun
from sparkify.config import load_config
from sparkify.pipeline import create_tables, upgrade
from sparkify.warehouse import Warehouse

PROG = "create_tables.py"


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(PROG, __doc__)
    p.add_argument("--upgrade", action="store_true",
                   help="bring the tables of an earlier release to this release's schema in place, keeping every row")
    p.add_argument("--dry-run", action="store_true",
                   help="print the SQL this would run on Redshift, in order; change nothing")
    args = p.parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        if args.dry_run:
            print(dryrun.dry_run_text(PROG, config, upgrade=args.upgrade), end="")
            return 0
        if args.upgrade:
            print(upgrade_line(*upgrade(config)))
            return 0
        create_tables(config)
        print(created_line(config))
        return 0

    return cli.run(PROG, body)


def created_line(config) -> str:
    """create_tables.py's result: how many tables it made, and where."""
    return f"created {len(sql_queries.SCHEMA_TABLES)} tables in the {Warehouse(config).describe()}"


def upgrade_line(found, applied) -> str:
    """create_tables.py --upgrade's result: from which version to which, or that there was nothing to do."""
    if not applied and found.versioned:
        return f"the warehouse is at {found.describe()}, the current one: nothing to upgrade"
    to = applied[-1].version if applied else found.version
    return (f"upgraded the warehouse from {found.describe()} to schema version {to} "
            f"({len(applied)} migration{'s' if len(applied) != 1 else ''}); every row and the load ledger kept")


if __name__ == "__main__":
    raise SystemExit(main())
