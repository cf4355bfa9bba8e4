"""etl.py --preflight: catch the classic Redshift mistakes before a load, one line per finding.

Run by `etl.py --preflight`, and at the start of every `etl.py` with ENGINE = redshift (which stops
before any ETL statement if a finding is fatal; `--skip-preflight` bypasses it). Each finding is
`ok`, `warn` (could not be checked, or may fail) or `fatal` (the load will fail: fix it first).

What is checked, and how:

* cluster.login: a real connection with [CLUSTER] (10 s timeout; the password, or temporary credentials
  from IAM with AUTH = iam, sparkify.dbauth). psycopg2's error is explained:
  wrong host (does not resolve), no answer (security group not open to this machine's IP, or the
  cluster is not publicly accessible / paused), wrong port, wrong password or user, wrong database.
  With TRANSPORT = data-api, the tables query below over the Data API instead (no connection is opened):
  its first request proves the AWS credentials, the warehouse, the database and the user.
* tables: information_schema.columns of the current schema (the same query on Redshift and
  PostgreSQL) against the columns sql_queries' CREATE statements declare, in order; a missing table
  or a different column list is fatal ("run create_tables.py").
* aws.credentials: the IAM and S3 checks use *your* AWS credentials (boto3's default chain,
  AWS_ENDPOINT_URL honoured). Without any, they are skipped with a warning: etl.py itself needs none.
* iam.role: the role of [IAM_ROLE] ARN exists (iam:GetRole) and its trust policy lets
  redshift.amazonaws.com assume it.
* iam.attached: the cluster, found by its endpoint address (= [CLUSTER] HOST) or by
  [DWH] DWH_CLUSTER_IDENTIFIER in the region of the host name (or [DWH] DWH_REGION), lists the role
  in its IamRoles (redshift:DescribeClusters). For a Redshift Serverless workgroup, the COPY ... NOLOAD
  below is the check (a warning says so).
* s3.region: each bucket's region (s3:GetBucketLocation, else the x-amz-bucket-region header of
  HeadBucket) equals [S3] REGION; when REGION is not set, equals the cluster's region (COPY assumes
  the cluster's region unless told otherwise: the most common COPY failure).
* s3.log_data, s3.song_data: the prefixes hold at least one object (s3:ListBucket, one key).
* s3.log_jsonpath: the object exists, is a JSONPaths file Redshift accepts
  (sparkify.copy.jsonpaths) and has exactly as many paths as staging_events has columns.
* iam.s3_read: the role's own policies (attached managed and inline, and its permissions boundary
  if any) allow s3:ListBucket on each bucket and s3:GetObject on an object of each prefix and on the
  JSONPaths file. This is a static evaluation of those policy documents (wildcards, Deny,
  NotAction/NotResource); statements with a Condition make the result a warning. Not evaluated:
  bucket policies, SCPs, session policies, KMS key policies (IAM's policy simulator would, but it is
  not available in every account or in moto, so one tested path is used).
* copy.<table> (etl.py --preflight only, when the tables exist): each COPY of etl.py with NOLOAD, in a
  transaction that is rolled back (sparkify.noload): Redshift itself proves what the lines above can
  only explain (attachment, bucket policies, KMS, region); on the PostgreSQL engines the emulated COPY
  reads and converts everything and reports rejections, inserting nothing. The preflight that starts
  every Redshift etl.py leaves it out: it would read all the sources twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sql_queries
from sparkify.aws.policies import evaluate_policies, policy_document, trusts_redshift  # noqa: F401 - re-exported
from sparkify.awsnames import parse_redshift_host, split_s3
from sparkify.config import PASSWORD_ENV, ClusterSettings, Config
from sparkify.errors import SparkifyError

log = logging.getLogger(__name__)

LEVELS = ("ok", "warn", "fatal")
_LABELS = {"ok": "ok", "warn": "WARN", "fatal": "FATAL"}
CONNECT_TIMEOUT_S = 10


class PreflightError(SparkifyError):
    """At least one preflight finding is fatal: the load would fail."""

    def __init__(self, message: str, findings: list | None = None):
        super().__init__(message)
        self.findings = list(findings or [])


@dataclass(frozen=True)
class Finding:
    level: str  # "ok" | "warn" | "fatal"
    check: str
    message: str

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, not {self.level!r}")

    def line(self) -> str:
        return f"{_LABELS[self.level]:<5} {self.check}: {self.message}"


def ok(check: str, message: str) -> Finding:
    return Finding("ok", check, message)


def warn(check: str, message: str) -> Finding:
    return Finding("warn", check, message)


def fatal(check: str, message: str) -> Finding:
    return Finding("fatal", check, message)


# --------------------------------------------------------------------------------------------------
# Pure helpers


_CREATE_RE = re.compile(r"^\s*create\s+(?:temp(?:orary)?\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w.\"]+)\s*\(",
                        re.IGNORECASE)
_CONSTRAINT_RE = re.compile(r"^(?:constraint|primary\s+key|foreign\s+key|unique|check|distkey|sortkey|"
                            r"compound\s+sortkey|interleaved\s+sortkey)\b", re.IGNORECASE)


def ddl_columns(ddl: str) -> tuple[str, list[str]]:
    """('table', [column, ...]) declared by a CREATE TABLE statement, in order (constraints skipped)."""
    m = _CREATE_RE.match(ddl)
    if not m:
        raise ValueError(f"not a CREATE TABLE statement: {ddl.strip()[:60]!r}")
    table = m.group(1).split(".")[-1].strip('"').lower()
    depth, start, items = 1, m.end(), []
    pos = start
    for pos in range(m.end(), len(ddl)):
        ch = ddl[pos]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                items.append(ddl[start:pos])
                break
        elif ch == "," and depth == 1:
            items.append(ddl[start:pos])
            start = pos + 1
    else:
        raise ValueError(f"unbalanced parentheses in CREATE TABLE {table}")
    columns = []
    for item in items:
        text = item.strip()
        if not text or _CONSTRAINT_RE.match(text):
            continue
        columns.append(text.split()[0].strip('"').lower())
    return table, columns


def expected_tables() -> dict[str, list[str]]:
    """Every table create_tables.py makes -> its columns in order (from sql_queries.create_table_queries)."""
    return dict(ddl_columns(ddl.sql) for ddl in sql_queries.create_table_queries)


def staging_events_column_count() -> int:
    return len(ddl_columns(sql_queries.staging_events_table_create.sql)[1])


def compare_columns(table: str, actual: Sequence[str] | None, expected: Sequence[str]) -> Finding | None:
    """None when `actual` (None: no such table) equals `expected`, else the fatal finding."""
    check = f"tables.{table}"
    if actual is None:
        return fatal(check, f"table {table} does not exist: run create_tables.py")
    if list(actual) == list(expected):
        return None
    missing = [c for c in expected if c not in actual]
    extra = [c for c in actual if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected {', '.join(extra)}")
    if not parts:
        parts.append(f"columns in another order ({', '.join(actual)})")
    return fatal(check, f"table {table} differs from sql_queries: {'; '.join(parts)}: run create_tables.py "
                        "(it drops and recreates every table: all data is lost)")


def explain_connection_error(message: str, cluster: ClusterSettings) -> str:
    """What a psycopg2.OperationalError's text means for [CLUSTER], and what to do about it."""
    text = message.lower()
    host, port, user = cluster.host, cluster.db_port, cluster.db_user
    if "password authentication failed" in text:
        return (f"wrong password for user {user}: check [CLUSTER] DB_PASSWORD (the environment variable "
                f"{PASSWORD_ENV} wins when set) and DB_USER")
    if any(s in text for s in ("could not translate host name", "name or service not known",
                               "nodename nor servname", "temporary failure in name resolution",
                               "no address associated")):
        return (f"wrong host: {host} does not resolve; check [CLUSTER] HOST (create_cluster.py writes it; "
                "a deleted cluster's endpoint no longer resolves)")
    if "timeout expired" in text or "timed out" in text:
        return (f"no answer from {host}:{port} within {CONNECT_TIMEOUT_S} s: the cluster's security group does not "
                f"allow this machine's IP address on TCP {port}, or the cluster is not publicly accessible, "
                "paused or still being created")
    if "connection refused" in text:
        return f"{host} refuses connections on port {port}: check [CLUSTER] DB_PORT (Redshift's default is 5439)"
    if re.search(r'database ".*" does not exist', text):
        return "no such database: check [CLUSTER] DB_NAME (create_cluster.py writes it)"
    if re.search(r'(role|user) ".*" does not exist', text):
        return f"no such user {user}: check [CLUSTER] DB_USER"
    if "no pg_hba.conf entry" in text:
        return "the server does not accept this user, database or address (pg_hba.conf)"
    return "check [CLUSTER] HOST, DB_PORT, DB_NAME, DB_USER and the password"


