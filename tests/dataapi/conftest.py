"""Fixtures for [CLUSTER] TRANSPORT = data-api: the Data API stand-in on a fresh embedded-PostgreSQL database, a
dwh.cfg that reaches it, psycopg2.connect refused to the toolkit, and moto_server with the real data in its S3.

The stand-in runs in the test process (its threads answer boto3's HTTP requests, from this process or from a
script run as a subprocess); moto_server is a separate process (an in-process mock_aws would intercept the
requests meant for the stand-in).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.aws.test_aws_e2e import _moto_server  # noqa: F401 - the module-scoped moto_server fixture
from tests.dataapi.standin import DataApiStandIn

PROJECT = Path(__file__).resolve().parents[2]
ROLE_ARN = "arn:aws:iam::123456789012:role/test-dwh-s3-read"
BUCKET = "udacity-dend"
OPS_BUCKET = "sparkify-ops"

DATA_API_CFG = """\
[WAREHOUSE]
ENGINE = redshift

[CLUSTER]
TRANSPORT = data-api
{host_line}
DB_NAME = dev
DB_USER = awsuser
{port_line}

[IAM_ROLE]
ARN = {arn}

[S3]
LOG_DATA = s3://{bucket}/{log_prefix}
LOG_JSONPATH = s3://{bucket}/log_json_path.json
SONG_DATA = s3://{bucket}/{song_prefix}
REGION = us-west-2
{manifest_line}

[ETL]
MAXERROR = {maxerror}
LOCK_TIMEOUT = {lock_timeout}

[DWH]
DWH_CLUSTER_IDENTIFIER = test-dwh
DWH_REGION = us-west-2
{extra}"""


def write_data_api_cfg(path: Path, *, host: str | None = None, port: int | None = None, arn: str = ROLE_ARN,
                       bucket: str = BUCKET, log_prefix: str = "log_data", song_prefix: str = "song_data",
                       manifest_prefix: str | None = f"s3://{OPS_BUCKET}/manifests", maxerror: int = 0,
                       lock_timeout: int = 30, extra: str = "") -> Path:
    """A dwh.cfg for the stand-in's cluster test-dwh (named by [DWH] unless `host` is given): no password."""
    path.write_text(DATA_API_CFG.format(
        host_line=f"HOST = {host}" if host else "", port_line=f"DB_PORT = {port}" if port else "", arn=arn,
        bucket=bucket, log_prefix=log_prefix, song_prefix=song_prefix, maxerror=maxerror, lock_timeout=lock_timeout,
        manifest_line=f"MANIFEST_PREFIX = {manifest_prefix}" if manifest_prefix else "", extra=extra),
        encoding="utf-8")
    return path


class Refused(list):
    """The psycopg2.connect calls the toolkit attempted (each was refused)."""


@pytest.fixture
def no_psycopg2_connect(pg_dsn):
    """psycopg2.connect refuses, and records, every call made in this process during the test (the stand-in keeps
    its own; the test database is made before and dropped after)."""
    import psycopg2

    refused = Refused()

    def refuse(*args, **kwargs):
        refused.append((args, {k: v for k, v in kwargs.items() if k != "password"}))
        raise AssertionError("TRANSPORT = data-api must not connect to the warehouse with psycopg2")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(psycopg2, "connect", refuse)
        yield refused


@pytest.fixture
def standin(pg_dsn):
    """The Data API stand-in for cluster test-dwh, database dev (a fresh embedded-PostgreSQL database); no S3."""
    server = DataApiStandIn(pg_dsn, database="dev", cluster="test-dwh")
    yield server
    server.close()


@pytest.fixture
def data_api_env(monkeypatch, standin):
    """boto3's redshift-data requests go to the stand-in (the rest of AWS stays the tests' fake environment)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", standin.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    return standin


@pytest.fixture
def data_api_cfg(tmp_path, data_api_env) -> Path:
    """A dwh.cfg with TRANSPORT = data-api for the stand-in (target from [DWH], no password, no port)."""
    return write_data_api_cfg(tmp_path / "dwh.cfg", manifest_prefix=None)


# --------------------------------------------------------------------------------------------------
# With S3: moto_server holding the real data


def put_tree(s3, bucket: str, root: Path, prefix: str, *, limit: int | None = None) -> int:
    """Upload the files under root to s3://bucket/prefix/... (relative paths kept); returns how many."""
    files = sorted(p for p in root.rglob("*") if p.is_file())[:limit]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: s3.put_object(Bucket=bucket, Key=f"{prefix}/{p.relative_to(root).as_posix()}",
                                               Body=p.read_bytes()), files))
    return len(files)


@pytest.fixture(scope="module")
def real_s3(_moto_server, tmp_path_factory):  # noqa: F811 - the imported fixture
    """moto_server with the real data in s3://udacity-dend (log_data, song_data, log_json_path.json), a small
    part of it under small/, and an empty s3://sparkify-ops for the manifests; yields (url, s3 client)."""
    import boto3

    from tests.conftest import REAL_DATA

    if not (REAL_DATA / "log_data").is_dir():
        pytest.fail(f"real data not found at {REAL_DATA}")
    moto_server = _moto_server
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-west-2", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    for bucket in (BUCKET, OPS_BUCKET):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    put_tree(s3, BUCKET, REAL_DATA / "log_data", "log_data")
    put_tree(s3, BUCKET, REAL_DATA / "song_data", "song_data")
    put_tree(s3, BUCKET, REAL_DATA / "log_data", "small/log_data", limit=3)
    put_tree(s3, BUCKET, REAL_DATA / "song_data", "small/song_data", limit=40)
    s3.put_object(Bucket=BUCKET, Key="log_json_path.json", Body=(REAL_DATA / "log_json_path.json").read_bytes())
    yield moto_server, s3


@pytest.fixture
def s3_standin(pg_dsn, real_s3, monkeypatch):
    """The stand-in serving COPY from moto_server's S3, and the environment that reaches both: S3, IAM, STS and
    Redshift at moto_server, redshift-data at the stand-in."""
    url, _ = real_s3
    server = DataApiStandIn(pg_dsn, database="dev", cluster="test-dwh", s3_endpoint=url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    yield server
    server.close()


def script(name: str, cfg: Path, *args: str, env: dict | None = None, timeout: float = 300,
           check: bool = True) -> subprocess.CompletedProcess:
    """Run a script as a user would, in a subprocess whose psycopg2.connect refuses (tests.dataapi.guarded)."""
    proc = subprocess.run([sys.executable, "-m", "tests.dataapi.guarded", name, "--config", str(cfg), *args],
                          cwd=PROJECT, env=env if env is not None else dict(os.environ), capture_output=True,
                          text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, f"{name} exited {proc.returncode}: {proc.stderr[-3000:]}"
    return proc


def start_script(name: str, cfg: Path, *args: str) -> subprocess.Popen:
    """Start a script like `script` does, without waiting for it."""
    return subprocess.Popen([sys.executable, "-m", "tests.dataapi.guarded", name, "--config", str(cfg), *args],
                            cwd=PROJECT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
