"""The rules of create_cluster.py and delete_cluster.py: [DWH] and [AWS] into DwhSettings.

Each value is parsed by its key's kind (sparkify.config.keys); here are only the rules that tie keys together:
node count and cluster type, the names derived from DWH_CLUSTER_IDENTIFIER, the password's sources and
Redshift's rules for it, serverless ports and names, a VPC's subnets, and the credentials pair.
"""

from __future__ import annotations

import configparser
import ipaddress
import logging
import re
from collections.abc import Mapping
from pathlib import Path

from sparkify.config.inifile import check_keys
from sparkify.config.keys import PASSWORD_ENV, SERVERLESS_PORTS
from sparkify.config.reader import Reader
from sparkify.config.settings import DwhSettings, role_name_for
from sparkify.errors import ConfigError

log = logging.getLogger("sparkify.config")

_PASSWORD_FORBIDDEN = set("'\"\\/@ ")
_SERVERLESS_NAME_RE = re.compile(r"^[a-z0-9-]{3,64}$")  # namespaceName / workgroupName (the API's pattern)
# DWH_ALLOWED_CIDR wider than this gets a warning: a /24 is one site's addresses; wider opens the port to
# networks the user does not control.
WIDEST_QUIET_PREFIX = 24


def password_problem(password: str) -> str | None:
    """Why `password` breaks Redshift's master password rules, without quoting it; None if it is valid."""
    reasons = []
    if not 8 <= len(password) <= 64:
        reasons.append("be 8 to 64 characters long")
    if not (re.search(r"[A-Z]", password) and re.search(r"[a-z]", password) and re.search(r"\d", password)):
        reasons.append("contain an upper-case letter, a lower-case letter and a digit")
    if any(c in _PASSWORD_FORBIDDEN or not 33 <= ord(c) <= 126 for c in password):
        reasons.append("use printable ASCII only, without quotes, backslash, slash, @ or spaces")
    return " and ".join(reasons) if reasons else None


def cidr_warning(cidr: str | None) -> str | None:
    """The warning a DWH_ALLOWED_CIDR wider than /24 deserves (naming the key and the fix), else None."""
    if cidr is None:
        return None
    net = ipaddress.ip_network(cidr)
    if net.prefixlen >= WIDEST_QUIET_PREFIX:
        return None
    reach = "the whole internet" if net.prefixlen == 0 else f"{net.num_addresses:,} addresses"
    return (f"[DWH] DWH_ALLOWED_CIDR = {cidr} opens the warehouse port to {reach}, and only the password "
            f"protects it: prefer your own address as a /32 (or leave DWH_ALLOWED_CIDR unset to detect it)")