def cluster_region_from_host(host: str | None) -> str | None:
    """`<id>.<hash>.<region>.redshift.amazonaws.com` (or a serverless workgroup's) -> region; None for any other host."""
    parsed = parse_redshift_host(host)
    return parsed.region if parsed else None


def location_to_region(constraint: str | None) -> str:
    """GetBucketLocation's LocationConstraint -> region (empty means us-east-1, 'EU' eu-west-1)."""
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def region_finding(bucket: str, bucket_region: str, configured: str | None, cluster_region: str | None) -> Finding:
    """Is COPY told the bucket's region? REGION must equal it; without REGION, the cluster's region must."""
    check = "s3.region"
    if configured:
        if configured == bucket_region:
            return ok(check, f"bucket {bucket} is in {bucket_region} = [S3] REGION")
        return fatal(check, f"bucket {bucket} is in {bucket_region} but [S3] REGION = {configured}: "
                            f"set REGION = {bucket_region}")
    if cluster_region is None:
        return warn(check, f"bucket {bucket} is in {bucket_region}, [S3] REGION is not set and the cluster's region "
                           f"is unknown: set REGION = {bucket_region} to be sure")
    if cluster_region == bucket_region:
        return ok(check, f"bucket {bucket} is in {bucket_region}, like the cluster ([S3] REGION not needed)")
    return fatal(check, f"bucket {bucket} is in {bucket_region}, the cluster in {cluster_region}, and [S3] REGION "
                        f"is not set: set REGION = {bucket_region}")


