"""Provision and tear down the Redshift cluster, its IAM role and its security group with boto3.

Used by create_cluster.py and delete_cluster.py; everything here raises ProvisioningError or ConfigError
(one line naming the resource and the fix) and logs to "sparkify.aws"; nothing here prints or exits.

What create_cluster.py makes, all tagged `sparkify:managed = true`:

* an IAM role (DWH_IAM_ROLE_NAME) that only redshift.amazonaws.com may assume, with the AWS-managed
  AmazonS3ReadOnlyAccess policy and nothing else;
* a security group `<DWH_CLUSTER_IDENTIFIER>-sg` in the default VPC (or DWH_VPC_ID) whose only ingress
  rule is TCP DWH_PORT from DWH_ALLOWED_CIDR (default: the caller's public IPv4 address as a /32);
* an encrypted, publicly accessible cluster with that role and that security group.

Every step reuses what already exists, so running the script again is safe (and resumes a wait).
delete_cluster.py deletes the cluster named DWH_CLUSTER_IDENTIFIER (the user named it and confirmed),
but deletes the role and the security group only if they carry the tag, so a role or group that
sparkify did not create is left in place and reported as such.

boto3 clients are created inside the functions, from a boto3.Session built from `[AWS] KEY/SECRET`
when given, else from boto3's default chain (profile, environment, instance role); boto3 itself
honours AWS_ENDPOINT_URL, which is how the scripts run against a local moto server.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import logging
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sparkify.config import PASSWORD_ENV, get_value, read_config_file
from sparkify.errors import ConfigError, ProvisioningError

log = logging.getLogger("sparkify.aws")

S3_READ_ONLY_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
TAG_KEY = "sparkify:managed"
TAG_VALUE = "true"
CHECKIP_URL = "https://checkip.amazonaws.com"
CONFIG_EXAMPLE = "dwh.cfg.example"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

# Defaults for [DWH]; documented in the README ("Provisioning a Redshift cluster").
DEFAULTS = {
    "DWH_CLUSTER_IDENTIFIER": "sparkify-dwh",
    "DWH_NODE_TYPE": "dc2.large",
    "DWH_DB": "sparkify",
    "DWH_DB_USER": "sparkify_admin",
    "DWH_PORT": 5439,
    "DWH_REGION": "us-west-2",
}
KNOWN_DWH_KEYS = {
    "DWH_CLUSTER_TYPE", "DWH_NUM_NODES", "DWH_NODE_TYPE", "DWH_IAM_ROLE_NAME", "DWH_CLUSTER_IDENTIFIER",
    "DWH_DB", "DWH_DB_USER", "DWH_DB_PASSWORD", "DWH_PORT", "DWH_REGION", "DWH_ALLOWED_CIDR", "DWH_VPC_ID",
    "DWH_SUBNET_GROUP",
}
# Cluster states that end by themselves (we wait), and states that need the user (we stop and say so).
GONE_STATES = {"deleting", "final-snapshot"}
STUCK_STATES = {
    "paused": "resume it (Redshift console, or: aws redshift resume-cluster --cluster-identifier {id})",
    "hardware-failure": "check the Redshift console; AWS support may be needed",
    "storage-full": "free space or resize it in the Redshift console",
    "incompatible-hsm": "fix its HSM settings in the Redshift console",
    "incompatible-network": "fix its VPC/subnet group in the Redshift console",
    "incompatible-parameters": "fix its parameter group in the Redshift console",
    "incompatible-restore": "delete it (delete_cluster.py) and create it again",
}

_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_CLUSTER_ID_RE = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
_DB_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_DB_USER_RE = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
_NODE_TYPE_RE = re.compile(r"^[a-z0-9]+\.[a-z0-9]+$")
_VPC_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_GROUP_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{0,254}$")
_SNAPSHOT_RE = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$")
_PASSWORD_FORBIDDEN = set("'\"\\/@ ")


# --------------------------------------------------------------------------------------------------
# [DWH] / [AWS] settings


@dataclass(frozen=True)
class DwhSettings:
    """The validated [DWH] (and optional [AWS]) settings. Secrets are kept out of repr()."""

    cluster_identifier: str = DEFAULTS["DWH_CLUSTER_IDENTIFIER"]
    cluster_type: str = "single-node"
    num_nodes: int = 1
    node_type: str = DEFAULTS["DWH_NODE_TYPE"]
    iam_role_name: str = "sparkify-dwh-s3-read"  # default: <cluster_identifier>-s3-read
    db_name: str = DEFAULTS["DWH_DB"]
    db_user: str = DEFAULTS["DWH_DB_USER"]
    port: int = DEFAULTS["DWH_PORT"]
    region: str = DEFAULTS["DWH_REGION"]
    allowed_cidr: str | None = None  # None: detect the caller's public IP at create time
    vpc_id: str | None = None  # None: the region's default VPC
    subnet_group: str | None = None
    db_password: str = field(default="", repr=False)
    aws_key: str | None = field(default=None, repr=False)
    aws_secret: str | None = field(default=None, repr=False)

    @property
    def security_group_name(self) -> str:
        return f"{self.cluster_identifier}-sg"


def require_config_path(path: Path | str | None) -> Path:
    """The config file the provisioning scripts use: --config, else ./dwh.cfg; it must exist."""
    p = Path("dwh.cfg") if path is None else Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p} (copy {CONFIG_EXAMPLE} to dwh.cfg, edit its [DWH] section "
                          f"and pass it with --config if it is not ./dwh.cfg)")
    return p


CONFIG_HELP = "configuration file with a [DWH] section (default: ./dwh.cfg, which must exist)"


def load_dwh_settings(path: Path | str, environ: Mapping[str, str] | None = None, *,
                      need_password: bool = True) -> DwhSettings:
    """Read and validate [DWH] and [AWS] of the file at `path`; ConfigError lists every problem at once."""
    path = Path(path)
    cp = read_config_file(path)
    return parse_dwh_settings(cp, os.environ if environ is None else environ, path=path,
                              need_password=need_password)


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


def parse_dwh_settings(cp: configparser.ConfigParser, environ: Mapping[str, str], *, path: Path | str | None = None,
                       need_password: bool = True) -> DwhSettings:
    """Validate a parsed file's [DWH]/[AWS]. Pure: reads only `cp` and `environ`."""
    problems: list[str] = []

    def get(key: str) -> str | None:
        return get_value(cp, "DWH", key)

    if cp.has_section("DWH"):
        unknown = sorted(k.upper() for k in cp["DWH"] if k.upper() not in KNOWN_DWH_KEYS)
        if unknown:
            log.warning("%s: [DWH] ignores unknown keys: %s", path or "config", ", ".join(unknown))

    cluster_id = (get("DWH_CLUSTER_IDENTIFIER") or DEFAULTS["DWH_CLUSTER_IDENTIFIER"]).lower()
    if not _CLUSTER_ID_RE.match(cluster_id):
        problems.append(f"[DWH] DWH_CLUSTER_IDENTIFIER must be 1-63 letters, digits or single hyphens, starting "
                        f"with a letter and not ending with a hyphen, not {cluster_id!r}")

    nodes_raw = get("DWH_NUM_NODES")
    num_nodes: int | None = None
    if nodes_raw is not None:
        if nodes_raw.isdigit():
            num_nodes = int(nodes_raw)
        else:
            problems.append(f"[DWH] DWH_NUM_NODES must be a whole number, not {nodes_raw!r}")
    cluster_type = (get("DWH_CLUSTER_TYPE") or ("multi-node" if num_nodes and num_nodes > 1 else "single-node")).lower()
    if cluster_type not in ("single-node", "multi-node"):
        problems.append(f"[DWH] DWH_CLUSTER_TYPE must be single-node or multi-node, not {cluster_type!r}")
    elif cluster_type == "single-node":
        if num_nodes not in (None, 1):
            problems.append(f"[DWH] DWH_NUM_NODES must be 1 for DWH_CLUSTER_TYPE = single-node, not {num_nodes} "
                            f"(or set DWH_CLUSTER_TYPE = multi-node)")
        num_nodes = 1
    else:
        if num_nodes is None:
            num_nodes = 2
        elif not 2 <= num_nodes <= 128:
            problems.append(f"[DWH] DWH_NUM_NODES must be between 2 and 128 for DWH_CLUSTER_TYPE = multi-node, "
                            f"not {num_nodes}")

    node_type = (get("DWH_NODE_TYPE") or DEFAULTS["DWH_NODE_TYPE"]).lower()
    if not _NODE_TYPE_RE.match(node_type):
        problems.append(f"[DWH] DWH_NODE_TYPE must be a Redshift node type like dc2.large or ra3.xlplus, "
                        f"not {node_type!r}")

    role_name = get("DWH_IAM_ROLE_NAME") or f"{cluster_id}-s3-read"
    if not _ROLE_NAME_RE.match(role_name):
        problems.append(f"[DWH] DWH_IAM_ROLE_NAME must be 1-64 letters, digits or +=,.@_- characters, "
                        f"not {role_name!r}")

    db_name = get("DWH_DB") or DEFAULTS["DWH_DB"]
    if not _DB_NAME_RE.match(db_name):
        problems.append(f"[DWH] DWH_DB must be a lower-case identifier of at most 64 characters "
                        f"(letters, digits, underscores), not {db_name!r}")

    db_user = get("DWH_DB_USER") or DEFAULTS["DWH_DB_USER"]
    if not _DB_USER_RE.match(db_user) or db_user == "public":
        problems.append(f"[DWH] DWH_DB_USER must be a lower-case identifier starting with a letter "
                        f"(letters, digits, underscores; not 'public'), not {db_user!r}")

    password = ""
    if need_password:
        from_env = bool(environ.get(PASSWORD_ENV))
        password = environ.get(PASSWORD_ENV) or get("DWH_DB_PASSWORD") or ""
        where = f"the environment variable {PASSWORD_ENV}" if from_env else "[DWH] DWH_DB_PASSWORD"
        if not password:
            problems.append(f"[DWH] DWH_DB_PASSWORD is required to create the cluster "
                            f"(or set the environment variable {PASSWORD_ENV})")
        else:
            why = password_problem(password)
            if why:
                problems.append(f"{where}: the cluster's master password must {why}")

    port_raw = get("DWH_PORT")
    port = DEFAULTS["DWH_PORT"]
    if port_raw is not None:
        if port_raw.isdigit() and 1150 <= int(port_raw) <= 65535:
            port = int(port_raw)
        else:
            problems.append(f"[DWH] DWH_PORT must be a port number between 1150 and 65535 (Redshift's range), "
                            f"not {port_raw!r}")

    region = (get("DWH_REGION") or DEFAULTS["DWH_REGION"]).lower()
    if not _REGION_RE.match(region):
        problems.append(f"[DWH] DWH_REGION is not an AWS region name (like us-west-2): {region!r}")

    cidr = get("DWH_ALLOWED_CIDR")
    if cidr is not None:
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            hint = ""
            try:
                hint = f" (did you mean {ipaddress.ip_network(cidr, strict=False)}?)"
            except ValueError:
                pass
            problems.append(f"[DWH] DWH_ALLOWED_CIDR must be an IPv4 address or range like 203.0.113.7/32, "
                            f"not {cidr!r}{hint}")
        else:
            if net.version != 4:
                problems.append(f"[DWH] DWH_ALLOWED_CIDR must be an IPv4 range (the cluster's public endpoint "
                                f"is IPv4), not {cidr!r}")
            else:
                cidr = str(net)

    vpc_id = get("DWH_VPC_ID")
    if vpc_id is not None and not _VPC_RE.match(vpc_id):
        problems.append(f"[DWH] DWH_VPC_ID must look like vpc-0123456789abcdef0, not {vpc_id!r}")
    subnet_group = get("DWH_SUBNET_GROUP")
    if subnet_group is not None:
        subnet_group = subnet_group.lower()
        if not _SUBNET_GROUP_RE.match(subnet_group):
            problems.append(f"[DWH] DWH_SUBNET_GROUP is not a cluster subnet group name: {subnet_group!r}")
    if vpc_id and not subnet_group:
        problems.append("[DWH] DWH_SUBNET_GROUP is required with DWH_VPC_ID: a cluster outside the default VPC "
                        "needs a cluster subnet group (with public subnets) in that VPC")

    key = get_value(cp, "AWS", "KEY")
    secret = get_value(cp, "AWS", "SECRET")
    if bool(key) != bool(secret):
        problems.append("[AWS] KEY and SECRET must be given together (or both left empty to use your AWS profile "
                        "or environment)")

    if problems:
        raise ConfigError(problems, path=str(path) if path else None)
    return DwhSettings(
        cluster_identifier=cluster_id, cluster_type=cluster_type, num_nodes=num_nodes, node_type=node_type,
        iam_role_name=role_name, db_name=db_name, db_user=db_user, port=port, region=region,
        allowed_cidr=cidr, vpc_id=vpc_id, subnet_group=subnet_group, db_password=password,
        aws_key=key, aws_secret=secret,
    )


