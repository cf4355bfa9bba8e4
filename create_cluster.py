"""Create the Redshift warehouse (a cluster, or Redshift Serverless), its IAM role and its security group,
then write the endpoint into dwh.cfg.

Reads [DWH] (and the optional [AWS] KEY/SECRET) from the config file (default ./dwh.cfg, which must
exist: copy dwh.cfg.example); an unknown [DWH] key is an error. [S3] LOG_DATA and SONG_DATA must be set (s3://
URIs): the role may read only what [S3] names. Creates, or reuses when they already exist:

  * an IAM role that only Redshift may assume, for this AWS account only, with one policy: s3:ListBucket and
    s3:GetObject on the [S3] prefixes (LOG_DATA, SONG_DATA, MANIFEST_PREFIX) and the LOG_JSONPATH file;
  * a security group <DWH_CLUSTER_IDENTIFIER>-sg whose only ingress is DWH_PORT from DWH_ALLOWED_CIDR
    (default: your public IP address as a /32);
  * DWH_MODE = cluster (default): a parameter group <DWH_CLUSTER_IDENTIFIER>-params with require_ssl = true,
    and an encrypted cluster with that role, group and parameter group, of a node type the region can still
    order (DescribeOrderableClusterOptions, asked before anything is created);
    DWH_MODE = serverless: a namespace (that role as its default) and a workgroup (that group, base
    capacity DWH_BASE_CAPACITY RPUs, require_ssl = true) with a daily usage limit (DWH_USAGE_LIMIT RPU-hours);
  and waits until they are available (bounded, with progress lines). Everything it creates carries the tag
  sparkify:managed = true. It changes only what carries that tag: a role or a parameter group of the configured
  name without it stops the script (exit 1, nothing created); a cluster, namespace or workgroup without it is
  used as it is, with warnings saying what it lacks.

Then writes [CLUSTER] HOST, DB_NAME, DB_USER, DB_PORT and [IAM_ROLE] ARN into the config file, keeping
everything else in it. Safe to run again: it reuses what exists, resumes waiting, and brings the role's S3
policy in line with a changed [S3] (and says so). The admin password comes from the environment variable
SPARKIFY_DB_PASSWORD, else [DWH] DWH_DB_PASSWORD, unless DWH_MANAGED_PASSWORD = true (AWS Secrets Manager keeps
it). AWS credentials come from [AWS] KEY/SECRET if set, else from your AWS profile or environment (never printed).
"""

from __future__ import annotations

from sparkify import cli, config
from sparkify.aws import provision


def _create(args) -> int:
    path = config.require_config_path(args.config)
    settings = config.load_dwh_settings(path)
    report = provision.create_all(settings, path)
    for line in report.lines():
        print(line)
    what = "workgroup" if settings.serverless else "cluster"
    print(f"{what} ready: {report.host}:{report.port} database {report.db_name} user {report.db_user}")
    return 0


def main(argv=None) -> int:
    p = cli.parser("create_cluster.py", __doc__, config_help=config.CONFIG_HELP)
    args = p.parse_args(argv)
    cli.setup_logging(args)
    return cli.run("create_cluster.py", lambda: _create(args))


if __name__ == "__main__":
    raise SystemExit(main())