def jsonpaths_finding(location: str, data: bytes, expected: int) -> Finding:
    """Is `data` a JSONPaths file Redshift accepts, with one path per staging_events column?"""
    from sparkify.copy.jsonpaths import JsonPathsError, parse_jsonpaths_file

    check = "s3.log_jsonpath"
    try:
        paths = parse_jsonpaths_file(data, location)
    except JsonPathsError as exc:
        return fatal(check, f"{exc}: check [S3] LOG_JSONPATH")
    if paths is None:
        return fatal(check, f'{location} has no "jsonpaths" member, so COPY would map JSON keys to columns by name '
                            "('auto') and leave most staging_events columns empty: check [S3] LOG_JSONPATH")
    if len(paths) != expected:
        return fatal(check, f"{location} has {len(paths)} paths but staging_events has {expected} columns "
                            "(COPY maps paths to columns by position): check [S3] LOG_JSONPATH")
    return ok(check, f"{location} has {len(paths)} JSONPaths = the {expected} columns of staging_events")


# IAM policy documents are evaluated statically by sparkify.aws.policies (evaluate_policies, trusts_redshift).


def role_name(arn: str) -> str:
    return arn.split(":role/", 1)[1].rsplit("/", 1)[-1]


def arn_account(arn: str) -> str:
    return arn.split(":")[4]


# --------------------------------------------------------------------------------------------------
# The database checks (any engine)


TABLES_QUERY = """
select table_name, column_name
from information_schema.columns
where table_schema = current_schema()
  and table_name in %(tables)s
order by table_name, ordinal_position
""".strip()


def tables_query_params() -> dict:
    return {"tables": tuple(expected_tables())}


def _connect(config: Config):
    import psycopg2

    from sparkify import dbauth

    if config.engine == "local":
        from sparkify.warehouse import Warehouse

        return Warehouse(config).connect()
    return psycopg2.connect(**dbauth.dsn_kwargs(config), connect_timeout=CONNECT_TIMEOUT_S,
                            application_name="sparkify-preflight")