# --------------------------------------------------------------------------------------------------
# Errors


_CREDENTIAL_CODES = {
    "InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure", "SignatureDoesNotMatch",
    "InvalidAccessKeyId", "IncompleteSignature", "MissingAuthenticationToken",
}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
                 "AccessDeniedFault", "UnauthorizedException"}
_QUOTA_CODES = {"ClusterQuotaExceeded", "NumberOfNodesQuotaExceeded", "NumberOfNodesPerClusterLimitExceeded",
                "LimitExceeded", "LimitExceededException", "SecurityGroupLimitExceeded",
                "RulesPerSecurityGroupLimitExceeded",
                "QuotaExceeded", "ClusterSecurityGroupQuotaExceeded"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
_CREDENTIAL_HELP = "configure a profile (aws configure) or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"


def aws_error_message(exc: BaseException, *, action: str, resource: str, region: str) -> str:
    """One line for a boto3/botocore error: what failed, on which resource, and what to do about it.

    `action` is a verb phrase ("creating", "deleting"...), `resource` names the object
    ("Redshift cluster 'sparkify-dwh'").
    """
    import botocore.exceptions as bx

    if isinstance(exc, bx.NoCredentialsError):
        return f"no AWS credentials: {_CREDENTIAL_HELP} (or [AWS] KEY/SECRET in the config file)"
    if isinstance(exc, bx.PartialCredentialsError):
        return f"incomplete AWS credentials ({exc.kwargs.get('cred_var', 'a value')} is missing): {_CREDENTIAL_HELP}"
    if isinstance(exc, bx.ProfileNotFound):
        return f"AWS profile {exc.kwargs.get('profile')!r} not found: check AWS_PROFILE and ~/.aws/config"
    if isinstance(exc, bx.EndpointConnectionError):
        return (f"cannot reach AWS at {exc.kwargs.get('endpoint_url')} while {action} {resource}: check DWH_REGION "
                f"({region!r} must be a region enabled for your account, like us-west-2), your network, "
                f"and AWS_ENDPOINT_URL if set")
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return f"AWS did not answer in time while {action} {resource} in {region}: check your network and retry"
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "Unknown")
        message = (str(err.get("Message") or "").strip().splitlines() or [""])[0]
        if code in _CREDENTIAL_CODES:
            return (f"AWS rejected the credentials ({code}) while {action} {resource}: check the access key and "
                    f"secret ({_CREDENTIAL_HELP}, or [AWS] KEY/SECRET), and that region {region} is enabled "
                    f"for your account")
        if code in _EXPIRED_CODES:
            return f"the AWS session token has expired ({code}): refresh your credentials (aws sso login, or new keys)"
        if code in _DENIED_CODES:
            return (f"access denied ({code}) while {action} {resource}: the AWS identity needs IAM role, EC2 "
                    f"security group and Redshift permissions; use a profile that has them or ask your "
                    f"administrator ({message})")
        if code in _QUOTA_CODES:
            return (f"quota exceeded ({code}) while {action} {resource} in {region}: delete unused resources or "
                    f"request a higher limit in the Service Quotas console ({message})")
        if code == "InsufficientClusterCapacity":
            return (f"AWS has no capacity for this node type ({code}) while {action} {resource} in {region}: "
                    f"retry later or choose another DWH_NODE_TYPE or DWH_REGION")
        if code in ("InvalidClusterState", "InvalidClusterStateFault"):
            return (f"{resource} is in a state that forbids {action} ({message or code}): wait until it is "
                    f"available (or gone) and run the script again")
        if code in ("ClusterNotFound", "ClusterNotFoundFault"):
            return (f"{resource} not found in {region}: check DWH_CLUSTER_IDENTIFIER and DWH_REGION "
                    f"(create it with create_cluster.py)")
        if code in ("ClusterSnapshotAlreadyExists", "ClusterSnapshotAlreadyExistsFault"):
            return (f"a snapshot with that name already exists while {action} {resource}: choose another "
                    f"--final-snapshot name")
        if code in ("InvalidVpcID.NotFound", "InvalidVpcId.NotFound"):
            return f"VPC not found while {action} {resource} in {region}: check DWH_VPC_ID and DWH_REGION"
        if code in ("ClusterSubnetGroupNotFoundFault", "ClusterSubnetGroupNotFound"):
            return f"cluster subnet group not found while {action} {resource} in {region}: check DWH_SUBNET_GROUP"
        if code == "OptInRequired":
            return f"region {region} is not enabled for your account ({code}): enable it or choose another DWH_REGION"
        if code in _THROTTLE_CODES:
            return (f"AWS is throttling requests ({code}) while {action} {resource}: wait a minute and run the "
                    f"script again")
        return f"AWS error {code} while {action} {resource} in {region}: {message or 'no message'}"
    if isinstance(exc, bx.BotoCoreError):
        return f"AWS client error while {action} {resource} in {region}: {exc}"
    return f"unexpected error while {action} {resource}: {type(exc).__name__}: {exc}"


