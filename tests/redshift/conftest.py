"""Fixtures for the Redshift-readiness tests: a realistic ENGINE = redshift config, a recording stand-in for
psycopg2 connections (to prove what would be sent, without a cluster; as strict as Redshift Serverless when the
HOST is a workgroup's endpoint), sqlfluff's Redshift grammar, and moto."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import ClassVar

import pytest

HOST = "sparkify-dwh.c1a2b3c4d5e6.us-west-2.redshift.amazonaws.com"
SERVERLESS_HOST = "sparkify-dwh.123456789012.us-west-2.redshift-serverless.amazonaws.com"
ROLE_ARN = "arn:aws:iam::123456789012:role/sparkify-dwh-s3-read"
PASSWORD = "Passw0rd-Very-Secret"

REDSHIFT_CFG = """\
[WAREHOUSE]
ENGINE = redshift

[CLUSTER]
HOST = {host}
DB_NAME = {db_name}
DB_USER = {db_user}
DB_PASSWORD = {password}
DB_PORT = {port}
{cluster_extra}
[IAM_ROLE]
ARN = {arn}

[S3]
LOG_DATA = {log_data}
LOG_JSONPATH = {log_jsonpath}
SONG_DATA = {song_data}
{region_line}

[ETL]
MAXERROR = 10
LOCK_TIMEOUT = 120
{extra}"""


def write_redshift_cfg(path: Path, *, host: str = HOST, port: int = 5439, password: str = PASSWORD,
                       db_name: str = "dev", db_user: str = "awsuser",
                       arn: str = ROLE_ARN, region: str | None = "us-west-2", bucket: str = "udacity-dend",
                       log_data: str | None = None, song_data: str | None = None, log_jsonpath: str | None = None,
                       ssl_root_cert: str | Path | None = None, extra: str = "") -> Path:
    path.write_text(REDSHIFT_CFG.format(
        host=host, port=port, password=password, arn=arn, db_name=db_name, db_user=db_user,
        cluster_extra=f"SSL_ROOT_CERT = {ssl_root_cert}\n" if ssl_root_cert else "",
        log_data=log_data or f"s3://{bucket}/log_data",
        song_data=song_data or f"s3://{bucket}/song_data",
        log_jsonpath=log_jsonpath or f"s3://{bucket}/log_json_path.json",
        region_line=f"REGION = {region}" if region else "", extra=extra,
    ), encoding="utf-8")
    return path


@pytest.fixture
def redshift_cfg(tmp_path, monkeypatch) -> Path:
    """A dwh.cfg as a real user's: ENGINE = redshift, the udacity-dend sources, an IAM role, MAXERROR 10."""
    monkeypatch.delenv("SPARKIFY_DB_PASSWORD", raising=False)
    return write_redshift_cfg(tmp_path / "dwh.cfg")


@pytest.fixture
def redshift_config(redshift_cfg):
    from sparkify.config import load_config

    return load_config(redshift_cfg, environ={})


# --------------------------------------------------------------------------------------------------
# A recording psycopg2 stand-in


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = [("c",)]
        self.rowcount = 0
        self._rows = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        from sparkify.sqlscan import provisioned_only_views
        from sparkify.warehouse import render_params

        sql = render_params(sql, params)
        views = provisioned_only_views(sql) if self.conn.serverless else []
        if views:  # as Redshift Serverless: no STL, STV, SVL or SVCS view (the statement is not recorded as sent)
            import psycopg2.errors

            self.conn.log.refused.append(sql)
            raise psycopg2.errors.FeatureNotSupported(
                f"{', '.join(views)}: provisioned-only system view, not available on Redshift Serverless (stand-in)")
        if not self.conn.autocommit and not self.conn.in_transaction:
            self.conn.log.append("begin")
            self.conn.in_transaction = True
        self.conn.log.append(sql.strip())
        self._rows = next((rows for match, rows in self.conn.results.items() if match in sql), None)
        if self.conn.fail_on and self.conn.fail_on(sql):
            import psycopg2

            raise psycopg2.InternalError("Load into table 'staging_events' failed.  Check 'stl_load_errors' "
                                         "system table for details.")

    def fetchone(self):
        if self._rows is not None:
            return self._rows[0] if self._rows else None
        return (0,) * 20  # a count (first column), the previous run's totals, a group of checks' counts

    def fetchall(self):
        return list(self._rows or [])

    def close(self):
        pass


class FakeConnection:
    """Records every statement psycopg2 would send, with BEGIN/COMMIT/ROLLBACK where psycopg2 sends them. With
    `serverless` it refuses, as a Redshift Serverless workgroup does, a statement that names a provisioned-only
    system view (STL_, STV_, SVL_, SVCS_; read as the server reads names, sparkify.sqlscan), and lists it in
    `log.refused`."""

    def __init__(self, log: list, fail_on=None, results: dict | None = None, serverless: bool = False):
        self.log = log
        self.serverless = serverless
        self.autocommit = False
        self.in_transaction = False
        self.fail_on = fail_on
        self.results = results if results is not None else {}  # a statement's text holding KEY returns VALUE

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        if self.in_transaction:
            self.log.append("commit")
        self.in_transaction = False

    def rollback(self):
        if self.in_transaction:
            self.log.append("rollback")
        self.in_transaction = False

    def close(self):
        pass