def parse_dwh_settings(cp: configparser.ConfigParser, environ: Mapping[str, str], *, path: Path | str | None = None,
                       need_password: bool = True, strict: bool = False, check: bool = True) -> DwhSettings:
    """Validate a parsed file's [DWH]/[AWS]. Pure, but for warnings: reads only `cp` and `environ`.

    `strict`: unknown [DWH] keys are problems (create_cluster.py, delete_cluster.py), else warnings; `check`:
    report on the file at all (unknown keys, a wide DWH_ALLOWED_CIDR), which parse_config has done already
    when it calls this for the other scripts."""
    r = Reader(cp)
    if check:
        r.problems += check_keys(cp, path, strict_sections=("DWH",) if strict else ())
    given = frozenset(k.upper() for k in cp["DWH"]) if cp.has_section("DWH") else frozenset()

    mode = r.get("DWH", "DWH_MODE")
    serverless = mode == "serverless"
    cluster_id = r.get("DWH", "DWH_CLUSTER_IDENTIFIER")
    cluster_type, num_nodes = _nodes(r)
    node_type = r.get("DWH", "DWH_NODE_TYPE")
    role_name = r.get("DWH", "DWH_IAM_ROLE_NAME", role_name_for(cluster_id))
    db_name = r.get("DWH", "DWH_DB")
    db_user = r.get("DWH", "DWH_DB_USER")
    managed = r.get("DWH", "DWH_MANAGED_PASSWORD")
    password = _password(r, environ, managed=managed, need=need_password, serverless=serverless)
    port = r.get("DWH", "DWH_PORT")
    if serverless and not any(port in ports for ports in SERVERLESS_PORTS):
        r.problem("DWH", "DWH_PORT", f"must be 5431-5455 or 8191-8215 for DWH_MODE = serverless, not {port}")
    region = r.get("DWH", "DWH_REGION")
    cidr = r.get("DWH", "DWH_ALLOWED_CIDR")
    public = r.get("DWH", "DWH_PUBLICLY_ACCESSIBLE")

    vpc_id = r.get("DWH", "DWH_VPC_ID")
    subnet_group = r.get("DWH", "DWH_SUBNET_GROUP")
    subnet_ids = r.get("DWH", "DWH_SUBNET_IDS")
    in_vpc = r.given("DWH", "DWH_VPC_ID")  # a VPC id, even a misspelt one, needs its subnets
    if in_vpc and not serverless and not r.given("DWH", "DWH_SUBNET_GROUP"):
        r.problem("DWH", "DWH_SUBNET_GROUP", "is required with DWH_VPC_ID: a cluster outside the default VPC needs "
                                             "a cluster subnet group (with public subnets) in that VPC")
    if in_vpc and serverless and not r.given("DWH", "DWH_SUBNET_IDS"):
        r.problem("DWH", "DWH_SUBNET_IDS", "is required with DWH_VPC_ID in serverless mode: a workgroup outside the "
                                           "default VPC needs subnets in that VPC (at least three, in three "
                                           "Availability Zones)")
    kms_key_id = r.get("DWH", "DWH_KMS_KEY_ID")

    names = {}
    for name in ("DWH_NAMESPACE", "DWH_WORKGROUP"):
        names[name] = r.get("DWH", name, cluster_id)
        if serverless and not _SERVERLESS_NAME_RE.match(names[name]):
            source = name if r.given("DWH", name) else f"DWH_CLUSTER_IDENTIFIER (the default {name})"
            r.problems.append(f"[DWH] {source} must be 3-64 lower-case letters, digits or hyphens for Redshift "
                              f"Serverless, not {names[name]!r}")

    base_capacity = r.get("DWH", "DWH_BASE_CAPACITY")
    usage_limit = r.get("DWH", "DWH_USAGE_LIMIT")
    action = r.get("DWH", "DWH_USAGE_LIMIT_ACTION")

    key, secret = r.get("AWS", "KEY"), r.get("AWS", "SECRET")
    if bool(key) != bool(secret):
        r.problems.append("[AWS] KEY and SECRET must be given together (or both left empty to use your AWS profile "
                          "or environment)")

    if r.problems:
        raise ConfigError(r.problems, path=str(path) if path else None)
    if check and (warning := cidr_warning(cidr)):
        log.warning("%s: %s", path or "config", warning)
    return DwhSettings(
        mode=mode, cluster_identifier=cluster_id, cluster_type=cluster_type, num_nodes=num_nodes,
        node_type=node_type, iam_role_name=role_name, db_name=db_name, db_user=db_user, port=port, region=region,
        allowed_cidr=cidr, publicly_accessible=public, vpc_id=vpc_id, subnet_group=subnet_group,
        subnet_ids=subnet_ids, kms_key_id=kms_key_id, namespace=names["DWH_NAMESPACE"],
        workgroup=names["DWH_WORKGROUP"], base_capacity=base_capacity, usage_limit=usage_limit,
        usage_limit_action=action, managed_password=managed, db_password=password, aws_key=key,
        aws_secret=secret, given=given,
    )


def _nodes(r: Reader) -> tuple[str, int]:
    """(DWH_CLUSTER_TYPE, DWH_NUM_NODES): a node count alone above 1 means multi-node; multi-node alone, 2."""
    num_nodes = r.get("DWH", "DWH_NUM_NODES")
    cluster_type = r.get("DWH", "DWH_CLUSTER_TYPE",
                         "multi-node" if num_nodes is not None and num_nodes > 1 else "single-node")
    if cluster_type == "single-node":
        if num_nodes not in (None, 1):
            r.problem("DWH", "DWH_NUM_NODES", f"must be 1 for DWH_CLUSTER_TYPE = single-node, not {num_nodes} "
                                              f"(or set DWH_CLUSTER_TYPE = multi-node)")
        return cluster_type, 1
    if num_nodes is None:
        return cluster_type, 2
    if not 2 <= num_nodes <= 128:
        r.problem("DWH", "DWH_NUM_NODES", f"must be between 2 and 128 for DWH_CLUSTER_TYPE = multi-node, "
                                          f"not {num_nodes}")
    return cluster_type, num_nodes


def _password(r: Reader, environ: Mapping[str, str], *, managed: bool, need: bool, serverless: bool) -> str:
    """The admin password to create with: the environment's, else DWH_DB_PASSWORD; "" if AWS keeps it."""
    if not need:
        return ""
    from_env = environ.get(PASSWORD_ENV)
    password = from_env or r.get("DWH", "DWH_DB_PASSWORD") or ""
    if managed:
        if password:
            log.info("DWH_MANAGED_PASSWORD = true: AWS Secrets Manager keeps the admin password; the configured "
                     "password is not used")
        return ""
    if not password:
        r.problem("DWH", "DWH_DB_PASSWORD", f"is required to create the {'workgroup' if serverless else 'cluster'} "
                                            f"(or set the environment variable {PASSWORD_ENV}, or "
                                            f"DWH_MANAGED_PASSWORD = true to let AWS Secrets Manager keep it)")
        return ""
    why = password_problem(password)
    if why:
        where = f"the environment variable {PASSWORD_ENV}" if from_env else "[DWH] DWH_DB_PASSWORD"
        r.problems.append(f"{where}: the {'admin' if serverless else 'master'} password must {why}")
    return password
