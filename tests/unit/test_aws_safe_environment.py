"""Every test process is AWS-safe (tests/conftest.py): whatever AWS configuration the machine running the suite
has (a profile, container or web-identity credentials, a config file, an endpoint), no test sees it, and the
processes tests start inherit the same fake environment. Tests never touch real AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys

EXPECTED = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED",
            "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}


def _check(env: dict) -> None:
    aws = {k: v for k, v in env.items() if k.upper().startswith("AWS_")}
    assert set(aws) == EXPECTED, sorted(set(aws) ^ EXPECTED)
    assert (aws["AWS_ACCESS_KEY_ID"], aws["AWS_SECRET_ACCESS_KEY"], aws["AWS_EC2_METADATA_DISABLED"]) == \
        ("testing", "testing", "true")
    assert not os.path.exists(aws["AWS_CONFIG_FILE"]) and not os.path.exists(aws["AWS_SHARED_CREDENTIALS_FILE"])


def test_only_fake_aws_settings_in_the_test_process():
    _check(dict(os.environ))


def test_processes_started_by_tests_inherit_them():
    out = subprocess.run([sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    _check(json.loads(out))


def test_boto3_resolves_only_the_fake_credentials():
    import boto3

    credentials = boto3.Session().get_credentials()
    assert (credentials.method, credentials.access_key) == ("env", "testing")