@pytest.fixture
def recorded(monkeypatch):
    """psycopg2.connect replaced by FakeConnection; yields the list of statements 'sent' (all connections).
    Set `recorded.fail_on = predicate(sql)` to make a statement fail, `recorded.results[text] = rows` for what a
    statement containing `text` returns (by default: a warehouse at the current schema version; no rows for
    fetchall, zeros for fetchone). A connection to a Redshift Serverless endpoint (its HOST) is as strict as the
    workgroup: what it refuses is in `recorded.refused`."""
    import psycopg2

    from sparkify.awsnames import parse_redshift_host

    class Log(list):
        fail_on = None
        connects: ClassVar[list] = []
        results: ClassVar[dict] = {}
        refused: ClassVar[list] = []

    import sql_queries

    log = Log()
    log.connects = []
    log.refused = []
    # a warehouse at the current schema version (what schema_tables_select and schema_version_select read)
    log.results = {"pg_catalog.pg_attribute": [(sql_queries.VERSION_TABLE, "version")],
                   "from schema_versions": [(sql_queries.SCHEMA_VERSION,)]}

    def connect(*args, **kwargs):
        log.connects.append(kwargs)
        endpoint = parse_redshift_host(kwargs.get("host"))
        return FakeConnection(log, fail_on=lambda sql: log.fail_on(sql) if log.fail_on else False,
                              results=log.results, serverless=endpoint is not None and endpoint.kind == "serverless")

    monkeypatch.setattr(psycopg2, "connect", connect)
    return log


@pytest.fixture
def no_connection(monkeypatch):
    """Any attempt to connect fails the test."""
    import psycopg2

    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not open a connection")

    monkeypatch.setattr(psycopg2, "connect", refuse)


# --------------------------------------------------------------------------------------------------
# TLS endpoints standing in for Redshift's (tests/redshift/tls_server.py)


@pytest.fixture(scope="session")
def test_ca():
    """A certificate authority made for this test session (its certificate: `test_ca.path`)."""
    import shutil
    import tempfile

    from tests.redshift.tls_server import TestCA

    directory = Path(tempfile.mkdtemp(prefix="sparkify-test-ca-"))
    yield TestCA.create(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_endpoint(test_ca, pg_server):
    """tls_endpoint(kind="verified") -> a TLS endpoint on 127.0.0.1 of that kind ("verified", "self-signed",
    "expired", "plaintext") in front of the session's embedded PostgreSQL; each kind started once."""
    from urllib.parse import parse_qs, urlparse

    from sparkify import localdb
    from tests.redshift.tls_server import TlsEndpoint

    socket_dir = parse_qs(urlparse(pg_server.uri).query)["host"][0]
    started: dict = {}

    def get(kind: str = "verified"):
        if kind not in started:
            started[kind] = TlsEndpoint(kind, test_ca, socket_dir, port=localdb.PORT)
        return started[kind]

    yield get
    for endpoint in started.values():
        endpoint.stop()


# --------------------------------------------------------------------------------------------------
# sqlfluff's Redshift grammar


@functools.lru_cache(maxsize=1)
def _linter():
    from sqlfluff.core import Linter

    return Linter(dialect="redshift")


@functools.cache
def redshift_parse(sql: str) -> tuple[list[str], list[str]]:
    """(problems, top-level statement types) of `sql` in sqlfluff's redshift dialect; parsed once per text."""
    parsed = _linter().parse_string(sql)
    problems = [v.desc() if hasattr(v, "desc") else str(v) for v in parsed.violations]
    tree = parsed.tree
    if tree is None:
        return problems or ["no parse tree"], []
    problems += [f"unparsable: {seg.raw[:120]!r}" for seg in tree.recursive_crawl("unparsable")]
    types = []
    for seg in tree.recursive_crawl("statement", recurse_into=False):
        inner = [c for c in seg.segments if not (c.is_whitespace or c.is_meta or c.is_comment)]
        types.append(inner[0].get_type() if inner else "empty")
    return problems, types


# --------------------------------------------------------------------------------------------------
# moto


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials only: no profile, no config file, no instance metadata, no endpoint override."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_REDSHIFT", "AWS_ENDPOINT_URL_STS",
                "SPARKIFY_DB_PASSWORD", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Loading AWS's ~1,000 managed policies costs seconds per test: AwsWorld attaches a customer-managed copy
    # of AmazonS3ReadOnlyAccess instead; the test that needs the real one sets this to "true" itself.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # moto's Redshift creates an EC2 backend: no AMIs


@pytest.fixture
def moto(aws_env):
    """mock_aws, as strict as AWS where the code relies on a refusal (tests/aws/strict_moto.py)."""
    from tests.aws.strict_moto import strict_mock_aws

    with strict_mock_aws():
        yield


TRUST_REDSHIFT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
S3_READ_ONLY_COPY = "s3-read-only-copy"  # a customer-managed policy with AmazonS3ReadOnlyAccess's document
S3_READ_ONLY_DOCUMENT = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*",
                                  "s3-object-lambda:List*"], "Resource": "*"}]}
