"""End to end, as a user runs them: create_cluster.py then delete_cluster.py against a local moto_server.

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


@pytest.fixture
def moto_server(tmp_path):
    """`python -m moto.server` on 127.0.0.1, started for this test and stopped after it; yields its URL."""
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
