"""Fixtures for the provisioning tests: fake AWS credentials, moto, a dwh.cfg in tmp_path, fast timings."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from sparkify.aws.base import Timing

FAKE_PASSWORD = "Sup3rSecretPw"

CFG_TEMPLATE = """\
# Sparkify configuration (test copy)
; a semicolon comment too
[WAREHOUSE]
ENGINE = redshift

[DWH]
# the cluster
DWH_CLUSTER_IDENTIFIER = test-dwh
DWH_CLUSTER_TYPE = single-node
DWH_NUM_NODES = 1
DWH_DB = sparkify
DWH_DB_USER = sparkify_admin
DWH_DB_PASSWORD = {password}
DWH_PORT = 5439
DWH_REGION = us-west-2
{extra}
[CLUSTER]
# HOST is written by create_cluster.py
host = old-host.example.invalid
DB_PASSWORD = {password}

[S3]
LOG_DATA = s3://udacity-dend/log_data
LOG_JSONPATH = s3://udacity-dend/log_json_path.json
SONG_DATA = s3://udacity-dend/song_data
"""


def write_cfg(path: Path, *, cidr: str | None = "203.0.113.7/32", extra: str = "",
              password: str = FAKE_PASSWORD) -> Path:
    lines = extra
    if cidr is not None:
        lines = f"DWH_ALLOWED_CIDR = {cidr}\n" + lines
    path.write_text(CFG_TEMPLATE.format(password=password, extra=lines), encoding="utf-8")
    path.chmod(0o600)  # it holds a password: readable by others, the scripts would warn
    return path


def _fake_aws_env(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Fake credentials only: no profile, no config file, no instance metadata, no endpoint override."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_REDSHIFT", "AWS_ENDPOINT_URL_STS",
                "SPARKIFY_DB_PASSWORD", "AWS_REGION", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        mp.delenv(var, raising=False)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")  # not the configured region: the code must pass its own
    mp.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-aws-credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    mp.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the tests launch no instances: skip loading AMIs


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    _fake_aws_env(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def _moto_module(tmp_path_factory):
    """One mock_aws per test module: moto loads its ~1,300 AWS-managed IAM policies once per reset (about a second
    and a half), so the module shares one mock and `moto` below empties it before each test instead."""
    from tests.aws.strict_moto import strict_mock_aws

    with pytest.MonkeyPatch.context() as mp:
        _fake_aws_env(mp, tmp_path_factory.mktemp("aws-home"))
        with strict_mock_aws():
            yield


def _empty_moto(region: str = "us-west-2") -> None:
    """Delete every cluster, snapshot, parameter group, non-default security group and IAM role: a clean account for
    the next test."""
    import boto3

    redshift = boto3.client("redshift", region_name=region)
    for cluster in redshift.describe_clusters()["Clusters"]:
        redshift.delete_cluster(ClusterIdentifier=cluster["ClusterIdentifier"], SkipFinalClusterSnapshot=True)
    for snap in redshift.describe_cluster_snapshots()["Snapshots"]:
        redshift.delete_cluster_snapshot(SnapshotIdentifier=snap["SnapshotIdentifier"])
    for group in redshift.describe_cluster_parameter_groups()["ParameterGroups"]:
        if not group["ParameterGroupName"].startswith("default."):
            redshift.delete_cluster_parameter_group(ParameterGroupName=group["ParameterGroupName"])
    ec2 = boto3.client("ec2", region_name=region)
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        if group["GroupName"] != "default":
            ec2.delete_security_group(GroupId=group["GroupId"])
    iam = boto3.client("iam", region_name=region)
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        iam.delete_role(RoleName=name)


@pytest.fixture
def moto(_moto_module, aws_env):
    """mock_aws, started before any boto3 client exists, with an empty account for this test."""
    _empty_moto()
    yield


@pytest.fixture
def cfg_path(tmp_path) -> Path:
    return write_cfg(tmp_path / "dwh.cfg")


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fast(sleeps) -> Timing:
    """Timings for tests: no real sleeping (recorded instead), small bounds."""
    return Timing(delay=0, max_attempts=3, progress_every=0, retry_delay=7, retry_attempts=3,
                  sg_retry_delay=5, sg_retry_attempts=3, sleep=sleeps.append)


_shared_loader = []


def new_session(region: str = "us-west-2"):
    """A new boto3 Session (own credentials, own event handlers) that shares botocore's model loader with the
    other tests' sessions: parsing the EC2/IAM/Redshift models again for every session costs ~0.4 s."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    if _shared_loader:
        core.register_component("data_loader", _shared_loader[0])
    else:
        _shared_loader.append(core.get_component("data_loader"))
    return boto3.Session(botocore_session=core, region_name=region)


@pytest.fixture
def session(moto):
    """A boto3 Session in the configured region; tests register botocore event handlers on it."""
    return new_session()


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b"203.0.113.99\n"
    status = 200

    def do_GET(self):
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def checkip():
    """A local checkip.amazonaws.com stand-in on 127.0.0.1; yields a function (body, status) -> URL."""
    servers = []

    def serve(body: bytes = b"203.0.113.99\n", status: int = 200) -> str:
        handler = type("H", (_Handler,), {"body": body, "status": status})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def fake_response(session, event: str, responses: list) -> None:
    """Make the next calls of `event` ("redshift.DeleteCluster") answer `responses` in order without reaching
    moto: a dict with "Error" becomes a ClientError (HTTP 400), another dict a successful parsed response; when
    the list is used up, calls go through to moto again."""
    from botocore.awsrequest import AWSResponse

    queue = list(responses)

    def handler(**kwargs):
        if not queue:
            return None
        response = queue.pop(0)
        status = 400 if "Error" in response else 200
        return AWSResponse("https://fake.invalid/", status, {}, None), response

    session.events.register(f"before-call.{event}", handler)


def capture_params(session, event: str) -> list[dict]:
    """Record the parameters of every `event` call ("redshift.DeleteCluster") made by clients of `session`."""
    calls: list[dict] = []

    def handler(params, **kwargs):
        calls.append(dict(params))

    session.events.register(f"provide-client-params.{event}", handler)
    return calls