@contextmanager
def aws_call(action: str, resource: str, region: str) -> Iterator[None]:
    """Turn botocore errors raised in the block into a one-line ProvisioningError."""
    import botocore.exceptions as bx

    try:
        yield
    except (bx.BotoCoreError, bx.ClientError) as exc:
        log.debug("%s %s failed", action, resource, exc_info=True)
        raise ProvisioningError(aws_error_message(exc, action=action, resource=resource, region=region)) from None


def _code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code")
    return None


# --------------------------------------------------------------------------------------------------
# Session, timing, public IP


def make_session(settings: DwhSettings):
    """A boto3 Session: explicit [AWS] KEY/SECRET when given, else boto3's default credential chain."""
    import boto3
    import botocore.exceptions as bx

    kwargs = {"region_name": settings.region}
    if settings.aws_key and settings.aws_secret:
        kwargs.update(aws_access_key_id=settings.aws_key, aws_secret_access_key=settings.aws_secret)
    try:
        return boto3.Session(**kwargs)
    except bx.BotoCoreError as exc:
        raise ProvisioningError(aws_error_message(exc, action="starting", resource="the AWS session",
                                                  region=settings.region)) from None


def _client(session, service: str):
    from botocore.config import Config

    return session.client(service, config=Config(retries={"mode": "standard"},
                                                 connect_timeout=10, read_timeout=60))


