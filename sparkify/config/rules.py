"""The rules of create_tables.py, etl.py and analytics.py: [WAREHOUSE], [CLUSTER], [IAM_ROLE], [S3], [ETL] into a
Config. Each value is parsed by its key's kind (sparkify.config.keys); what depends on another key is here."""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path

from sparkify.awsnames import parse_redshift_host
from sparkify.config.dwh import parse_dwh_settings
from sparkify.config.inifile import check_keys, file_secrets
from sparkify.config.keys import PASSWORD_ENV
from sparkify.config.reader import Reader
from sparkify.config.settings import ClusterSettings, Config, DwhSettings, S3Settings
from sparkify.errors import ConfigError
from sparkify.tls import is_loopback, is_socket

_JSONPATH_KEYWORDS = ("auto", "auto ignorecase")


def parse_config(cp: configparser.ConfigParser, path: Path, environ: Mapping[str, str]) -> Config:
    """Validate a parsed file. Pure, but for the unknown-key warnings: reads nothing but `cp` and `environ`."""
    r = Reader(cp)
    r.problems += check_keys(cp, path)
    base = path.resolve().parent

    engine = _engine(r)
    data_dir = r.get("WAREHOUSE", "DATA_DIR")
    local_db_name = r.get("WAREHOUSE", "DB_NAME")
    transport = _transport(r, engine)
    cluster = _cluster(r, engine, environ, transport, base) if engine in ("postgres", "redshift") else None
    if engine == "redshift":
        arn = r.require("IAM_ROLE", "ARN", "for ENGINE = redshift (create_cluster.py writes it)", default=None)
    else:
        arn = r.raw("IAM_ROLE", "ARN")
    s3 = _s3(r, engine, base)
    maxerror = r.get("ETL", "MAXERROR")
    lock_timeout = r.get("ETL", "LOCK_TIMEOUT")

    dwh = DwhSettings()
    try:
        dwh = parse_dwh_settings(cp, environ, path=path, need_password=False, check=False)
    except ConfigError as exc:
        r.problems += exc.problems

    if r.problems:
        raise ConfigError(r.problems, path=str(path))
    return Config(
        engine=engine,
        path=path,
        data_dir=_local_path(data_dir, base),
        local_db_name=local_db_name,
        cluster=cluster,
        iam_role_arn=arn,
        s3=s3,
        maxerror=maxerror,
        lock_timeout=lock_timeout,
        dwh=dwh,
        file_secrets=file_secrets(cp),
    )


def _engine(r: Reader) -> str:
    """ENGINE, required when [CLUSTER] HOST is set (a file written for a server must say which kind it is)."""
    if not r.given("WAREHOUSE", "ENGINE") and r.given("CLUSTER", "HOST"):
        r.problem("WAREHOUSE", "ENGINE", "is required when [CLUSTER] HOST is set: write ENGINE = redshift or "
                                         "ENGINE = postgres")
        return "redshift"
    return r.get("WAREHOUSE", "ENGINE")


def _transport(r: Reader, engine: str) -> str:
    """TRANSPORT: data-api is Redshift's (and needs no password); SECRET_ARN is the Data API's."""
    transport = r.get("CLUSTER", "TRANSPORT")
    if transport == "data-api" and engine != "redshift":
        r.problem("CLUSTER", "TRANSPORT", f"= data-api needs ENGINE = redshift (the Redshift Data API), not ENGINE = "
                                          f"{engine}: set [WAREHOUSE] ENGINE = redshift, or remove TRANSPORT")
    if transport != "data-api" and r.given("CLUSTER", "SECRET_ARN"):
        r.problem("CLUSTER", "SECRET_ARN", "is used by the Data API only: set TRANSPORT = data-api, or remove "
                                           "SECRET_ARN")
    return transport


