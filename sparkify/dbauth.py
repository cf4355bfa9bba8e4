"""Which user and password the database connection uses: the configured password, or temporary credentials
that AWS issues to your IAM identity right before connecting ([CLUSTER] AUTH).

AUTH = password: [CLUSTER] DB_USER with the password (SPARKIFY_DB_PASSWORD, else [CLUSTER] DB_PASSWORD, else
[DWH] DWH_DB_PASSWORD). AUTH = iam (ENGINE = redshift only):
* a provisioned cluster: redshift GetClusterCredentials(DbUser = [CLUSTER] DB_USER, DbName, ClusterIdentifier,
  AutoCreate = false): a password valid for 15 minutes for the same database user the password path uses,
  so the tables create_tables.py made stay that user's. (GetClusterCredentialsWithIAM would map the caller's
  IAM identity to a database user of its own, "IAM:<name>", which owns none of those tables.) Redshift
  returns the user as "IAM:<DB_USER>", and that is the name to log in with.
* a Redshift Serverless workgroup: redshift-serverless GetCredentials(workgroupName, dbName), which always
  maps the IAM identity to its own database user ("IAM:<name>" / "IAMR:<role>").
Which cluster or workgroup: from [CLUSTER] HOST when it is an AWS endpoint name (it holds the identifier
and the region), else from [DWH] (DWH_MODE, DWH_CLUSTER_IDENTIFIER or DWH_WORKGROUP, DWH_REGION).
AUTH unset: password when one is configured, else iam when AWS credentials are available.

Credentials are fetched once per process and target and reused until a minute before they expire. The
password or token is never logged or printed: `Credentials` keeps it out of repr(), and errors name only
the target, the user and AWS's error code.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sparkify.awsnames import parse_redshift_host
from sparkify.config import PASSWORD_ENV, Config
from sparkify.errors import ConfigError, WarehouseError

log = logging.getLogger(__name__)

DURATION_S = 900  # the shortest AWS allows (GetClusterCredentials and GetCredentials: 900-3600 s)
_REFRESH_MARGIN_S = 60


@dataclass(frozen=True)
class Target:
    kind: str  # "cluster" | "serverless"
    name: str  # cluster identifier or workgroup name
    region: str

    def describe(self) -> str:
        return f"{'cluster' if self.kind == 'cluster' else 'workgroup'} {self.name} in {self.region}"


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)
    expires_at: float = float("inf")  # time.time() seconds
    source: str = "password"  # "password" | "iam"


_cache: dict[tuple, Credentials] = {}


def make_session(config: Config):
    """A boto3 Session from [AWS] KEY/SECRET when given, else boto3's default chain (profile, environment...)."""
    import boto3

    kwargs = {}
    if config.dwh.aws_key and config.dwh.aws_secret:
        kwargs.update(aws_access_key_id=config.dwh.aws_key, aws_secret_access_key=config.dwh.aws_secret)
    return boto3.Session(**kwargs)


def target_of(config: Config) -> Target:
    """The cluster or workgroup [CLUSTER] HOST names, else the one [DWH] names."""
    parsed = parse_redshift_host(config.cluster.host if config.cluster else None)
    if parsed is not None:
        return Target(parsed.kind, parsed.name, parsed.region)
    dwh = config.dwh
    if dwh.serverless:
        return Target("serverless", dwh.workgroup, dwh.region)
    return Target("cluster", dwh.cluster_identifier, dwh.region)


def auth_mode(config: Config, session=None) -> str:
    """'password' or 'iam' for this configuration: AUTH when set; else password when one is set (or the
    engine is a PostgreSQL server, which may need none), else iam when AWS credentials are available.
    ConfigError when neither can work."""
    cluster = config.cluster
    if cluster.auth:
        return cluster.auth
    if cluster.db_password or config.engine != "redshift":
        return "password"
    if _has_aws_credentials(config, session):
        return "iam"
    raise _no_password(config, "or configure AWS credentials to get temporary ones ([CLUSTER] AUTH = iam)")


def _no_password(config: Config, alternative: str) -> ConfigError:
    return ConfigError(f"[CLUSTER] DB_PASSWORD is required to connect to Redshift: set the environment variable "
                       f"{PASSWORD_ENV} (or DB_PASSWORD in the file), {alternative}",
                       path=str(config.path) if config.path else None)


def _has_aws_credentials(config: Config, session) -> bool:
    try:
        return (session or make_session(config)).get_credentials() is not None
    except Exception:  # a broken profile means: no usable credentials
        log.debug("no AWS credentials", exc_info=True)
        return False


def credentials(config: Config, *, session=None) -> Credentials:
    """The user and password to connect with, fetched from AWS for AUTH = iam (cached until near expiry)."""
    mode = auth_mode(config, session)
    cluster = config.cluster
    if mode == "password":
        if not cluster.db_password and config.engine == "redshift":
            raise _no_password(config, "or set [CLUSTER] AUTH = iam to get temporary credentials from AWS")
        return Credentials(cluster.db_user, cluster.db_password)
    target = target_of(config)
    key = (target, cluster.db_name, cluster.db_user)
    cached = _cache.get(key)
    if cached is not None and cached.expires_at - _REFRESH_MARGIN_S > time.time():
        return cached
    issued = _fetch(config, target, session)
    _cache[key] = issued
    return issued


def _fetch(config: Config, target: Target, session) -> Credentials:
    import botocore.exceptions as bx

    from sparkify.aws.errors import aws_error_message

    cluster = config.cluster
    session = session or make_session(config)
    try:
        if target.kind == "serverless":
            rs = session.client("redshift-serverless", region_name=target.region)
            answer = rs.get_credentials(workgroupName=target.name, dbName=cluster.db_name,
                                        durationSeconds=DURATION_S)
            user, password, expiration = answer["dbUser"], answer["dbPassword"], answer.get("expiration")
        else:
            redshift = session.client("redshift", region_name=target.region)
            answer = redshift.get_cluster_credentials(DbUser=cluster.db_user, DbName=cluster.db_name,
                                                      ClusterIdentifier=target.name, DurationSeconds=DURATION_S,
                                                      AutoCreate=False)
            user, password, expiration = answer["DbUser"], answer["DbPassword"], answer.get("Expiration")
    except (bx.BotoCoreError, bx.ClientError) as exc:
        log.debug("temporary credentials for %s failed", target.describe(), exc_info=True)
        message = aws_error_message(exc, action="getting temporary database credentials for",
                                    resource=f"{target.describe()} (user {cluster.db_user})", region=target.region)
        raise WarehouseError(f"[CLUSTER] AUTH = iam: {message}") from None
    expires_at = expiration.timestamp() if hasattr(expiration, "timestamp") else time.time() + DURATION_S
    log.info("temporary database credentials for %s issued by AWS to %s (valid %.0f min)", user,
             target.describe(), max(0.0, expires_at - time.time()) / 60)
    return Credentials(user, password, expires_at, source="iam")


def dsn_kwargs(config: Config, *, session=None) -> dict:
    """psycopg2.connect keyword arguments for [CLUSTER], with the credentials of `credentials()` and TLS verified
    (sparkify.tls: a missing trust store is a ConfigError before any credentials are fetched).

    Holds the password: never log this."""
    from sparkify import tls

    verified = tls.connect_kwargs(config)
    creds = credentials(config, session=session)
    return {**config.cluster.dsn_kwargs(), "user": creds.user, "password": creds.password, **verified}


def forget() -> None:
    """Drop the cached temporary credentials (a test starts clean; a long process may want fresh ones)."""
    _cache.clear()
