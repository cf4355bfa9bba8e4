"""The one fake-AWS process environment of the test suite, and the environment of the scripts tests run as
subprocesses.

No test can reach AWS, whatever the machine's configuration: every AWS_* variable (credentials, profiles,
config files, container and web-identity credentials, endpoints) is removed, fake credentials are set,
instance metadata is disabled and the config and credentials files point at files that do not exist.
SPARKIFY_DB_PASSWORD, the toolkit's one secret in the environment, is removed too. moto loads no AWS-managed
IAM policies (tests that attach one add it: strict_moto.add_aws_managed_policies) and no EC2 images.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",  # not the configured region: the code must pass its own
    "AWS_EC2_METADATA_DISABLED": "true",
}
# moto's settings, read when its backends are made: ~1,300 AWS-managed policies cost seconds per reset
MOTO_SETTINGS = {
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "false",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
REMOVED = ("SPARKIFY_DB_PASSWORD",)


def fake_aws_environment(home: Path) -> dict[str, str]:
    """The variables that make up the fake environment (see the module docstring); `home` holds no AWS files."""
    return {**FAKE_AWS, "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"), **MOTO_SETTINGS}


def aws_safe_environment(environ: MutableMapping[str, str], home: Path) -> None:
    """Make `environ` the fake environment: every AWS_* variable and REMOVED gone, fake_aws_environment set."""
    for name in [k for k in environ if k.upper().startswith("AWS_") or k in REMOVED]:
        del environ[name]
    environ.update(fake_aws_environment(home))


def script_environment(endpoints: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a script run as a subprocess: this (already fake) process environment, with the AWS
    endpoints given: {"": url} for AWS_ENDPOINT_URL, {"redshift-serverless": url} for
    AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS..."""
    env = dict(os.environ)
    for service, url in (endpoints or {}).items():
        suffix = f"_{service.upper().replace('-', '_')}" if service else ""
        env[f"AWS_ENDPOINT_URL{suffix}"] = url
    return env
