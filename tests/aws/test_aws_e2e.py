"""End to end, as a user runs them: create_cluster.py then delete_cluster.py against a local moto_server, in
cluster mode and (with a local Redshift Serverless stand-in beside moto_server, which lacks that service) in
serverless mode.

Kept in its own module: an in-process mock_aws (the other modules' fixture) would intercept boto3 calls meant for
the server.
"""

from __future__ import annotations

import configparser
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.aws.conftest import FAKE_PASSWORD, write_cfg

PROJECT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    """`python -m moto.server` on 127.0.0.1, started for this module and stopped after it; yields its URL. The
    tests use different names, and each deletes what it created."""
    tmp_path = tmp_path_factory.mktemp("moto-server")
    port = _free_port()
    env = _clean_env(tmp_path)
    log = open(tmp_path / "moto_server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited with {proc.returncode}: "
                            f"{(tmp_path / 'moto_server.log').read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not answer within 30 s")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SPARKIFY_", "MOTO_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(home / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-creds"),
               AWS_EC2_METADATA_DISABLED="true", MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    return env


def test_create_then_delete_against_moto_server(moto_server, tmp_path):
    cfg = write_cfg(tmp_path / "dwh.cfg")
    original = cfg.read_text()
    env = _clean_env(tmp_path) | {"AWS_ENDPOINT_URL": moto_server}

    def run(script, *args, stdin=subprocess.DEVNULL):
        proc = subprocess.run([sys.executable, script, "--config", str(cfg), *args], cwd=PROJECT, env=env,
                              stdin=stdin, capture_output=True, text=True, timeout=120)
        assert FAKE_PASSWORD not in proc.stdout + proc.stderr
        return proc

    created = run("create_cluster.py")
    assert created.returncode == 0, created.stderr
    # moto_server lacks DescribeOrderableClusterOptions: one warning, then the classic node type
    assert created.stderr.count("does not implement DescribeOrderableClusterOptions") == 1
    lines = created.stdout.splitlines()
    assert lines[0].startswith("created        IAM role test-dwh-s3-read")
    assert lines[1].startswith("created        security group test-dwh-sg") and "from 203.0.113.7/32 only" in lines[1]
    assert lines[2].startswith("created        Redshift cluster test-dwh: available") and "encrypted" in lines[2]
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(cfg)
    assert cp["CLUSTER"]["HOST"].startswith("test-dwh.") and cp["CLUSTER"]["DB_PORT"] == "5439"
    assert cp["IAM_ROLE"]["ARN"].endswith(":role/test-dwh-s3-read")
    assert "# HOST is written by create_cluster.py" in cfg.read_text()
    assert [line for line in original.splitlines() if line not in cfg.read_text().splitlines()] \
        == ["host = old-host.example.invalid"]

    again = run("create_cluster.py")
    assert again.returncode == 0, again.stderr
    assert [line.split()[0] for line in again.stdout.splitlines()[:4]] == ["reused", "reused", "reused", "unchanged"]

    refused = run("delete_cluster.py")  # no terminal, no --yes
    assert refused.returncode == 1 and "--yes" in refused.stderr

    deleted = run("delete_cluster.py", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "removed 3 resource(s)" in deleted.stdout
    assert "deleted        Redshift cluster test-dwh: no final snapshot" in deleted.stdout

    nothing = run("delete_cluster.py", "--yes")
    assert nothing.returncode == 0, nothing.stderr
    assert "nothing to delete in us-west-2" in nothing.stdout


@pytest.fixture
def fake_serverless():
    from tests.aws.fake_serverless import FakeServerless

    fake = FakeServerless()
    yield fake
    fake.close()


def test_serverless_create_then_delete_against_moto_server(moto_server, fake_serverless, tmp_path):
    cfg = write_cfg(tmp_path / "dwh.cfg", extra="DWH_MODE = serverless\n")
    cfg.write_text(cfg.read_text().replace("DWH_CLUSTER_IDENTIFIER = test-dwh", "DWH_CLUSTER_IDENTIFIER = test-sls"))
    env = _clean_env(tmp_path) | {"AWS_ENDPOINT_URL": moto_server,
                                  "AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS": fake_serverless.url}

    def run(script, *args):
        proc = subprocess.run([sys.executable, script, "--config", str(cfg), *args], cwd=PROJECT, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        assert FAKE_PASSWORD not in proc.stdout + proc.stderr
        return proc

    created = run("create_cluster.py")
    assert created.returncode == 0, created.stderr
    host = "test-sls.123456789012.us-west-2.redshift-serverless.amazonaws.com"
    lines = created.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:5]] == [
        "created        IAM role test-sls-s3-read", "created        security group test-sls-sg",
        "created        namespace test-sls", "created        workgroup test-sls", "created        usage limit test-sls"]
    group_id = lines[1].split(": ")[1].split(",")[0]
    assert lines[2].endswith("AVAILABLE, database sparkify, encrypted with an AWS-owned key")
    assert lines[3].endswith(f"AVAILABLE, {host}:5439, base 4 RPUs, publicly accessible")
    assert lines[-1] == f"workgroup ready: {host}:5439 database sparkify user sparkify_admin"
    role_arn = "arn:aws:iam::123456789012:role/test-sls-s3-read"
    [namespace] = fake_serverless.calls("CreateNamespace")
    assert namespace == {"namespaceName": "test-sls", "adminUsername": "sparkify_admin",
                         "adminUserPassword": FAKE_PASSWORD, "dbName": "sparkify", "defaultIamRoleArn": role_arn,
                         "iamRoles": [role_arn], "tags": [{"key": "sparkify:managed", "value": "true"}]}
    [workgroup] = fake_serverless.calls("CreateWorkgroup")
    assert workgroup == {"workgroupName": "test-sls", "namespaceName": "test-sls", "baseCapacity": 4,
                         "publiclyAccessible": True, "securityGroupIds": [group_id], "port": 5439,
                         "tags": [{"key": "sparkify:managed", "value": "true"}]}
    [limit] = fake_serverless.calls("CreateUsageLimit")
    wg_arn = fake_serverless.workgroups["test-sls"]["workgroupArn"]
    assert limit == {"resourceArn": wg_arn, "usageType": "serverless-compute", "amount": 8, "period": "daily",
                     "breachAction": "deactivate"}
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(cfg)
    assert (cp["CLUSTER"]["HOST"], cp["CLUSTER"]["DB_PORT"], cp["IAM_ROLE"]["ARN"]) == (host, "5439", role_arn)

    again = run("create_cluster.py")
    assert again.returncode == 0, again.stderr
    assert [line.split()[0] for line in again.stdout.splitlines()[:6]] == ["reused"] * 5 + ["unchanged"]
    assert [op for op in fake_serverless.operations() if op.startswith("Create")] == [
        "CreateNamespace", "CreateWorkgroup", "CreateUsageLimit"]

    deleted = run("delete_cluster.py", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert [line.split(":")[0] for line in deleted.stdout.splitlines()[:4]] == [
        "deleted        workgroup test-sls", "deleted        namespace test-sls", "deleted        IAM role test-sls-s3-read",
        "deleted        security group test-sls-sg"]
    assert "removed 4 resource(s)" in deleted.stdout
    deletes = [op for op in fake_serverless.operations() if op.startswith("Delete")]
    assert deletes == ["DeleteWorkgroup", "DeleteNamespace"]
    assert fake_serverless.namespaces == {} and fake_serverless.workgroups == {}
    # (delete_cluster.py on nothing: tests/aws/test_aws_provision.py::test_serverless_delete_of_nothing)