JSONPATHS_18 = {"jsonpaths": [f"$['{k}']" for k in (
    "artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level", "location", "method",
    "page", "registration", "sessionId", "song", "status", "ts", "userAgent", "userId")]}


class AwsWorld:
    """What create_cluster.py and the udacity-dend bucket look like, in moto."""

    def __init__(self, *, cluster_region="us-west-2", bucket="udacity-dend", bucket_region="us-west-2",
                 role_name="sparkify-dwh-s3-read", trust=TRUST_REDSHIFT, policies=(S3_READ_ONLY_COPY,),
                 inline: dict | None = None, attach=True, jsonpaths=JSONPATHS_18, log_keys=None, song_keys=None,
                 create_role=True):
        import boto3

        self.iam = boto3.client("iam", region_name="us-east-1")
        self.role_arn = f"arn:aws:iam::123456789012:role/{role_name}"
        if create_role:
            self.role_arn = self.iam.create_role(RoleName=role_name,
                                                 AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            for arn in policies:
                if arn == S3_READ_ONLY_COPY:
                    arn = self.iam.create_policy(PolicyName=S3_READ_ONLY_COPY,
                                                 PolicyDocument=json.dumps(S3_READ_ONLY_DOCUMENT))["Policy"]["Arn"]
                self.iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
            for name, doc in (inline or {}).items():
                self.iam.put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(doc))
        self.redshift = boto3.client("redshift", region_name=cluster_region)
        cluster = self.redshift.create_cluster(
            ClusterIdentifier="sparkify-dwh", NodeType="dc2.large", MasterUsername="awsuser",
            MasterUserPassword="Passw0rdX1", ClusterType="single-node", DBName="dev",
            IamRoles=[self.role_arn] if attach else [])["Cluster"]
        self.host = self.redshift.describe_clusters(ClusterIdentifier=cluster["ClusterIdentifier"]
                                                    )["Clusters"][0]["Endpoint"]["Address"]
        self.bucket = bucket
        self.s3 = boto3.client("s3", region_name=bucket_region)
        kwargs = {} if bucket_region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": bucket_region}}
        self.s3.create_bucket(Bucket=bucket, **kwargs)
        for key in (["log_data/2018/11/2018-11-01-events.json"] if log_keys is None else log_keys):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b'{"artist": null}\n')
        for key in (["song_data/A/A/A/TRAAAAK128F9318786.json"] if song_keys is None else song_keys):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b'{"num_songs": 1}')
        if jsonpaths is not None:
            body = jsonpaths if isinstance(jsonpaths, bytes) else json.dumps(jsonpaths).encode()
            self.s3.put_object(Bucket=bucket, Key="log_json_path.json", Body=body)

    def config(self, tmp_path: Path, **overrides):
        from sparkify.config import load_config

        kwargs = {"host": self.host, "arn": self.role_arn, "bucket": self.bucket}
        kwargs.update(overrides)
        return load_config(write_redshift_cfg(tmp_path / "dwh.cfg", **kwargs), environ={})


@pytest.fixture
def udacity_bucket(moto):
    """The udacity-dend bucket in moto: two log days, two song files and the JSONPaths file (us-west-2)."""
    import boto3

    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket="udacity-dend", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for key in ("log_data/2018/11/2018-11-01-events.json", "log_data/2018/11/2018-11-02-events.json"):
        s3.put_object(Bucket="udacity-dend", Key=key, Body=b'{"artist": null}\n')
    for key in ("song_data/A/A/A/TRAAAAK128F9318786.json", "song_data/A/A/B/TRAABCL128F4286650.json"):
        s3.put_object(Bucket="udacity-dend", Key=key, Body=b'{"num_songs": 1}')
    s3.put_object(Bucket="udacity-dend", Key="log_json_path.json", Body=json.dumps(JSONPATHS_18).encode())
    return s3


@pytest.fixture
def aws_world(moto):
    """aws_world(**options) -> AwsWorld built in moto (see AwsWorld for the options)."""
    return AwsWorld


@pytest.fixture(scope="session")
def parse_redshift():
    """parse_redshift(sql) -> (problems, top-level statement types), sqlfluff's redshift dialect, cached."""
    return redshift_parse


@pytest.fixture
def write_cfg():
    """write_cfg(path, **options) -> path of a dwh.cfg with ENGINE = redshift (see write_redshift_cfg)."""
    return write_redshift_cfg


@pytest.fixture
def secrets() -> dict:
    return {"host": HOST, "role_arn": ROLE_ARN, "password": PASSWORD}


@pytest.fixture(scope="session")
def _botocore_loader():
    """One botocore data loader for the test session: a new Session re-reads the service models (about 1 s)."""
    from botocore.loaders import create_loader

    return create_loader()


@pytest.fixture
def boto_session(moto, _botocore_loader):
    """A fresh boto3 Session inside moto, sharing the session-wide model loader."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", _botocore_loader)
    return boto3.Session(botocore_session=core)