@dataclass(frozen=True)
class Timing:
    """How long to wait and retry. The defaults suit real AWS; tests pass zeros."""

    delay: float = 15  # seconds between two DescribeClusters calls of a waiter
    max_attempts: int = 80  # waiter bound: 80 x 15 s = 20 minutes
    progress_every: float = 30  # seconds between two progress lines while waiting
    retry_delay: float = 15  # delete_cluster while the cluster is in a transitional state
    retry_attempts: int = 40  # 40 x 15 s = 10 minutes
    sg_retry_delay: float = 10  # delete_security_group while the cluster's network interfaces go away
    sg_retry_attempts: int = 30  # 30 x 10 s = 5 minutes
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)


def detect_public_ip(url: str = CHECKIP_URL, timeout: float = 5.0) -> str:
    """The caller's public IPv4 address as a /32 CIDR, from a checkip-style service (plain-text body)."""
    fix = ("set [DWH] DWH_ALLOWED_CIDR to the address range allowed to reach the cluster "
           "(for example your public address as 203.0.113.7/32)")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - fixed https URL (or a test's)
            body = resp.read(100).decode("ascii", "replace").strip()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ProvisioningError(f"could not detect your public IP address from {url} ({reason}): {fix}") from None
    try:
        address = ipaddress.ip_address(body)
    except ValueError:
        raise ProvisioningError(f"could not detect your public IP address: {url} answered {body[:40]!r}, "
                                f"not an IP address: {fix}") from None
    if address.version != 4:
        raise ProvisioningError(f"your public address from {url} is IPv6 ({address}), but the cluster endpoint is "
                                f"IPv4: {fix}")
    return f"{address}/32"


def resolve_allowed_cidr(settings: DwhSettings, checkip_url: str = CHECKIP_URL) -> str:
    """DWH_ALLOWED_CIDR if set (a warning if it opens the cluster to the world), else the caller's IP /32."""
    if settings.allowed_cidr:
        if ipaddress.ip_network(settings.allowed_cidr).prefixlen == 0:
            log.warning("DWH_ALLOWED_CIDR = %s: the cluster port will be open to the whole internet; "
                        "only the password protects it. Prefer your own address as a /32.", settings.allowed_cidr)
        return settings.allowed_cidr
    cidr = detect_public_ip(checkip_url)
    log.info("DWH_ALLOWED_CIDR is not set: allowing only your public address %s", cidr)
    return cidr


# --------------------------------------------------------------------------------------------------
# Waiting


def _cluster_status(response: Mapping | None) -> str:
    if not response:
        return "unknown"
    if "Error" in response:
        return str(response["Error"].get("Code", "error"))
    clusters = response.get("Clusters") or []
    return str(clusters[0].get("ClusterStatus", "unknown")) if clusters else "not found"


def wait_for_cluster(redshift, cluster_id: str, waiter_name: str, timing: Timing, region: str) -> None:
    """Run boto3's `cluster_available`/`cluster_deleted` waiter in short rounds, logging progress between them.

    Bounded by timing.max_attempts x timing.delay. Raises ProvisioningError on a terminal state,
    an AWS error, or time out.
    """
    import botocore.exceptions as bx
    from botocore.exceptions import WaiterError

    goal = "available" if waiter_name == "cluster_available" else "deleted"
    resource = f"Redshift cluster '{cluster_id}'"
    waiter = redshift.get_waiter(waiter_name)
    per_round = max(1, math.ceil(timing.progress_every / timing.delay)) if timing.delay > 0 else 1
    remaining = max(1, timing.max_attempts)
    started = time.monotonic()
    while True:
        attempts = min(per_round, remaining)
        try:
            waiter.wait(ClusterIdentifier=cluster_id, WaiterConfig={"Delay": timing.delay, "MaxAttempts": attempts})
            log.info("%s is %s (after %.0f s)", resource, goal, time.monotonic() - started)
            return
        except WaiterError as exc:
            remaining -= attempts
            reason = str(exc.kwargs.get("reason", ""))
            status = _cluster_status(exc.last_response)
            response = exc.last_response or {}
            if not reason.startswith("Max attempts exceeded") and "Error" in response:
                err = bx.ClientError(response, "DescribeClusters")
                raise ProvisioningError(aws_error_message(err, action=f"waiting until {goal}", resource=resource,
                                                          region=region)) from None
            if not reason.startswith("Max attempts exceeded"):
                raise ProvisioningError(f"{resource} became {status} while waiting until it is {goal}: "
                                        f"check the Redshift console, then run the script again") from None
            waited = time.monotonic() - started
            if remaining <= 0:
                raise ProvisioningError(f"{resource} is still {status} after {waited / 60:.0f} min of waiting until "
                                        f"it is {goal}: run the script again to keep waiting (check the Redshift "
                                        f"console if it stays {status})") from None
            log.info("%s is %s; waiting until it is %s (%.0f s so far)", resource, status, goal, waited)
            timing.sleep(timing.delay)
        except (bx.BotoCoreError, bx.ClientError) as exc:
            log.debug("waiting for %s failed", resource, exc_info=True)
            raise ProvisioningError(aws_error_message(exc, action=f"waiting until {goal}", resource=resource,
                                                      region=region)) from None


# --------------------------------------------------------------------------------------------------
# Create


@dataclass
class Step:
    kind: str  # "IAM role", "security group", "Redshift cluster", "config"
    name: str
    outcome: str  # "created", "reused", "updated", "deleted", "not found", "left in place"
    detail: str = ""

    def line(self) -> str:
        return f"{self.outcome:<14} {self.kind} {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass
class CreateReport:
    steps: list[Step]
    host: str
    port: int
    db_name: str
    db_user: str
    role_arn: str
    security_group_id: str
    config_path: Path

    def lines(self) -> list[str]:
        return [s.line() for s in self.steps]


def _has_tag(tags: list[Mapping] | None) -> bool:
    return any(t.get("Key") == TAG_KEY and t.get("Value") == TAG_VALUE for t in tags or [])


def _tags() -> list[dict]:
    return [{"Key": TAG_KEY, "Value": TAG_VALUE}]


def _trusts_redshift(doc) -> bool:
    if isinstance(doc, str):
        try:
            doc = json.loads(urllib.parse.unquote(doc))
        except ValueError:
            return False
    statements = (doc or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for st in statements:
        services = (st.get("Principal") or {}).get("Service", []) if isinstance(st.get("Principal"), dict) else []
        services = [services] if isinstance(services, str) else services
        if st.get("Effect") == "Allow" and "redshift.amazonaws.com" in services:
            return True
    return False


def ensure_role(iam, settings: DwhSettings) -> tuple[str, Step]:
    """The IAM role Redshift assumes, with AmazonS3ReadOnlyAccess and nothing else. Returns (arn, step)."""
    name = settings.iam_role_name
    resource = f"IAM role '{name}'"
    region = settings.region
    role = None
    with aws_call("reading", resource, region):
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            role = None
    if role is None:
        with aws_call("creating", resource, region):
            try:
                role = iam.create_role(
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                    Description="Lets the Sparkify Redshift cluster read the source data from S3 (read-only)",
                    Tags=_tags(),
                )["Role"]
                outcome = "created"
            except iam.exceptions.EntityAlreadyExistsException:  # created meanwhile by another run
                role = iam.get_role(RoleName=name)["Role"]
                outcome = "reused"
            iam.get_waiter("role_exists").wait(RoleName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 15})
    else:
        outcome = "reused"
    if outcome == "reused":
        if not _trusts_redshift(role.get("AssumeRolePolicyDocument")):
            raise ProvisioningError(f"{resource} exists but does not trust redshift.amazonaws.com: choose another "
                                    f"DWH_IAM_ROLE_NAME (or fix the role's trust policy)")
        log.info("%s exists: reusing it", resource)
    else:
        log.info("%s created", resource)

    with aws_call("checking the policies of", resource, region):
        attached = [p["PolicyArn"] for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                    for p in page["AttachedPolicies"]]
        inline = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
                  for n in page["PolicyNames"]]
    extra = [a for a in attached if a != S3_READ_ONLY_POLICY_ARN] + [f"inline:{n}" for n in inline]
    if extra:
        raise ProvisioningError(f"{resource} has policies besides AmazonS3ReadOnlyAccess ({', '.join(extra)}): the "
                                f"cluster needs read-only S3 access only; detach them or choose another "
                                f"DWH_IAM_ROLE_NAME")
    if S3_READ_ONLY_POLICY_ARN not in attached:
        with aws_call("attaching AmazonS3ReadOnlyAccess to", resource, region):
            iam.attach_role_policy(RoleName=name, PolicyArn=S3_READ_ONLY_POLICY_ARN)
        log.info("%s: attached %s", resource, S3_READ_ONLY_POLICY_ARN)
    return role["Arn"], Step("IAM role", name, outcome, "S3 read-only")