def _cluster(r: Reader, engine: str, environ: Mapping[str, str], transport: str, base: Path
             ) -> ClusterSettings:
    why = f"for ENGINE = {engine}"
    data_api = transport == "data-api"
    secret_arn = r.get("CLUSTER", "SECRET_ARN")
    if data_api:  # the warehouse is named by HOST or by [DWH]; no port, no password
        host = r.get("CLUSTER", "HOST") or ""
        db_name = r.require("CLUSTER", "DB_NAME", "for TRANSPORT = data-api (the Data API's Database)")
        db_user = r.get("CLUSTER", "DB_USER") or ""
        if not db_user and not secret_arn and not _serverless_target(r, host):
            r.problem("CLUSTER", "DB_USER", "is required for TRANSPORT = data-api on a cluster (its temporary "
                                            "credentials are for that database user), unless SECRET_ARN is set")
        port = r.get("CLUSTER", "DB_PORT") or 5439
        if r.get("CLUSTER", "AUTH") == "password":
            r.problem("CLUSTER", "AUTH", "= password cannot be used with TRANSPORT = data-api (the Data API takes no "
                                         "password): remove AUTH, or keep the password in Secrets Manager and set "
                                         "SECRET_ARN")
        # TLS settings are the psycopg2 connection's (the Data API is HTTPS, verified by botocore): read and
        # checked all the same, so a file that switches transports stays valid for both.
        ssl_mode = _ssl_mode(r, engine, host)
        root = r.get("CLUSTER", "SSL_ROOT_CERT")
        return ClusterSettings(host=host, db_name=db_name, db_user=db_user, db_port=port, auth="iam",
                               transport=transport, secret_arn=secret_arn, ssl_mode=ssl_mode,
                               ssl_root_cert=_local_path(root, base) if root else None)
    host = r.require("CLUSTER", "HOST", why)
    db_name = r.require("CLUSTER", "DB_NAME", why)
    db_user = r.require("CLUSTER", "DB_USER", why)
    port = r.require("CLUSTER", "DB_PORT", why, default=0)
    # the environment first; then [CLUSTER], then [DWH] (where create_cluster.py users put it). A missing
    # password is reported when connecting (sparkify.dbauth): --dry-run needs none.
    password = (environ.get(PASSWORD_ENV) or r.get("CLUSTER", "DB_PASSWORD") or r.get("DWH", "DWH_DB_PASSWORD")
                or "")
    auth = r.get("CLUSTER", "AUTH")
    if auth == "iam" and engine != "redshift":
        r.problem("CLUSTER", "AUTH", "= iam needs ENGINE = redshift (temporary credentials come from Redshift); "
                                     "use AUTH = password for a PostgreSQL server")
    ssl_mode = _ssl_mode(r, engine, host)
    root = r.get("CLUSTER", "SSL_ROOT_CERT")
    return ClusterSettings(host=host, db_name=db_name, db_user=db_user, db_port=port, db_password=password,
                           auth=auth, ssl_mode=ssl_mode, ssl_root_cert=_local_path(root, base) if root else None)


def _ssl_mode(r: Reader, engine: str, host: str) -> str:
    """SSL_MODE, and what TLS needs of HOST: a Redshift endpoint is never a Unix socket (libpq does no TLS
    there) and is never reached without TLS; `disable` is for a PostgreSQL server on this machine only."""
    mode = r.get("CLUSTER", "SSL_MODE")
    if engine == "redshift":
        if is_socket(host):
            r.problem("CLUSTER", "HOST", f"is a Unix socket ({host!r}): a Redshift endpoint is a host name "
                                         "(create_cluster.py writes it), and over a socket there is no TLS")
        if mode == "disable":
            r.problem("CLUSTER", "SSL_MODE", "= disable is refused for ENGINE = redshift: connections to Redshift "
                                             "are always TLS, with the certificate verified")
    elif mode == "disable" and host and not is_loopback(host):
        r.problem("CLUSTER", "SSL_MODE", f"= disable is only for a server on this machine (HOST localhost, 127.0.0.1 "
                                         f"or ::1), not {host}: the password would cross the network in plaintext; "
                                         "enable TLS on the server and set SSL_ROOT_CERT to its CA")
    return mode


def _serverless_target(r: Reader, host: str) -> bool:
    """Whether the warehouse is a workgroup: by HOST when it is an AWS endpoint name, else by [DWH] DWH_MODE."""
    parsed = parse_redshift_host(host)
    return parsed.kind == "serverless" if parsed is not None else r.get("DWH", "DWH_MODE") == "serverless"


def _s3(r: Reader, engine: str, base: Path) -> S3Settings:
    values = {}
    for name in ("LOG_DATA", "LOG_JSONPATH", "SONG_DATA"):
        value = r.require("S3", name, "(an s3:// URI" + ("" if engine == "redshift" else " or a local path") + ")")
        if value and not value.startswith("s3://"):
            if engine == "redshift":
                r.problem("S3", name, f"must be an s3:// URI for ENGINE = redshift, not {value!r}")
            elif not (name == "LOG_JSONPATH" and value.lower() in _JSONPATH_KEYWORDS):
                value = str(_local_path(value, base))
        values[name.lower()] = value
    return S3Settings(region=r.get("S3", "REGION"), endpoint_url=r.get("S3", "ENDPOINT_URL"),
                      manifest_prefix=r.get("S3", "MANIFEST_PREFIX"), **values)


def _local_path(value: str, base: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p