def check_database(config: Config) -> list[Finding]:
    """cluster.login, then the tables against sql_queries' DDL."""
    import psycopg2

    from sparkify.errors import ConfigError, WarehouseError

    c = config.cluster
    if c is not None and c.data_api:
        return check_data_api(config)
    where = (f"{c.db_name} at {c.host}:{c.db_port} as {c.db_user}" if c is not None
             else f"the embedded PostgreSQL ({config.data_dir})")
    try:
        conn = _connect(config)
    except psycopg2.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [fatal("cluster.login", f"cannot log in to {where}: {first}: {explain_connection_error(str(exc), c)}")]
    except (WarehouseError, ConfigError) as exc:
        return [fatal("cluster.login", str(exc))]
    user = getattr(getattr(conn, "info", None), "user", None)
    if c is not None and user and user != c.db_user:  # temporary IAM credentials name their own user
        where = f"{c.db_name} at {c.host}:{c.db_port} as {user} (temporary credentials from IAM)"
    findings = [ok("cluster.login", f"logged in to {where}")]
    try:
        with conn.cursor() as cur:
            cur.execute(TABLES_QUERY, tables_query_params())
            actual: dict[str, list[str]] = {}
            for table, column in cur.fetchall():
                actual.setdefault(table, []).append(column)
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return findings + [warn("tables", f"cannot read information_schema.columns: {first}")]
    finally:
        conn.rollback()
        conn.close()
    return findings + tables_findings(actual)


def tables_findings(actual: Mapping[str, list[str]]) -> list[Finding]:
    """The tables found (table -> its columns) against sql_queries' DDL."""
    expected = expected_tables()
    problems = [f for t, cols in expected.items() if (f := compare_columns(t, actual.get(t), cols))]
    if problems:
        return problems
    return [ok("tables", f"the {len(expected)} tables exist with the expected columns")]


def check_data_api(config: Config) -> list[Finding]:
    """cluster.login and tables over the Data API ([CLUSTER] TRANSPORT = data-api): the tables query is the first
    statement, so it proves the credentials, the warehouse and the database; no connection is opened."""
    import psycopg2

    from sparkify.dataapi.connection import target_of
    from sparkify.errors import WarehouseError
    from sparkify.warehouse import Warehouse

    target = target_of(config)
    conn = Warehouse(config).connect()
    actual: dict[str, list[str]] = {}
    try:
        with conn.cursor() as cur:
            cur.execute(TABLES_QUERY, tables_query_params(), name="preflight tables")
            for table, column in cur.fetchall():
                actual.setdefault(table, []).append(column)
    except WarehouseError as exc:
        return [fatal("cluster.login", f"cannot run statements on the {target.describe()}: {exc}")]
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [ok("cluster.login", f"statements run on the {target.describe()}"),
                warn("tables", f"cannot read information_schema.columns: {first}")]
    finally:
        conn.rollback()
        conn.close()
    return [ok("cluster.login", f"statements run on the {target.describe()} (no connection to its port)"),
            *tables_findings(actual)]


# --------------------------------------------------------------------------------------------------
# The AWS checks (ENGINE = redshift)


def _botocore_config():
    from botocore.config import Config as BotoConfig

    return BotoConfig(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})


def _error_code(exc) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


def _dwh_setting(config: Config, key: str) -> str | None:
    """[DWH] DWH_CLUSTER_IDENTIFIER or DWH_REGION when the configuration file sets it (None: not set)."""
    if key not in config.dwh.given:
        return None
    return {"DWH_CLUSTER_IDENTIFIER": config.dwh.cluster_identifier, "DWH_REGION": config.dwh.region}[key]


class _Aws:
    """boto3 clients from one session, with short timeouts (created on first use)."""

    def __init__(self, session=None):
        if session is None:
            import boto3

            session = boto3.Session()
        self.session = session
        self._clients: dict = {}

    def client(self, service: str, region: str | None = None):
        key = (service, region)
        if key not in self._clients:
            region = region or self.session.region_name or "us-east-1"
            self._clients[key] = self.session.client(service, region_name=region, config=_botocore_config())
        return self._clients[key]