def _vpc_id(ec2, settings: DwhSettings) -> str:
    if settings.vpc_id:
        with aws_call("reading", f"VPC '{settings.vpc_id}'", settings.region):
            ec2.describe_vpcs(VpcIds=[settings.vpc_id])
        return settings.vpc_id
    with aws_call("looking up", "the default VPC", settings.region):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ProvisioningError(f"no default VPC in {settings.region}: set [DWH] DWH_VPC_ID and DWH_SUBNET_GROUP, "
                                f"or create a default VPC (aws ec2 create-default-vpc)")
    return vpcs[0]["VpcId"]


def _split_permissions(perms: list[Mapping], port: int, cidr: str) -> tuple[bool, list[dict]]:
    """(whether the wanted rule is present, the other ingress permissions to revoke)."""
    present = False
    revoke: list[dict] = []
    for perm in perms:
        base = {"IpProtocol": perm["IpProtocol"]}
        for k in ("FromPort", "ToPort"):
            if k in perm and perm[k] is not None:
                base[k] = perm[k]
        wanted_port = perm["IpProtocol"] == "tcp" and perm.get("FromPort") == port and perm.get("ToPort") == port
        other_v4 = []
        for r in perm.get("IpRanges", []):
            if wanted_port and r.get("CidrIp") == cidr:
                present = True
            else:
                other_v4.append({"CidrIp": r["CidrIp"]})
        rest = {
            "IpRanges": other_v4,
            "Ipv6Ranges": [{"CidrIpv6": r["CidrIpv6"]} for r in perm.get("Ipv6Ranges", [])],
            "PrefixListIds": [{"PrefixListId": r["PrefixListId"]} for r in perm.get("PrefixListIds", [])],
            "UserIdGroupPairs": [{k: v for k, v in p.items() if k in ("GroupId", "UserId")}
                                 for p in perm.get("UserIdGroupPairs", [])],
        }
        rest = {k: v for k, v in rest.items() if v}
        if rest:
            revoke.append({**base, **rest})
    return present, revoke


