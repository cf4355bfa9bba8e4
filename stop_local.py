"""Stop the embedded PostgreSQL server of the local engine (`make stop` runs this).

The first script that needs the local warehouse starts the server and it keeps running for the next ones;
this stops it (the data stays in DATA_DIR for the next start). With another ENGINE there is no embedded
server: it says so and exits 0.
"""

from __future__ import annotations

from sparkify import cli, localdb
from sparkify.config import load_config

PROG = "stop_local.py"


def main(argv: list[str] | None = None) -> int:
    args = cli.parser(PROG, __doc__).parse_args(argv)
    cli.setup_logging(args)

    def body() -> int:
        config = load_config(args.config)
        if config.engine != "local":
            print(f"ENGINE = {config.engine} ({config.source_name}): there is no embedded PostgreSQL server to stop")
            return 0
        stopped = localdb.stop_server(config.data_dir)
        print(f"embedded PostgreSQL in {config.data_dir}: {'stopped' if stopped else 'was not running'}")
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
