"""What the provisioning tests share: create_all / delete_all with the tests' timings and a fresh session, and
readers of what moto holds afterwards."""

from __future__ import annotations

import configparser

import boto3

from sparkify.aws.base import Timing
from sparkify.aws.provision import create_all
from sparkify.aws.teardown import delete_all
from sparkify.config import load_dwh_settings
from tests.helpers.boto import new_session

REGION = "us-west-2"


def fast_timing(sleeps: list[float] | None = None) -> Timing:
    """Timings for tests: no real sleeping (each wait recorded in `sleeps`), small bounds."""
    return Timing(delay=0, max_attempts=3, progress_every=0, retry_delay=7, retry_attempts=3, sg_retry_delay=5,
                  sg_retry_attempts=3, sleep=(sleeps.append if sleeps is not None else lambda seconds: None))


def clients():
    """(iam, ec2, redshift) clients of moto in the tests' region."""
    return (boto3.client("iam", region_name=REGION), boto3.client("ec2", region_name=REGION),
            boto3.client("redshift", region_name=REGION))


def read_cfg(path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(path)
    return cp


def our_groups(ec2, name="test-dwh-sg"):
    return ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]


def create(cfg_path, fast, session=None, **kw):
    return create_all(load_dwh_settings(cfg_path), cfg_path, timing=fast, session=session or new_session(),
                      environ={}, **kw)


def delete(cfg_path, fast, session=None, **kw):
    return delete_all(load_dwh_settings(cfg_path, need_password=False), timing=fast,
                      session=session or new_session(), **kw)
