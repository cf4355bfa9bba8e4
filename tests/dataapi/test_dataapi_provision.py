"""create_cluster.py with [CLUSTER] TRANSPORT = data-api (in moto): the warehouse is not publicly accessible and
its security group has no ingress rule, unless [DWH] asks for them; a stack made for psycopg2 loses its rule."""

from __future__ import annotations

import logging

import boto3
import pytest

from sparkify.aws.base import Timing
from sparkify.aws.provision import create_all
from sparkify.config import load_dwh_settings
from tests.aws.conftest import _empty_moto as empty_moto
from tests.aws.conftest import write_cfg

UNREACHABLE = "http://127.0.0.1:9/"  # the public-address lookup must not be needed


@pytest.fixture(scope="module")
def _mock():
    """One strict mock_aws for the module (moto loads AWS's managed policies once per start); emptied per test."""
    from tests.aws.strict_moto import strict_mock_aws

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        mp.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with strict_mock_aws():
            yield


@pytest.fixture
def aws(_mock):
    empty_moto()


FAST = Timing(delay=0, max_attempts=3, progress_every=0, retry_delay=0, retry_attempts=3, sg_retry_delay=0,
              sg_retry_attempts=3, sleep=lambda s: None)


def data_api_cfg(tmp_path, *, cidr=None, extra=""):
    path = write_cfg(tmp_path / "dwh.cfg", cidr=cidr, extra=extra)
    path.write_text(path.read_text().replace("[CLUSTER]\n", "[CLUSTER]\nTRANSPORT = data-api\n"))
    return path


def stack():
    cluster = boto3.client("redshift", region_name="us-west-2").describe_clusters(
        ClusterIdentifier="test-dwh")["Clusters"][0]
    group = boto3.client("ec2", region_name="us-west-2").describe_security_groups(
        GroupIds=[cluster["VpcSecurityGroups"][0]["VpcSecurityGroupId"]])["SecurityGroups"][0]
    return cluster, group


def test_no_public_address_and_no_ingress_rule(aws, tmp_path):
    path = data_api_cfg(tmp_path)
    report = create_all(load_dwh_settings(path), path, timing=FAST, checkip_url=UNREACHABLE)
    cluster, group = stack()
    assert cluster["PubliclyAccessible"] is False and group["IpPermissions"] == []
    assert "no ingress rule" in report.lines()[1]


def test_what_dwh_asks_for_is_kept(aws, tmp_path):
    path = data_api_cfg(tmp_path, cidr="203.0.113.7/32", extra="DWH_PUBLICLY_ACCESSIBLE = true\n")
    create_all(load_dwh_settings(path), path, timing=FAST, checkip_url=UNREACHABLE)
    cluster, group = stack()
    assert cluster["PubliclyAccessible"] is True
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["203.0.113.7/32"]


def test_a_stack_made_for_psycopg2_loses_its_ingress_rule(aws, tmp_path, caplog):
    classic = write_cfg(tmp_path / "classic.cfg", cidr="203.0.113.7/32")
    create_all(load_dwh_settings(classic), classic, timing=FAST, checkip_url=UNREACHABLE)
    assert stack()[1]["IpPermissions"] and stack()[0]["PubliclyAccessible"] is True
    path = data_api_cfg(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sparkify.aws"):
        report = create_all(load_dwh_settings(path), path, timing=FAST, checkip_url=UNREACHABLE)
    assert stack()[1]["IpPermissions"] == [] and report.lines()[1].startswith("updated")
    assert "is publicly accessible, which DWH_PUBLICLY_ACCESSIBLE (or TRANSPORT = data-api) does not need" in caplog.text
