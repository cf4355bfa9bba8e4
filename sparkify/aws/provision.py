"""create_cluster.py's job: everything ENGINE = redshift needs, created or reused, then written into dwh.cfg.

Before anything is created, both modes resolve who may connect (DWH_ALLOWED_CIDR, else the caller's public
address), read the S3 locations the role will be scoped to ([S3]; refused when missing) and check the AWS
credentials (which also give the account the role's trust policy pins). With [CLUSTER] TRANSPORT = data-api in
the file, the scripts never connect to the warehouse's port: unless [DWH] says otherwise (DWH_ALLOWED_CIDR,
DWH_PUBLICLY_ACCESSIBLE), the security group gets no ingress rule and the warehouse is not publicly accessible.
Then they create or reuse:

* cluster (DWH_MODE = cluster, the default): the node type is checked against the region's orderable
  options (sparkify.aws.cluster) first; then the IAM role, the security group, the parameter group that
  requires SSL (sparkify.aws.paramgroup), and an encrypted cluster with all three, waited for until available;
* serverless: the IAM role, the security group, the namespace, the workgroup (requiring SSL) and its daily
  usage limit (sparkify.aws.serverless), each waited for until AVAILABLE.

Then `[CLUSTER] HOST, DB_NAME, DB_USER, DB_PORT` and `[IAM_ROLE] ARN` are written into the configuration
file (sparkify.config.edit keeps every other line). Every step reuses what exists, and changes only what carries
the sparkify:managed tag, so running the script again is safe, resumes a wait and applies a changed [S3].
Nothing here prints or exits; errors are ProvisioningError or ConfigError.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sparkify.aws import cluster as cluster_mod
from sparkify.aws import paramgroup, s3access, serverless
from sparkify.aws.base import ResourceOutcome, Timing, client, make_session
from sparkify.aws.errors import aws_call
from sparkify.aws.iam import ensure_role
from sparkify.aws.network import CHECKIP_URL, ensure_security_group, resolve_allowed_cidr
from sparkify.config import PASSWORD_ENV, DwhSettings, get_value, read_config_file
from sparkify.errors import ConfigError

log = logging.getLogger("sparkify.aws")
DEFAULT_TIMING = Timing()


@dataclass
class CreateReport:
    steps: list[ResourceOutcome]
    host: str
    port: int
    db_name: str
    db_user: str
    role_arn: str
    security_group_id: str
    config_path: Path

    def lines(self) -> list[str]:
        return [s.line() for s in self.steps]


@dataclass
class _Made:
    steps: list[ResourceOutcome]
    host: str
    port: int
    db_name: str
    db_user: str


def create_all(settings: DwhSettings, config_path: Path | str, *, timing: Timing | None = None,
               checkip_url: str = CHECKIP_URL, session=None, environ: Mapping[str, str] | None = None) -> CreateReport:
    """Create (or reuse) the warehouse of `settings.mode`, wait for it, write [CLUSTER]/[IAM_ROLE] back."""
    from sparkify.config.edit import update_config

    config_path = Path(config_path)
    timing = timing or Timing()
    settings, open_port = closed_for_data_api(settings, config_path)
    cidr = resolve_allowed_cidr(settings, checkip_url) if open_port else None  # before anything is created
    locations = s3access.read_locations(config_path)  # the role's scope; refused before anything is created
    session = session or make_session(settings)
    with aws_call("checking", "the AWS credentials", settings.region):
        identity = client(session, "sts").get_caller_identity()
    account, partition = identity["Account"], str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    iam, ec2 = client(session, "iam"), client(session, "ec2")
    if settings.serverless:
        rs = client(session, "redshift-serverless")
        role_arn, role_step = ensure_role(iam, settings, account=account, locations=locations, partition=partition)
        group_id, group_step = ensure_security_group(ec2, settings, cidr)
        made = _serverless(rs, settings, role_arn, group_id, timing)
    else:
        redshift = client(session, "redshift")
        node_type = cluster_mod.select_node_type(redshift, settings)  # before anything is created: it may fail
        paramgroup.refuse_foreign(redshift, settings)  # likewise
        role_arn, role_step = ensure_role(iam, settings, account=account, locations=locations, partition=partition)
        group_id, group_step = ensure_security_group(ec2, settings, cidr)
        made = _cluster(redshift, settings, node_type, role_arn, group_id, timing)
    changed = update_config(config_path, {
        "CLUSTER": {"HOST": made.host, "DB_NAME": made.db_name, "DB_USER": made.db_user, "DB_PORT": str(made.port)},
        "IAM_ROLE": {"ARN": role_arn},
    })
    log.info("%s: %s [CLUSTER] HOST, DB_NAME, DB_USER, DB_PORT and [IAM_ROLE] ARN", config_path,
             "wrote" if changed else "already has")
    _config_hints(config_path, settings, os.environ if environ is None else environ)
    steps = [role_step, group_step, *made.steps,
             ResourceOutcome("config", str(config_path), "updated" if changed else "unchanged",
                  "[CLUSTER] HOST, DB_NAME, DB_USER, DB_PORT; [IAM_ROLE] ARN")]
    return CreateReport(steps=steps, host=made.host, port=made.port, db_name=made.db_name, db_user=made.db_user,
                        role_arn=role_arn, security_group_id=group_id, config_path=config_path)


def closed_for_data_api(settings: DwhSettings, config_path: Path) -> tuple[DwhSettings, bool]:
    """(the settings to create with, whether the warehouse port gets an ingress rule). With [CLUSTER] TRANSPORT =
    data-api no script connects to the port: no rule and no public address, unless [DWH] asks for them."""
    try:
        transport = (get_value(read_config_file(config_path), "CLUSTER", "TRANSPORT") or "").lower()
    except ConfigError:
        transport = ""
    if transport != "data-api":
        return settings, True
    if "DWH_PUBLICLY_ACCESSIBLE" not in settings.given:
        settings = replace(settings, publicly_accessible=False)
    open_port = "DWH_ALLOWED_CIDR" in settings.given
    log.info("[CLUSTER] TRANSPORT = data-api: the warehouse is %spublicly accessible and its port %s",
             "" if settings.publicly_accessible else "not ",
             f"is open to {settings.allowed_cidr} (DWH_ALLOWED_CIDR)" if open_port else "has no ingress rule")
    return settings, open_port


def _cluster(redshift, settings: DwhSettings, node_type: str, role_arn: str, group_id: str, timing: Timing) -> _Made:
    parameter_group, group_step = paramgroup.ensure_group(redshift, settings)
    cluster, step = cluster_mod.ensure_cluster(redshift, settings, node_type, role_arn, group_id, parameter_group,
                                               timing)
    endpoint = cluster["Endpoint"]
    return _Made(steps=[group_step, step], host=endpoint["Address"],
                 port=int(endpoint.get("Port") or cluster.get("Port") or settings.port),
                 db_name=cluster.get("DBName") or settings.db_name,
                 db_user=cluster.get("MasterUsername") or settings.db_user)


def _serverless(rs, settings: DwhSettings, role_arn: str, group_id: str, timing: Timing) -> _Made:
    namespace, namespace_step = serverless.ensure_namespace(rs, settings, role_arn, timing)
    workgroup, workgroup_step, ours = serverless.ensure_workgroup(rs, settings, group_id, timing)
    limit_step = serverless.ensure_usage_limit(rs, settings, workgroup, ours=ours)
    endpoint = workgroup["endpoint"]
    return _Made(steps=[namespace_step, workgroup_step, limit_step], host=endpoint["address"],
                 port=int(endpoint.get("port") or workgroup.get("port") or settings.port),
                 db_name=namespace.get("dbName") or settings.db_name,
                 db_user=namespace.get("adminUsername") or settings.db_user)


def _config_hints(path: Path, settings: DwhSettings, environ: Mapping[str, str]) -> None:
    try:
        cp = read_config_file(path)
    except ConfigError:
        return
    engine = (get_value(cp, "WAREHOUSE", "ENGINE") or "").lower()
    what = "workgroup" if settings.serverless else "cluster"
    if engine != "redshift":
        log.info("hint: set [WAREHOUSE] ENGINE = redshift in %s so create_tables.py and etl.py use this %s",
                 path, what)
    has_password = environ.get(PASSWORD_ENV) or get_value(cp, "CLUSTER", "DB_PASSWORD")
    auth = (get_value(cp, "CLUSTER", "AUTH") or "").lower()
    if (get_value(cp, "CLUSTER", "TRANSPORT") or "").lower() == "data-api":
        return  # the Data API needs no password
    if settings.managed_password and auth != "iam":
        log.info("hint: AWS Secrets Manager keeps the admin password; create_tables.py and etl.py can get "
                 "temporary credentials instead: set [CLUSTER] AUTH = iam in %s", path)
    elif not has_password and auth != "iam":
        log.info("hint: create_tables.py and etl.py get temporary database credentials from IAM when no password "
                 "is set (AUTH = iam); for the password instead, export %s or set [CLUSTER] DB_PASSWORD in %s",
                 PASSWORD_ENV, path)
