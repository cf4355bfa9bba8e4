"""create_cluster.py with [CLUSTER] TRANSPORT = data-api (in moto): the warehouse is not publicly accessible and
its security group has no ingress rule, unless [DWH] asks for them; a stack made for psycopg2 loses its rule."""

from __future__ import annotations

import logging

import boto3

from sparkify.aws.provision import create_all
from sparkify.config import load_dwh_settings
from tests.helpers.dwhcfg import DwhCfg

UNREACHABLE = "http://127.0.0.1:9/"  # the public-address lookup must not be needed


def data_api_cfg(tmp_path, *, cidr=None, **dwh):
    cfg = DwhCfg.provisioning(cidr=cidr).set("DWH", **dwh).set("CLUSTER", TRANSPORT="data-api")
    return cfg.write(tmp_path / "dwh.cfg")


def stack():
    cluster = boto3.client("redshift", region_name="us-west-2").describe_clusters(
        ClusterIdentifier="test-dwh")["Clusters"][0]
    group = boto3.client("ec2", region_name="us-west-2").describe_security_groups(
        GroupIds=[cluster["VpcSecurityGroups"][0]["VpcSecurityGroupId"]])["SecurityGroups"][0]
    return cluster, group


def test_no_public_address_and_no_ingress_rule(moto, tmp_path, fast):
    path = data_api_cfg(tmp_path)
    report = create_all(load_dwh_settings(path), path, timing=fast, checkip_url=UNREACHABLE)
    cluster, group = stack()
    assert cluster["PubliclyAccessible"] is False and group["IpPermissions"] == []
    assert "no ingress rule" in report.lines()[1]


def test_what_dwh_asks_for_is_kept(moto, tmp_path, fast):
    path = data_api_cfg(tmp_path, cidr="203.0.113.7/32", DWH_PUBLICLY_ACCESSIBLE="true")
    create_all(load_dwh_settings(path), path, timing=fast, checkip_url=UNREACHABLE)
    cluster, group = stack()
    assert cluster["PubliclyAccessible"] is True
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["203.0.113.7/32"]


def test_a_stack_made_for_psycopg2_loses_its_ingress_rule(moto, tmp_path, fast, caplog):
    classic = DwhCfg.provisioning(cidr="203.0.113.7/32").write(tmp_path / "classic.cfg")
    create_all(load_dwh_settings(classic), classic, timing=fast, checkip_url=UNREACHABLE)
    assert stack()[1]["IpPermissions"] and stack()[0]["PubliclyAccessible"] is True
    path = data_api_cfg(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sparkify.aws"):
        report = create_all(load_dwh_settings(path), path, timing=fast, checkip_url=UNREACHABLE)
    assert stack()[1]["IpPermissions"] == [] and report.lines()[1].startswith("updated")
    assert "is publicly accessible, which DWH_PUBLICLY_ACCESSIBLE (or TRANSPORT = data-api) does not need" in caplog.text