def _aws_errors():
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def check_credentials(aws: _Aws) -> tuple[list[Finding], str | None]:
    """(findings, account) — account None means: skip the AWS checks."""
    from botocore.exceptions import NoCredentialsError

    ClientError, BotoCoreError = _aws_errors()
    try:
        identity = aws.client("sts").get_caller_identity()
    except NoCredentialsError:
        return [warn("aws.credentials", "no AWS credentials found: the IAM role and S3 checks are skipped (they use "
                                        "your credentials; etl.py itself needs none)")], None
    except (ClientError, BotoCoreError) as exc:
        return [warn("aws.credentials", f"AWS did not accept your credentials ({_error_code(exc)}): the IAM role and "
                                        "S3 checks are skipped")], None
    account = identity["Account"]
    return [ok("aws.credentials", f"checking as {identity.get('Arn', account)}")], account


def check_role(aws: _Aws, arn: str, account: str) -> tuple[list[Finding], dict | None]:
    ClientError, BotoCoreError = _aws_errors()
    name = role_name(arn)
    if arn_account(arn) != account:
        return [warn("iam.role", f"the role is in account {arn_account(arn)} but your credentials are for "
                                 f"{account}: the role checks are skipped")], None
    try:
        role = aws.client("iam").get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if _error_code(exc) == "NoSuchEntity":
            return [fatal("iam.role", f"role {name} does not exist in account {account}: check [IAM_ROLE] ARN "
                                      "(create_cluster.py creates the role and writes it)")], None
        return [warn("iam.role", f"cannot read role {name} ({_error_code(exc)}): not checked")], None
    except BotoCoreError as exc:
        return [warn("iam.role", f"cannot reach IAM ({exc}): not checked")], None
    if role.get("Arn") != arn:
        return [fatal("iam.role", f"[IAM_ROLE] ARN = {arn}, but the role named {name} is {role.get('Arn')}: "
                                  "copy its ARN")], None
    if not trusts_redshift(role.get("AssumeRolePolicyDocument", {})):
        return [fatal("iam.role", f"role {name} exists but Redshift cannot assume it: its trust policy must allow "
                                  "redshift.amazonaws.com to sts:AssumeRole")], role
    return [ok("iam.role", f"role {name} exists and Redshift may assume it")], role


def find_cluster(aws: _Aws, region: str | None, host: str, identifier: str | None) -> dict | None:
    client = aws.client("redshift", region)
    ClientError, _ = _aws_errors()
    if identifier:
        try:
            clusters = client.describe_clusters(ClusterIdentifier=identifier)["Clusters"]
            return clusters[0] if clusters else None
        except ClientError as exc:
            if _error_code(exc) == "ClusterNotFound":
                return None
            raise
    for page in client.get_paginator("describe_clusters").paginate():
        for cluster in page.get("Clusters", []):
            address = (cluster.get("Endpoint") or {}).get("Address", "")
            if address.lower() == host.lower():
                return cluster
    return None


def check_attached(aws: _Aws, config: Config, region: str | None) -> list[Finding]:
    ClientError, BotoCoreError = _aws_errors()
    arn = config.iam_role_arn
    host = config.cluster.host
    parsed = parse_redshift_host(host)
    if (parsed is not None and parsed.kind == "serverless") or (parsed is None and config.dwh.serverless):
        return [warn("iam.attached", f"the warehouse is a Redshift Serverless workgroup: whether role {role_name(arn)} "
                                     "is attached to its namespace is proven by etl.py --preflight's COPY ... NOLOAD")]
    identifier = _dwh_setting(config, "DWH_CLUSTER_IDENTIFIER")
    what = f"cluster {identifier}" if identifier else f"a cluster with endpoint {host}"
    try:
        cluster = find_cluster(aws, region, host, identifier)
    except (ClientError, BotoCoreError) as exc:
        return [warn("iam.attached", f"cannot list clusters ({_error_code(exc)}): not checked")]
    if cluster is None:
        where = region or "the default region"
        return [warn("iam.attached", f"{what} is not visible to your AWS credentials in {where}: cannot check that "
                                     "the role is attached")]
    cid = cluster["ClusterIdentifier"]
    roles = {r.get("IamRoleArn"): r.get("ApplyStatus") for r in cluster.get("IamRoles", [])}
    if arn not in roles:
        others = f" (attached: {', '.join(roles)})" if roles else " (it has no role)"
        return [fatal("iam.attached", f"role {role_name(arn)} is not attached to cluster {cid}{others}: "
                                      f"aws redshift modify-cluster-iam-roles --cluster-identifier {cid} "
                                      f"--add-iam-roles {arn}")]
    if roles[arn] != "in-sync":
        return [warn("iam.attached", f"role {role_name(arn)} is being attached to cluster {cid} "
                                     f"(ApplyStatus {roles[arn]}): retry in a minute")]
    return [ok("iam.attached", f"role {role_name(arn)} is attached to cluster {cid}")]


