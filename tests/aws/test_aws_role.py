"""The IAM role create_cluster.py reuses only when sparkify made it and it trusts Redshift in this account alone
(moto, mock_aws): what is refused, what is brought up to date, and that nothing is created when refused."""

from __future__ import annotations

import json

import boto3
import pytest

from sparkify.aws.base import TAG_KEY
from sparkify.aws.policies import trust_policy
from sparkify.config import load_dwh_settings
from sparkify.errors import ProvisioningError
from tests.helpers.dwhcfg import DwhCfg
from tests.helpers.provisioning import create
from tests.helpers.strict_moto import add_aws_managed_policies

ACCOUNT = "123456789012"
ROLE = "test-dwh-s3-read"
OURS = [{"Key": TAG_KEY, "Value": "true"}]
REDSHIFT_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def iam():
    return boto3.client("iam", region_name="us-west-2")


def make_role(trust, *, tagged=True, attach=(), inline=None):
    iam().create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust), **({"Tags": OURS} if tagged else {}))
    for arn in attach:
        if arn.startswith("arn:aws:iam::aws:policy/"):  # an AWS-managed policy: added to moto on demand
            add_aws_managed_policies(arn.rpartition("/")[2])
        iam().attach_role_policy(RoleName=ROLE, PolicyArn=arn)
    for name, doc in (inline or {}).items():
        iam().put_role_policy(RoleName=ROLE, PolicyName=name, PolicyDocument=json.dumps(doc))


def nothing_else_exists():
    ec2 = boto3.client("ec2", region_name="us-west-2")
    assert [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "test-dwh-sg"] == []
    assert boto3.client("redshift", region_name="us-west-2").describe_clusters()["Clusters"] == []


def test_a_role_we_did_not_make_is_refused_even_if_it_trusts_only_redshift(moto, provisioning_cfg, fast):
    make_role(trust_policy(ACCOUNT), tagged=False)
    with pytest.raises(ProvisioningError) as info:
        create(provisioning_cfg, fast)
    assert str(info.value) == (f"IAM role '{ROLE}' exists but was not created by sparkify (no sparkify:managed tag): "
                               "sparkify changes only the roles it made; choose another DWH_IAM_ROLE_NAME, or delete "
                               "that role (nothing was created)")
    assert iam().list_role_policies(RoleName=ROLE)["PolicyNames"] == []  # not given S3 access
    nothing_else_exists()


@pytest.mark.parametrize("statement, problem", [
    ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"},
     "also trusts arn:aws:iam::999999999999:root"),
    ({"Effect": "Allow", "Principal": {"Service": ["redshift.amazonaws.com", "ec2.amazonaws.com"]},
      "Action": "sts:AssumeRole"}, "also trusts ec2.amazonaws.com"),
    ({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, "also trusts everyone (*)"),
    ({"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole",
      "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}},
     "trusts Redshift acting for account 999999999999, not 123456789012"),
])
def test_a_tagged_role_that_trusts_more_than_redshift_in_this_account_is_refused(moto, provisioning_cfg, fast,
                                                                                  statement, problem):
    trust = {"Version": "2012-10-17", "Statement": [REDSHIFT_ONLY["Statement"][0], statement]}
    make_role(trust)
    with pytest.raises(ProvisioningError) as info:
        create(provisioning_cfg, fast)
    assert str(info.value).startswith(f"IAM role '{ROLE}' {problem}: sparkify reuses a role only if its trust policy "
                                      f"lets Redshift alone assume it, for account {ACCOUNT}")
    assert iam().list_role_policies(RoleName=ROLE)["PolicyNames"] == []
    nothing_else_exists()


def test_a_tagged_role_not_trusting_redshift_is_refused(moto, provisioning_cfg, fast):
    make_role({"Version": "2012-10-17", "Statement": []})
    with pytest.raises(ProvisioningError, match=f"IAM role '{ROLE}' does not trust redshift.amazonaws.com: "):
        create(provisioning_cfg, fast)


@pytest.mark.parametrize("policy", ["arn:aws:iam::aws:policy/AdministratorAccess",
                                    "arn:aws:iam::aws:policy/AmazonS3FullAccess"])
def test_our_role_with_broader_access_is_refused(moto, provisioning_cfg, fast, policy):
    make_role(REDSHIFT_ONLY, attach=[policy])
    with pytest.raises(ProvisioningError, match=rf"IAM role '{ROLE}' has policies sparkify did not give it "
                                                rf"\({policy}\): .*DWH_IAM_ROLE_NAME"):
        create(provisioning_cfg, fast)
    nothing_else_exists()


def test_our_role_from_an_earlier_version_is_brought_up_to_date(moto, provisioning_cfg, fast, caplog):
    """Earlier versions trusted Redshift of any account and attached AmazonS3ReadOnlyAccess (every bucket)."""
    make_role(REDSHIFT_ONLY, attach=["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
    report = create(provisioning_cfg, fast)
    assert (report.steps[0].kind, report.steps[0].outcome) == ("IAM role", "updated")
    role = iam().get_role(RoleName=ROLE)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"] == {
        "aws:SourceAccount": ACCOUNT}
    assert iam().list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"] == []
    assert iam().list_role_policies(RoleName=ROLE)["PolicyNames"] == ["sparkify-s3-read"]
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"IAM role '{ROLE}' updated")]
    assert "trust policy: Redshift for account 123456789012 only" in line
    assert "AmazonS3ReadOnlyAccess (every bucket) detached" in line


def test_the_trust_policy_follows_the_mode(moto, provisioning_cfg, fast):
    """A cluster's ARN is known beforehand (aws:SourceArn); a Serverless namespace's is not (account only)."""
    from sparkify.aws.iam import source_arn

    cluster = load_dwh_settings(provisioning_cfg)
    assert source_arn(cluster, ACCOUNT) == "arn:aws:redshift:us-west-2:123456789012:cluster:test-dwh"
    assert source_arn(cluster, ACCOUNT, "aws-cn") == "arn:aws-cn:redshift:us-west-2:123456789012:cluster:test-dwh"
    DwhCfg.provisioning().set("DWH", DWH_MODE="serverless").write(provisioning_cfg)
    assert source_arn(load_dwh_settings(provisioning_cfg), ACCOUNT) is None
    assert trust_policy(ACCOUNT)["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