def ensure_security_group(ec2, settings: DwhSettings, cidr: str) -> tuple[str, Step]:
    """The dedicated security group; its only ingress rule is TCP port from `cidr`. Returns (group id, step)."""
    name = settings.security_group_name
    resource = f"security group '{name}'"
    region = settings.region
    vpc_id = _vpc_id(ec2, settings)
    with aws_call("reading", resource, region):
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]},
                                                       {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    if groups:
        group = groups[0]
        group_id = group["GroupId"]
        if not _has_tag(group.get("Tags")):
            raise ProvisioningError(f"{resource} ({group_id}) exists in {vpc_id} but was not created by sparkify "
                                    f"(no {TAG_KEY} tag): delete or rename it, or choose another "
                                    f"DWH_CLUSTER_IDENTIFIER")
        outcome = "reused"
        log.info("%s (%s) exists: reusing it", resource, group_id)
        present, revoke = _split_permissions(group.get("IpPermissions", []), settings.port, cidr)
        if revoke:
            with aws_call("removing old ingress rules from", resource, region):
                ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=revoke)
            log.info("%s: removed ingress rules other than tcp/%s from %s: %s", resource, settings.port, cidr,
                     json.dumps(revoke))
            outcome = "updated"
    else:
        with aws_call("creating", resource, region):
            try:
                group_id = ec2.create_security_group(
                    GroupName=name,
                    Description=f"Sparkify: Redshift port {settings.port} of cluster {settings.cluster_identifier}",
                    VpcId=vpc_id,
                    TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags()}],
                )["GroupId"]
            except Exception as exc:
                if _code(exc) != "InvalidGroup.Duplicate":
                    raise
                raise ProvisioningError(f"{resource} was created by someone else meanwhile: run the script "
                                        f"again") from None
        present = False
        outcome = "created"
        log.info("%s (%s) created in %s", resource, group_id, vpc_id)
    if not present:
        with aws_call("adding the ingress rule to", resource, region):
            try:
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{
                    "IpProtocol": "tcp", "FromPort": settings.port, "ToPort": settings.port,
                    "IpRanges": [{"CidrIp": cidr, "Description": "Sparkify: Redshift clients"}],
                }])
            except Exception as exc:
                if _code(exc) != "InvalidPermission.Duplicate":
                    raise
        if outcome == "reused":
            outcome = "updated"
    return group_id, Step("security group", name, outcome, f"{group_id}, ingress tcp/{settings.port} from {cidr} only")


def _describe_cluster(redshift, cluster_id: str, region: str) -> dict | None:
    with aws_call("reading", f"Redshift cluster '{cluster_id}'", region):
        try:
            return redshift.describe_clusters(ClusterIdentifier=cluster_id)["Clusters"][0]
        except redshift.exceptions.ClusterNotFoundFault:
            return None