def bucket_region(aws: _Aws, bucket: str) -> tuple[str | None, str | None]:
    """(region, None) or (None, why not)."""
    ClientError, BotoCoreError = _aws_errors()
    s3 = aws.client("s3", "us-east-1")
    try:
        return location_to_region(s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")), None
    except ClientError as exc:
        if _error_code(exc) == "NoSuchBucket":
            return None, "NoSuchBucket"
        first = _error_code(exc)
    except BotoCoreError as exc:
        return None, str(exc)
    try:  # GetBucketLocation is for the bucket's owner; HeadBucket's answer names the region even when denied
        headers = s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as exc:
        headers = (exc.response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    except BotoCoreError:
        headers = {}
    region = headers.get("x-amz-bucket-region")
    return (region, None) if region else (None, first)


def _list_one(aws: _Aws, region: str | None, bucket: str, prefix: str) -> tuple[str | None, str | None]:
    """(first key, None), (None, None) when empty, or (None, error code)."""
    ClientError, BotoCoreError = _aws_errors()
    try:
        page = aws.client("s3", region).list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except ClientError as exc:
        return None, _error_code(exc)
    except BotoCoreError as exc:
        return None, str(exc)
    contents = page.get("Contents") or []
    return (contents[0]["Key"], None) if contents else (None, None)


def check_prefix(aws: _Aws, regions: Mapping[str, str | None], key: str, url: str) -> tuple[Finding, str | None]:
    """s3.<key>: the prefix holds objects. Returns the finding and a key found under the prefix."""
    check = f"s3.{key.lower()}"
    bucket, prefix = split_s3(url)
    first, error = _list_one(aws, regions.get(bucket), bucket, prefix)
    if first:
        return ok(check, f"{url} holds objects (e.g. {first})"), first
    if error is None:
        return fatal(check, f"no object under {url}: check [S3] {key}"), None
    if error == "NoSuchBucket":
        return fatal(check, f"bucket {bucket} does not exist: check [S3] {key}"), None
    return warn(check, f"cannot list {url} with your AWS credentials ({error}): not checked"), None


def check_jsonpath(aws: _Aws, regions: Mapping[str, str | None], url: str) -> Finding:
    ClientError, BotoCoreError = _aws_errors()
    bucket, key = split_s3(url)
    try:
        data = aws.client("s3", regions.get(bucket)).get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = _error_code(exc)
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            return fatal("s3.log_jsonpath", f"{url} does not exist: check [S3] LOG_JSONPATH")
        return warn("s3.log_jsonpath", f"cannot read {url} with your AWS credentials ({code}): not checked")
    except BotoCoreError as exc:
        return warn("s3.log_jsonpath", f"cannot read {url} ({exc}): not checked")
    return jsonpaths_finding(url, data, staging_events_column_count())


def role_policy_documents(aws: _Aws, role: dict) -> tuple[list, list]:
    """(identity policy documents, permissions boundary documents) of a role (raises ClientError)."""
    iam = aws.client("iam")
    name = role["RoleName"]
    docs: list = []
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for policy in page.get("AttachedPolicies", []):
            docs.append(_managed_policy_document(iam, policy["PolicyArn"]))
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page.get("PolicyNames", []):
            docs.append(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
    boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return docs, ([_managed_policy_document(iam, boundary)] if boundary else [])


def _managed_policy_document(iam, policy_arn: str):
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]


def required_s3_access(config: Config, sample_keys: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(action, resource ARN) pairs COPY needs: ListBucket on each bucket, GetObject on an object of each
    prefix (a key found there, else the prefix itself) and on the JSONPaths file."""
    needs: list[tuple[str, str]] = []
    for key in ("LOG_DATA", "SONG_DATA"):
        bucket, prefix = split_s3(getattr(config.s3, key.lower()))
        needs.append(("s3:ListBucket", f"arn:aws:s3:::{bucket}"))
        needs.append(("s3:GetObject", f"arn:aws:s3:::{bucket}/{sample_keys.get(key) or prefix}"))
    if config.s3.log_jsonpath.startswith("s3://"):
        bucket, key = split_s3(config.s3.log_jsonpath)
        needs.append(("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}"))
    return list(dict.fromkeys(needs))


def check_role_can_read(aws: _Aws, config: Config, role: dict, sample_keys: Mapping[str, str | None]) -> Finding:
    ClientError, BotoCoreError = _aws_errors()
    name = role["RoleName"]
    try:
        docs, boundary = role_policy_documents(aws, role)
    except (ClientError, BotoCoreError) as exc:
        return warn("iam.s3_read", f"cannot read the policies of role {name} ({_error_code(exc)}): not checked")
    denied, conditional = [], []
    for action, resource in required_s3_access(config, sample_keys):
        verdict = evaluate_policies(docs, action, resource)
        if boundary and verdict == "allow":
            verdict = evaluate_policies(boundary, action, resource)
        if verdict in ("deny", "none"):
            denied.append(f"{action} on {resource}" + (" (denied)" if verdict == "deny" else ""))
        elif verdict == "conditional":
            conditional.append(f"{action} on {resource}")
    if denied:
        return fatal("iam.s3_read", f"role {name} may not {denied[0]}"
                                    + (f" (and {len(denied) - 1} more)" if len(denied) > 1 else "")
                                    + ": attach AmazonS3ReadOnlyAccess or a policy allowing s3:GetObject and "
                                      "s3:ListBucket on the bucket")
    if conditional:
        return warn("iam.s3_read", f"role {name} may {conditional[0]} only under a Condition the preflight does "
                                   "not evaluate")
    buckets = sorted({split_s3(getattr(config.s3, k))[0] for k in ("log_data", "song_data", "log_jsonpath")
                      if getattr(config.s3, k).startswith("s3://")})
    return ok("iam.s3_read", f"role {name}'s policies allow s3:ListBucket and s3:GetObject on the configured "
                             f"prefixes of {', '.join(buckets)}")


def check_aws(config: Config, *, session=None) -> list[Finding]:
    """The IAM role and S3 checks (ENGINE = redshift), with the caller's AWS credentials."""
    aws = _Aws(session)
    findings, account = check_credentials(aws)
    if account is None:
        return findings
    cluster_region = cluster_region_from_host(config.cluster.host) or _dwh_setting(config, "DWH_REGION")

    role = None
    if config.iam_role_arn:
        role_findings, role = check_role(aws, config.iam_role_arn, account)
        findings += role_findings
        if role is not None or arn_account(config.iam_role_arn) == account:
            findings += check_attached(aws, config, cluster_region)

    urls = {"LOG_DATA": config.s3.log_data, "SONG_DATA": config.s3.song_data, "LOG_JSONPATH": config.s3.log_jsonpath}
    buckets = list(dict.fromkeys(split_s3(u)[0] for u in urls.values() if u.startswith("s3://")))
    regions: dict[str, str | None] = {}
    for bucket in buckets:
        region, error = bucket_region(aws, bucket)
        regions[bucket] = region
        if region is not None:
            findings.append(region_finding(bucket, region, config.s3.region, cluster_region))
        elif error == "NoSuchBucket":
            findings.append(fatal("s3.region", f"bucket {bucket} does not exist: check [S3]"))
        else:
            findings.append(warn("s3.region", f"cannot find the region of bucket {bucket} ({error}): not checked"))

    sample_keys: dict[str, str | None] = {}
    for key in ("LOG_DATA", "SONG_DATA"):
        finding, sample_keys[key] = check_prefix(aws, regions, key, urls[key])
        findings.append(finding)
    if urls["LOG_JSONPATH"].startswith("s3://"):
        findings.append(check_jsonpath(aws, regions, urls["LOG_JSONPATH"]))
    if role is not None:
        findings.append(check_role_can_read(aws, config, role, sample_keys))
    return findings


# --------------------------------------------------------------------------------------------------
# Running it


def check_noload(config: Config) -> list[Finding]:
    """copy.<table>: each COPY of etl.py with NOLOAD, rolled back (sparkify.noload), one finding per table."""
    import psycopg2

    from sparkify import noload
    from sparkify.errors import SparkifyError

    try:
        results = noload.run_all(config)
    except (psycopg2.Error, SparkifyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [warn("copy", f"COPY ... NOLOAD not run: {first}")]
    findings = []
    engine = "Redshift" if config.engine == "redshift" else "the emulated COPY"
    for r in results:
        check = f"copy.{r.table}"
        if r.outcome == "ok":
            findings.append(ok(check, f"COPY ... NOLOAD from {r.source}: {engine} read it, {r.message}; nothing "
                                      "was loaded"))
        elif r.outcome == "rejected":
            findings.append(warn(check, f"COPY ... NOLOAD from {r.source}: {r.message}"))
        elif r.outcome == "skipped":
            findings.append(warn(check, r.message))
        else:
            why = (": Redshift itself refused the load (the iam.* and s3.* lines above explain what can be seen "
                   "without it)" if config.engine == "redshift" else "")
            findings.append(fatal(check, f"COPY ... NOLOAD failed: {r.message}{why}"))
    return findings


def run_preflight(config: Config, *, session=None, noload: bool = False) -> list[Finding]:
    """Every check that applies to config's engine, in order. Never raises for a finding.

    `noload`: also run each COPY with NOLOAD (etl.py --preflight; not the preflight before every load, which
    would read all the sources twice), when the tables exist."""
    findings = check_database(config)
    if config.engine == "redshift":
        findings += check_aws(config, session=session)
    else:
        log.info("ENGINE = %s: only the database checks apply (the IAM and S3 checks are for ENGINE = redshift)",
                 config.engine)
    if noload:
        if any(f.check == "cluster.login" and f.level == "fatal" for f in findings):
            findings.append(warn("copy", "COPY ... NOLOAD not run: cannot log in"))
        elif any(f.check.startswith("tables") and f.level == "fatal" for f in findings):
            findings.append(warn("copy", "COPY ... NOLOAD not run: the tables are missing or differ"))
        else:
            findings += check_noload(config)
    return findings


def format_findings(findings: Sequence[Finding]) -> str:
    return "\n".join(f.line() for f in findings)


def exit_code(findings: Sequence[Finding]) -> int:
    return 1 if any(f.level == "fatal" for f in findings) else 0


def summary(findings: Sequence[Finding]) -> str:
    counts = {level: sum(1 for f in findings if f.level == level) for level in LEVELS}
    return f"preflight: {counts['ok']} ok, {counts['warn']} warnings, {counts['fatal']} fatal"


def report(config: Config, *, session=None) -> tuple[str, int]:
    """etl.py --preflight: (one line per finding, exit code 1 if any is fatal); the summary goes to the log.

    Includes each COPY with NOLOAD, rolled back."""
    findings = run_preflight(config, session=session, noload=True)
    log.info("%s", summary(findings))
    return format_findings(findings), exit_code(findings)


def require_ok(config: Config, *, session=None) -> list[Finding]:
    """The preflight before a Redshift load: log every finding; PreflightError if any is fatal."""
    findings = run_preflight(config, session=session)
    for f in findings:
        {"ok": log.info, "warn": log.warning, "fatal": log.error}[f.level]("preflight %s", f.line())
    log.info("%s", summary(findings))
    fatals = [f for f in findings if f.level == "fatal"]
    if fatals:
        first = fatals[0]
        more = f" (and {len(fatals) - 1} more)" if len(fatals) > 1 else ""
        raise PreflightError(f"preflight: {first.check}: {first.message}{more}; nothing was loaded "
                             "(etl.py --preflight lists every finding; --skip-preflight bypasses it)", findings)
    return findings
