"""Delete the Redshift cluster, its IAM role and its security group made by create_cluster.py.

Reads [DWH] (and the optional [AWS] KEY/SECRET) from the config file (default ./dwh.cfg, which must
exist). Shows what it will delete and asks for confirmation (--yes skips the question; without a
terminal, --yes is required). Deletes the cluster DWH_CLUSTER_IDENTIFIER without a final snapshot unless
--final-snapshot NAME is given, retrying while the cluster is busy and waiting until it is gone; then
detaches every policy from the IAM role and deletes it, and deletes the security group. The role and the
group are deleted only if create_cluster.py made them (tag sparkify:managed = true); others are left in
place and reported. Safe to run again: when nothing exists it says so and succeeds.
"""

from __future__ import annotations

import sys

from sparkify import aws, cli


def _delete(args) -> int:
    path = aws.require_config_path(args.config)
    settings = aws.load_dwh_settings(path, need_password=False)
    confirm = aws.make_confirm(assume_yes=args.yes, interactive=sys.stdin.isatty(), ask=input)
    report = aws.delete_all(settings, confirm=confirm, final_snapshot=args.final_snapshot)
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
    p = cli.parser("delete_cluster.py", __doc__, config_help=aws.CONFIG_HELP)
    p.add_argument("-y", "--yes", action="store_true", help="delete without asking for confirmation")
    p.add_argument("--final-snapshot", metavar="NAME", default=None,
                   help="take a final snapshot NAME before deleting the cluster (default: no snapshot)")
    args = p.parse_args(argv)
    cli.setup_logging(args)
    return cli.run("delete_cluster.py", lambda: _delete(args))


if __name__ == "__main__":
    raise SystemExit(main())
