"""Drop and recreate the staging, fact and dimension tables.

Everything in the warehouse is lost: use it to start afresh. For daily loads run etl.py alone,
which merges new data into the existing tables without duplicating anything.
"""

from __future__ import annotations

from sparkify import cli
from sparkify.config import load_config
from sparkify.pipeline import create_tables

PROG = "create_tables.py"


def main(argv: list[str] | None = None) -> int:
    args = cli.parser(PROG, __doc__).parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        create_tables(config)
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
