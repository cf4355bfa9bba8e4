"""Delete the Redshift warehouse (a cluster, or Redshift Serverless), its IAM role and its security group
made by create_cluster.py.

Reads [DWH] (and the optional [AWS] KEY/SECRET) from the config file (default ./dwh.cfg, which must
exist); an unknown [DWH] key is an error. Shows what it will delete and what it will keep, and asks for
confirmation (--yes skips the question; without a terminal, --yes is required).
Deletes only what create_cluster.py made (tag sparkify:managed = true), --yes or not; anything else of the
configured names is reported and kept.
DWH_MODE = cluster: deletes the cluster DWH_CLUSTER_IDENTIFIER without a final snapshot unless
--final-snapshot NAME is given, retrying while the cluster is busy and waiting until it is gone, then its
parameter group.
DWH_MODE = serverless: deletes the workgroup and waits until it is gone, then the namespace (a final
snapshot only with --final-snapshot NAME).
Then deletes the IAM role (with its policies) and the security group (looked up in the VPC in use only).
Safe to run again: when nothing exists it says so and succeeds.
"""

from __future__ import annotations

import sys

from sparkify import cli, config
from sparkify.aws import teardown


def _delete(args) -> int:
    path = config.require_config_path(args.config)
    settings = config.load_dwh_settings(path, need_password=False)
    confirm = teardown.make_confirm(assume_yes=args.yes, interactive=sys.stdin.isatty(), ask=input)
    report = teardown.delete_all(settings, confirm=confirm, final_snapshot=args.final_snapshot)
    if report is None:
        print("delete_cluster.py: not confirmed, nothing was deleted", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    if not report.removed:
        print(f"nothing to delete in {settings.region}")
    else:
        print(f"removed {len(report.removed)} resource(s)")
    return 0


def main(argv=None) -> int:
    p = cli.parser("delete_cluster.py", __doc__, config_help=config.CONFIG_HELP)
    p.add_argument("-y", "--yes", action="store_true", help="delete without asking for confirmation")
    p.add_argument("--final-snapshot", metavar="NAME", default=None,
                   help="take a final snapshot NAME before deleting the cluster or namespace (default: no snapshot)")
    args = p.parse_args(argv)
    cli.setup_logging(args)
    return cli.run("delete_cluster.py", lambda: _delete(args))


if __name__ == "__main__":
    raise SystemExit(main())