def ensure_cluster(redshift, settings: DwhSettings, role_arn: str, group_id: str, timing: Timing) -> tuple[dict, Step]:
    """The encrypted cluster with the role and the security group, available. Returns (cluster, step)."""
    cid = settings.cluster_identifier
    resource = f"Redshift cluster '{cid}'"
    region = settings.region
    cluster = _describe_cluster(redshift, cid, region)
    if cluster is None:
        params = {
            "ClusterIdentifier": cid,
            "ClusterType": settings.cluster_type,
            "NodeType": settings.node_type,
            "DBName": settings.db_name,
            "MasterUsername": settings.db_user,
            "MasterUserPassword": settings.db_password,
            "Port": settings.port,
            "IamRoles": [role_arn],
            "VpcSecurityGroupIds": [group_id],
            "Encrypted": True,
            "PubliclyAccessible": True,
            "Tags": _tags(),
        }
        if settings.cluster_type == "multi-node":
            params["NumberOfNodes"] = settings.num_nodes
        if settings.subnet_group:
            params["ClusterSubnetGroupName"] = settings.subnet_group
        with aws_call("creating", resource, region):
            try:
                redshift.create_cluster(**params)
                outcome = "created"
                log.info("%s: creation requested (%s x %s, encrypted); this usually takes 5-15 minutes",
                         resource, settings.num_nodes, settings.node_type)
            except redshift.exceptions.ClusterAlreadyExistsFault:
                outcome = "reused"
    else:
        outcome = "reused"
        status = cluster.get("ClusterStatus", "unknown")
        if status in GONE_STATES:
            raise ProvisioningError(f"{resource} is being deleted ({status}): wait until the deletion has finished "
                                    f"(delete_cluster.py waits for it), then run create_cluster.py again")
        if status in STUCK_STATES:
            raise ProvisioningError(f"{resource} is {status}: {STUCK_STATES[status].format(id=cid)}, then run "
                                    f"create_cluster.py again")
        log.info("%s exists (%s): reusing it", resource, status)
    wait_for_cluster(redshift, cid, "cluster_available", timing, region)
    cluster = _describe_cluster(redshift, cid, region)
    if cluster is None:
        raise ProvisioningError(f"{resource} disappeared while waiting for it: run create_cluster.py again")

    if outcome == "reused":
        roles = [r.get("IamRoleArn") for r in cluster.get("IamRoles", [])]
        if role_arn not in roles:
            with aws_call("attaching the IAM role to", resource, region):
                redshift.modify_cluster_iam_roles(ClusterIdentifier=cid, AddIamRoles=[role_arn])
            log.info("%s: attached IAM role %s", resource, role_arn)
            wait_for_cluster(redshift, cid, "cluster_available", timing, region)
            cluster = _describe_cluster(redshift, cid, region) or cluster
        if not cluster.get("Encrypted"):
            log.warning("%s exists but is NOT encrypted; sparkify creates encrypted clusters. To fix it, delete it "
                        "(delete_cluster.py) and run create_cluster.py again, or enable encryption in the console.",
                        resource)
        groups = [g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups", [])]
        if group_id not in groups:
            log.warning("%s exists but does not use security group %s (it uses %s): its network access is "
                        "whatever those groups allow", resource, group_id, ", ".join(groups) or "none")
        for key, want, have in (("DWH_DB", settings.db_name, cluster.get("DBName")),
                                ("DWH_DB_USER", settings.db_user, cluster.get("MasterUsername"))):
            if have and have != want:
                log.warning("%s exists with %s = %s, not %s as configured: writing the cluster's value to "
                            "[CLUSTER]", resource, key, have, want)
    endpoint = cluster.get("Endpoint") or {}
    if not endpoint.get("Address"):
        raise ProvisioningError(f"{resource} is available but has no endpoint yet: run create_cluster.py again "
                                f"in a minute")
    detail = f"{cluster.get('ClusterStatus')}, {endpoint['Address']}:{endpoint.get('Port') or settings.port}"
    detail += ", encrypted" if cluster.get("Encrypted") else ", NOT encrypted"
    return cluster, Step("Redshift cluster", cid, outcome, detail)


def _config_hints(path: Path, environ: Mapping[str, str]) -> None:
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read(path, encoding="utf-8")
    except configparser.Error:
        return
    engine = (get_value(cp, "WAREHOUSE", "ENGINE") or "").lower()
    if engine != "redshift":
        log.info("hint: set [WAREHOUSE] ENGINE = redshift in %s so create_tables.py and etl.py use this cluster",
                 path)
    if not environ.get(PASSWORD_ENV) and not get_value(cp, "CLUSTER", "DB_PASSWORD"):
        log.info("hint: create_tables.py and etl.py need the password: export %s or set [CLUSTER] DB_PASSWORD "
                 "in %s", PASSWORD_ENV, path)


def create_all(settings: DwhSettings, config_path: Path | str, *, timing: Timing = Timing(),
               checkip_url: str = CHECKIP_URL, session=None, environ: Mapping[str, str] | None = None) -> CreateReport:
    """Create (or reuse) role, security group and cluster, wait for it, write [CLUSTER]/[IAM_ROLE] back."""
    from sparkify.cfgedit import update_config

    config_path = Path(config_path)
    cidr = resolve_allowed_cidr(settings, checkip_url)  # before anything is created: it may fail
    session = session or make_session(settings)
    sts, iam, ec2, redshift = (_client(session, s) for s in ("sts", "iam", "ec2", "redshift"))
    with aws_call("checking", "the AWS credentials", settings.region):
        sts.get_caller_identity()
    role_arn, role_step = ensure_role(iam, settings)
    group_id, group_step = ensure_security_group(ec2, settings, cidr)
    cluster, cluster_step = ensure_cluster(redshift, settings, role_arn, group_id, timing)
    endpoint = cluster["Endpoint"]
    host = endpoint["Address"]
    port = int(endpoint.get("Port") or cluster.get("Port") or settings.port)
    db_name = cluster.get("DBName") or settings.db_name
    db_user = cluster.get("MasterUsername") or settings.db_user
    changed = update_config(config_path, {
        "CLUSTER": {"HOST": host, "DB_NAME": db_name, "DB_USER": db_user, "DB_PORT": str(port)},
        "IAM_ROLE": {"ARN": role_arn},
    })
    log.info("%s: %s [CLUSTER] HOST, DB_NAME, DB_USER, DB_PORT and [IAM_ROLE] ARN", config_path,
             "wrote" if changed else "already has")
    _config_hints(config_path, os.environ if environ is None else environ)
    steps = [role_step, group_step, cluster_step,
             Step("config", str(config_path), "updated" if changed else "unchanged",
                  "[CLUSTER] HOST, DB_NAME, DB_USER, DB_PORT; [IAM_ROLE] ARN")]
    return CreateReport(steps=steps, host=host, port=port, db_name=db_name, db_user=db_user, role_arn=role_arn,
                        security_group_id=group_id, config_path=config_path)


# --------------------------------------------------------------------------------------------------
# Delete


@dataclass
class Found:
    """What exists of ours, as seen before deleting."""

    cluster: dict | None
    role: dict | None
    role_managed: bool
    groups: list[dict]

    @property
    def deletable(self) -> bool:
        """Whether anything would be deleted (roles and groups without our tag are never deleted)."""
        return (self.cluster is not None or (self.role is not None and self.role_managed)
                or any(_has_tag(g.get("Tags")) for g in self.groups))


@dataclass
class DeleteReport:
    steps: list[Step]

    @property
    def removed(self) -> list[Step]:
        return [s for s in self.steps if s.outcome == "deleted"]

    def lines(self) -> list[str]:
        return [s.line() for s in self.steps]


def find_resources(session, settings: DwhSettings) -> Found:
    """Look up the cluster, the role and the security group named by the settings."""
    region = settings.region
    iam, ec2, redshift = (_client(session, s) for s in ("iam", "ec2", "redshift"))
    cluster = _describe_cluster(redshift, settings.cluster_identifier, region)
    with aws_call("reading", f"IAM role '{settings.iam_role_name}'", region):
        try:
            role = iam.get_role(RoleName=settings.iam_role_name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            role = None
    managed = False
    if role is not None:
        tags = role.get("Tags")
        if tags is None:
            with aws_call("reading the tags of", f"IAM role '{settings.iam_role_name}'", region):
                tags = iam.list_role_tags(RoleName=settings.iam_role_name)["Tags"]
        managed = _has_tag(tags)
    filters = [{"Name": "group-name", "Values": [settings.security_group_name]}]
    if settings.vpc_id:
        filters.append({"Name": "vpc-id", "Values": [settings.vpc_id]})
    with aws_call("reading", f"security group '{settings.security_group_name}'", region):
        groups = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    return Found(cluster=cluster, role=role, role_managed=managed, groups=groups)


def describe_plan(found: Found, settings: DwhSettings, final_snapshot: str | None) -> list[str]:
    """Human lines for the confirmation prompt: what will be deleted and what will be left."""
    lines = []
    if found.cluster is not None:
        snap = f"final snapshot '{final_snapshot}'" if final_snapshot else "NO final snapshot: its data is lost"
        mine = "" if _has_tag(found.cluster.get("Tags")) else "; NOT created by sparkify"
        lines.append(f"delete Redshift cluster '{settings.cluster_identifier}' in {settings.region} "
                     f"({found.cluster.get('ClusterStatus')}; {snap}{mine})")
    if found.role is not None:
        if found.role_managed:
            lines.append(f"delete IAM role '{settings.iam_role_name}' (after detaching its policies)")
        else:
            lines.append(f"keep IAM role '{settings.iam_role_name}' (not created by sparkify)")
    for g in found.groups:
        verb = "delete" if _has_tag(g.get("Tags")) else "keep"
        extra = "" if verb == "delete" else " (not created by sparkify)"
        lines.append(f"{verb} security group '{g['GroupName']}' ({g['GroupId']}){extra}")
    return lines


def _delete_cluster(redshift, settings: DwhSettings, cluster: dict, final_snapshot: str | None,
                    timing: Timing) -> Step:
    cid = settings.cluster_identifier
    resource = f"Redshift cluster '{cid}'"
    region = settings.region
    params: dict = {"ClusterIdentifier": cid}
    if final_snapshot:
        params.update(SkipFinalClusterSnapshot=False, FinalClusterSnapshotIdentifier=final_snapshot)
    else:
        params.update(SkipFinalClusterSnapshot=True)
    status = cluster.get("ClusterStatus")
    if status not in GONE_STATES:
        attempt = 0
        while True:
            attempt += 1
            busy = False
            with aws_call("deleting", resource, region):
                try:
                    redshift.delete_cluster(**params)
                except redshift.exceptions.ClusterNotFoundFault:
                    return Step("Redshift cluster", cid, "not found", "already gone")
                except redshift.exceptions.InvalidClusterStateFault:
                    if attempt >= timing.retry_attempts:
                        raise
                    busy = True
            if not busy:
                break
            current = _describe_cluster(redshift, cid, region)
            if current is None:
                return Step("Redshift cluster", cid, "not found", "already gone")
            if current.get("ClusterStatus") in GONE_STATES:
                break
            log.info("%s is %s: retrying the deletion in %.0f s (attempt %d of %d)", resource,
                     current.get("ClusterStatus"), timing.retry_delay, attempt, timing.retry_attempts)
            timing.sleep(timing.retry_delay)
        log.info("%s: deletion requested (%s)", resource,
                 f"final snapshot '{final_snapshot}'" if final_snapshot else "no final snapshot")
    else:
        log.info("%s is already being deleted", resource)
    wait_for_cluster(redshift, cid, "cluster_deleted", timing, region)
    return Step("Redshift cluster", cid, "deleted",
                f"final snapshot '{final_snapshot}'" if final_snapshot else "no final snapshot")


def _delete_role(iam, settings: DwhSettings) -> Step:
    name = settings.iam_role_name
    resource = f"IAM role '{name}'"
    region = settings.region
    with aws_call("deleting", resource, region):
        try:
            detached = []
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for p in page["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
                    detached.append(p["PolicyName"])
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy_name in page["PolicyNames"]:
                    iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
                    detached.append(f"inline {policy_name}")
            for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
                for prof in page["InstanceProfiles"]:
                    iam.remove_role_from_instance_profile(InstanceProfileName=prof["InstanceProfileName"],
                                                          RoleName=name)
            iam.delete_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            return Step("IAM role", name, "not found", "already gone")
    log.info("%s deleted (detached: %s)", resource, ", ".join(detached) or "nothing")
    return Step("IAM role", name, "deleted", f"detached {', '.join(detached)}" if detached else "")


def _delete_group(ec2, settings: DwhSettings, group: dict, timing: Timing) -> Step:
    group_id, name = group["GroupId"], group["GroupName"]
    resource = f"security group '{name}' ({group_id})"
    attempt = 0
    while True:
        attempt += 1
        in_use = False
        with aws_call("deleting", resource, settings.region):
            try:
                ec2.delete_security_group(GroupId=group_id)
            except Exception as exc:
                if _code(exc) == "InvalidGroup.NotFound":
                    return Step("security group", name, "not found", f"{group_id} already gone")
                if _code(exc) != "DependencyViolation":
                    raise
                in_use = True
        if not in_use:
            break
        if attempt >= timing.sg_retry_attempts:
            raise ProvisioningError(f"{resource} is still in use after {attempt} attempts: another cluster or network "
                                    f"interface uses it; run delete_cluster.py again later, or delete it in the EC2 "
                                    f"console")
        log.info("%s is still in use (the cluster's network interfaces take a few minutes to go): retrying in "
                 "%.0f s (attempt %d of %d)", resource, timing.sg_retry_delay, attempt, timing.sg_retry_attempts)
        timing.sleep(timing.sg_retry_delay)
    log.info("%s deleted", resource)
    return Step("security group", name, "deleted", group_id)


def delete_all(settings: DwhSettings, *, confirm: Callable[[list[str]], bool] | None = None,
               final_snapshot: str | None = None, timing: Timing = Timing(), session=None) -> DeleteReport | None:
    """Delete the cluster (waiting until it is gone), then our role and our security group.

    `confirm` gets the plan's lines and returns whether to go ahead; it is not called when nothing would be
    deleted.
    Returns None if the user declined, else the report (its `removed` is empty when nothing existed).
    """
    if final_snapshot is not None and not _SNAPSHOT_RE.match(final_snapshot):
        raise ConfigError(f"--final-snapshot {final_snapshot!r} is not a valid snapshot name: 1-255 letters, digits "
                          f"or single hyphens, starting with a letter and not ending with a hyphen")
    session = session or make_session(settings)
    sts = _client(session, "sts")
    with aws_call("checking", "the AWS credentials", settings.region):
        sts.get_caller_identity()
    found = find_resources(session, settings)
    steps: list[Step] = []
    if found.deletable and confirm is not None and not confirm(describe_plan(found, settings, final_snapshot)):
        return None
    iam, ec2, redshift = (_client(session, s) for s in ("iam", "ec2", "redshift"))
    if found.cluster is not None:
        steps.append(_delete_cluster(redshift, settings, found.cluster, final_snapshot, timing))
    else:
        steps.append(Step("Redshift cluster", settings.cluster_identifier, "not found"))
    if found.role is None:
        steps.append(Step("IAM role", settings.iam_role_name, "not found"))
    elif not found.role_managed:
        log.warning("IAM role '%s' has no %s tag: not created by sparkify, left in place", settings.iam_role_name,
                    TAG_KEY)
        steps.append(Step("IAM role", settings.iam_role_name, "left in place", "not created by sparkify"))
    else:
        steps.append(_delete_role(iam, settings))
    if not found.groups:
        steps.append(Step("security group", settings.security_group_name, "not found"))
    for group in found.groups:
        if _has_tag(group.get("Tags")):
            steps.append(_delete_group(ec2, settings, group, timing))
        else:
            log.warning("security group '%s' (%s) has no %s tag: not created by sparkify, left in place",
                        group["GroupName"], group["GroupId"], TAG_KEY)
            steps.append(Step("security group", group["GroupName"], "left in place",
                              f"{group['GroupId']}, not created by sparkify"))
    return DeleteReport(steps=steps)


def make_confirm(*, assume_yes: bool, interactive: bool, ask: Callable[[str], str]) -> Callable[[list[str]], bool]:
    """The confirmation used by delete_cluster.py: --yes skips it; without a terminal it refuses to guess."""

    def confirm(plan: list[str]) -> bool:
        if assume_yes:
            return True
        if not interactive:
            raise ProvisioningError("refusing to delete without confirmation: standard input is not a terminal; "
                                    "run delete_cluster.py --yes to delete without asking")
        text = "\n".join(["This will:"] + [f"  - {line}" for line in plan] + ["Type 'yes' to continue: "])
        try:
            answer = ask(text)
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return confirm
