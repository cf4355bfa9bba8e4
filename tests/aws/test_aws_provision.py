"""create_all / delete_all in cluster mode against moto (mock_aws, made strict by tests/helpers/strict_moto.py), asserting
what moto itself does not check."""

from __future__ import annotations

import json
import logging

import pytest

from sparkify.aws.base import TAG_KEY, make_session
from sparkify.aws.provision import create_all
from sparkify.aws.teardown import make_confirm
from sparkify.config import load_dwh_settings
from sparkify.errors import ConfigError, ProvisioningError
from tests.helpers.boto import capture_params, fake_response
from tests.helpers.dwhcfg import FAKE_PASSWORD, DwhCfg
from tests.helpers.provisioning import REGION, clients, create, delete, our_groups, read_cfg
from tests.helpers.strict_moto import add_aws_managed_policies

ACCOUNT = "123456789012"
# What create_cluster.py gives the role for the udacity-dend [S3] of DwhCfg.provisioning, written out by hand.
UDACITY_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ListConfiguredPrefixes1", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::udacity-dend",
     "Condition": {"StringLike": {"s3:prefix": ["log_data*", "song_data*"]}}},
    {"Sid": "ReadConfiguredObjects", "Effect": "Allow", "Action": "s3:GetObject",
     "Resource": ["arn:aws:s3:::udacity-dend/log_data*", "arn:aws:s3:::udacity-dend/song_data*",
                  "arn:aws:s3:::udacity-dend/log_json_path.json"]},
]}
CLUSTER_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                  "ArnLike": {"aws:SourceArn": f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:test-dwh"}}}]}





def role_policies(iam, name="test-dwh-s3-read") -> tuple[list[str], dict]:
    """(the role's attached policy ARNs, its inline policies by name)."""
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    inline = {n: iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"]
              for n in iam.list_role_policies(RoleName=name)["PolicyNames"]}
    return attached, inline


def user_parameters(redshift, group="test-dwh-params") -> dict:
    return {p["ParameterName"]: p["ParameterValue"]
            for p in redshift.describe_cluster_parameters(ParameterGroupName=group, Source="user")["Parameters"]}




# ---- create ------------------------------------------------------------------------------------------


def test_create_makes_a_locked_down_stack_and_writes_the_config(boto_session, provisioning_cfg, fast, caplog):
    created = capture_params(boto_session, "redshift.CreateCluster")
    original = provisioning_cfg.read_text()
    report = create(provisioning_cfg, fast, boto_session)
    iam, ec2, redshift = clients()

    # IAM role: only Redshift, for this account and this cluster, may assume it; it reads [S3] and nothing else.
    role = iam.get_role(RoleName="test-dwh-s3-read")["Role"]
    assert role["AssumeRolePolicyDocument"] == CLUSTER_TRUST
    assert role_policies(iam) == ([], {"sparkify-s3-read": UDACITY_POLICY})
    assert {"Key": TAG_KEY, "Value": "true"} in iam.list_role_tags(RoleName="test-dwh-s3-read")["Tags"]

    # Security group: dedicated, in the default VPC, exactly one ingress rule: tcp 5439 from the CIDR.
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    [group] = our_groups(ec2)
    assert group["VpcId"] == default_vpc and group["GroupId"] == report.security_group_id
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]], p["Ipv6Ranges"])
            for p in group["IpPermissions"]] == [("tcp", 5439, 5439, ["203.0.113.7/32"], [])]
    assert {"Key": TAG_KEY, "Value": "true"} in group["Tags"]

    # Parameter group: ours, require_ssl = true.
    [pgroup] = redshift.describe_cluster_parameter_groups(ParameterGroupName="test-dwh-params")["ParameterGroups"]
    assert pgroup["ParameterGroupFamily"] == "redshift-1.0" and {"Key": TAG_KEY, "Value": "true"} in pgroup["Tags"]
    assert user_parameters(redshift) == {"require_ssl": "true"}

    # Cluster: encrypted, with the role, the group and the parameter group, publicly reachable only through the group.
    [params] = created
    assert params["Encrypted"] is True and params["PubliclyAccessible"] is True
    assert params["IamRoles"] == [role["Arn"]] and params["VpcSecurityGroupIds"] == [group["GroupId"]]
    assert params["ClusterParameterGroupName"] == "test-dwh-params"
    assert (params["ClusterType"], params["NodeType"], params["Port"]) == ("single-node", "dc2.large", 5439)
    assert "NumberOfNodes" not in params
    cluster = redshift.describe_clusters(ClusterIdentifier="test-dwh")["Clusters"][0]
    assert cluster["Encrypted"] is True
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [role["Arn"]]
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [group["GroupId"]]
    assert [g["ParameterGroupName"] for g in cluster["ClusterParameterGroups"]] == ["test-dwh-params"]
    assert {"Key": TAG_KEY, "Value": "true"} in cluster["Tags"]

    # Config: [CLUSTER] and [IAM_ROLE] written; every other line kept (the old "host" line is replaced).
    cp = read_cfg(provisioning_cfg)
    assert cp["CLUSTER"]["HOST"] == cluster["Endpoint"]["Address"] == report.host
    assert (cp["CLUSTER"]["DB_NAME"], cp["CLUSTER"]["DB_USER"], cp["CLUSTER"]["DB_PORT"]) == ("sparkify",
                                                                                          "sparkify_admin", "5439")
    assert cp["IAM_ROLE"]["ARN"] == role["Arn"]
    new_lines = provisioning_cfg.read_text().splitlines()
    assert [line for line in original.splitlines() if line not in new_lines] == ["host = old-host.example.invalid"]
    assert f"host = {report.host}" in new_lines  # the user's key spelling is kept

    assert [(s.kind, s.outcome) for s in report.steps] == [
        ("IAM role", "created"), ("security group", "created"), ("parameter group", "created"),
        ("Redshift cluster", "created"), ("config", "updated")]
    assert report.steps[0].detail == ("S3 read-only on s3://udacity-dend/log_data*, s3://udacity-dend/song_data*, "
                                      "s3://udacity-dend/log_json_path.json")
    assert FAKE_PASSWORD not in caplog.text and FAKE_PASSWORD not in "\n".join(report.lines())


def test_create_twice_reuses_everything(moto, provisioning_cfg, fast):
    first = create(provisioning_cfg, fast)
    text = provisioning_cfg.read_text()
    second = create(provisioning_cfg, fast)
    iam, ec2, redshift = clients()
    assert [s.outcome for s in second.steps] == ["reused", "reused", "reused", "reused", "unchanged"]
    assert (second.host, second.role_arn, second.security_group_id) == (first.host, first.role_arn,
                                                                       first.security_group_id)
    assert provisioning_cfg.read_text() == text
    assert len(redshift.describe_clusters()["Clusters"]) == 1
    assert [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("test-dwh")] \
        == ["test-dwh-s3-read"]
    [group] = our_groups(ec2)
    assert len(group["IpPermissions"]) == 1 and len(group["IpPermissions"][0]["IpRanges"]) == 1


def test_a_changed_s3_section_updates_the_policy_and_says_so(moto, provisioning_cfg, fast, caplog):
    create(provisioning_cfg, fast)
    provisioning_cfg.write_text(provisioning_cfg.read_text().replace(
        "LOG_DATA = s3://udacity-dend/log_data",
        "LOG_DATA = s3://my-logs/2018/events/\nMANIFEST_PREFIX = s3://my-logs/manifests/"))
    caplog.clear()
    report = create(provisioning_cfg, fast)
    assert (report.steps[0].kind, report.steps[0].outcome) == ("IAM role", "updated")
    [changed] = [r.getMessage() for r in caplog.records if "[S3] changed" in r.getMessage()]
    assert "the role may now read s3://my-logs/2018/events/*, s3://udacity-dend/song_data*, " \
           "s3://udacity-dend/log_json_path.json, s3://my-logs/manifests/* and nothing else" in changed
    assert role_policies(clients()[0])[1]["sparkify-s3-read"] == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListConfiguredPrefixes1", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::my-logs",
         "Condition": {"StringLike": {"s3:prefix": ["2018/events/*", "manifests/*"]}}},
        {"Sid": "ListConfiguredPrefixes2", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::udacity-dend", "Condition": {"StringLike": {"s3:prefix": ["song_data*"]}}},
        {"Sid": "ReadConfiguredObjects", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": ["arn:aws:s3:::my-logs/2018/events/*", "arn:aws:s3:::udacity-dend/song_data*",
                      "arn:aws:s3:::udacity-dend/log_json_path.json", "arn:aws:s3:::my-logs/manifests/*"]}]}
    assert create(provisioning_cfg, fast).steps[0].outcome == "reused"  # nothing changed since: nothing rewritten


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.split("[S3]")[0], "[S3] LOG_DATA and SONG_DATA are required to create the warehouse"),
    (lambda t: t.replace("SONG_DATA = s3://udacity-dend/song_data", "SONG_DATA = data/song_data"),
     "[S3] SONG_DATA must be an s3://bucket/prefix URI for the IAM role, not 'data/song_data'"),
])
def test_without_s3_locations_nothing_is_created(moto, provisioning_cfg, fast, edit, problem):
    provisioning_cfg.write_text(edit(provisioning_cfg.read_text()))
    with pytest.raises(ConfigError) as info:
        create(provisioning_cfg, fast)
    assert any(p.startswith(problem) for p in info.value.problems)
    _nothing_exists()


def test_unset_cidr_uses_the_callers_public_ip(moto, tmp_path, fast, checkip, caplog):
    path = DwhCfg.provisioning(cidr=None).write(tmp_path / "dwh.cfg")
    create(path, fast, checkip_url=checkip(b"198.51.100.23\n"))
    [group] = our_groups(clients()[1])
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["198.51.100.23/32"]
    assert "198.51.100.23/32" in caplog.text


def test_failed_ip_detection_creates_nothing(moto, tmp_path, fast, checkip):
    path = DwhCfg.provisioning(cidr=None).write(tmp_path / "dwh.cfg")
    with pytest.raises(ProvisioningError, match="DWH_ALLOWED_CIDR"):
        create(path, fast, checkip_url=checkip(b"not an ip", 500))
    _iam, ec2, redshift = clients()
    assert our_groups(ec2) == [] and redshift.describe_clusters()["Clusters"] == []


def test_changed_cidr_replaces_the_old_rule(moto, tmp_path, fast):
    path = DwhCfg.provisioning(cidr="203.0.113.7/32").write(tmp_path / "dwh.cfg")
    create(path, fast)
    DwhCfg.provisioning(cidr="198.51.100.0/24").write(path)
    report = create(path, fast)
    [group] = our_groups(clients()[1])
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]] \
        == [(5439, ["198.51.100.0/24"])]
    assert report.steps[1].outcome == "updated"


def test_open_to_the_world_is_allowed_when_written_with_a_warning(moto, tmp_path, fast, caplog):
    path = DwhCfg.provisioning(cidr="0.0.0.0/0").write(tmp_path / "dwh.cfg")
    create(path, fast)
    [group] = our_groups(clients()[1])
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["0.0.0.0/0"]
    assert any(r.levelname == "WARNING" and "whole internet" in r.getMessage() for r in caplog.records)


def test_multi_node_passes_the_number_of_nodes(boto_session, tmp_path, fast):
    created = capture_params(boto_session, "redshift.CreateCluster")
    path = DwhCfg.provisioning().set("DWH", DWH_CLUSTER_TYPE="multi-node", DWH_NUM_NODES=4,
                                     DWH_NODE_TYPE="ra3.xlplus").write(tmp_path / "dwh.cfg")
    create(path, fast, boto_session)
    assert (created[0]["ClusterType"], created[0]["NumberOfNodes"], created[0]["NodeType"]) \
        == ("multi-node", 4, "ra3.xlplus")


def test_explicit_aws_keys_are_used(moto, tmp_path, fast, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    path = DwhCfg.provisioning().set("AWS", KEY="AKIDFROMCONFIG", SECRET="SecretFromConfig").write(tmp_path / "dwh.cfg")
    report = create_all(load_dwh_settings(path), path, timing=fast, environ={})  # the library's own session
    assert report.steps[2].outcome == "created"
    assert make_session(load_dwh_settings(path)).get_credentials().access_key == "AKIDFROMCONFIG"


def test_a_security_group_we_did_not_make_is_refused(moto, provisioning_cfg, fast):
    _iam, ec2, redshift = clients()
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    ec2.create_security_group(GroupName="test-dwh-sg", Description="someone else's", VpcId=vpc)
    with pytest.raises(ProvisioningError, match="security group 'test-dwh-sg' .* not created by sparkify"):
        create(provisioning_cfg, fast)
    assert redshift.describe_clusters()["Clusters"] == []


def test_paused_cluster_is_reported(moto, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    clients()[2].pause_cluster(ClusterIdentifier="test-dwh")
    with pytest.raises(ProvisioningError, match="Redshift cluster 'test-dwh' is paused: resume it"):
        create(provisioning_cfg, fast)


def test_cluster_being_deleted_is_reported(boto_session, provisioning_cfg, fast):
    fake_response(boto_session, "redshift.DescribeClusters",
                  [{"Clusters": [{"ClusterIdentifier": "test-dwh", "ClusterStatus": "deleting"}]}])
    with pytest.raises(ProvisioningError, match="is being deleted .*run create_cluster.py again"):
        create(provisioning_cfg, fast, boto_session)


def _someone_elses_cluster(redshift, tags=None):
    redshift.create_cluster(ClusterIdentifier="test-dwh", ClusterType="single-node", NodeType="dc2.large",
                            DBName="dev", MasterUsername="someone", MasterUserPassword=FAKE_PASSWORD,
                            **({"Tags": tags} if tags else {}))


def test_an_existing_cluster_we_did_not_make_is_used_but_not_modified(boto_session, provisioning_cfg, fast, caplog):
    _someone_elses_cluster(boto_session.client("redshift"))
    changes = [capture_params(boto_session, f"redshift.{op}") for op in ("ModifyClusterIamRoles", "ModifyCluster")]
    report = create(provisioning_cfg, fast, boto_session)
    assert changes == [[], []]  # moto would accept both: the arguments prove none was sent
    step = report.steps[3]
    assert (step.kind, step.outcome) == ("Redshift cluster", "reused")
    assert "NOT encrypted" in step.detail and step.detail.endswith("not created by sparkify: not modified")
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "without the sparkify:managed tag: using it as it is (not modified)" in warnings
    assert (f"aws redshift modify-cluster-iam-roles --cluster-identifier test-dwh --add-iam-roles "
            f"{report.role_arn}") in warnings
    assert "uses parameter group default.redshift-1.0, not test-dwh-params" in warnings
    assert "NOT encrypted" in warnings and "does not use security group" in warnings and "DWH_DB_USER" in warnings
    cp = read_cfg(provisioning_cfg)
    assert (cp["CLUSTER"]["DB_NAME"], cp["CLUSTER"]["DB_USER"]) == ("dev", "someone")  # the cluster's truth


def test_our_existing_cluster_gets_the_role_and_the_parameter_group(boto_session, provisioning_cfg, fast, caplog):
    _someone_elses_cluster(boto_session.client("redshift"), tags=[{"Key": TAG_KEY, "Value": "true"}])
    roles = capture_params(boto_session, "redshift.ModifyClusterIamRoles")
    modified = capture_params(boto_session, "redshift.ModifyCluster")
    fake_response(boto_session, "redshift.ModifyClusterIamRoles", [{"Cluster": {"ClusterIdentifier": "test-dwh"}}])
    report = create(provisioning_cfg, fast, boto_session)
    assert roles == [{"ClusterIdentifier": "test-dwh", "AddIamRoles": [report.role_arn]}]
    assert modified == [{"ClusterIdentifier": "test-dwh", "ClusterParameterGroupName": "test-dwh-params"}]
    cluster = clients()[2].describe_clusters(ClusterIdentifier="test-dwh")["Clusters"][0]
    assert [g["ParameterGroupName"] for g in cluster["ClusterParameterGroups"]] == ["test-dwh-params"]
    assert not report.steps[3].detail.endswith("not modified")


def test_a_parameter_group_we_did_not_make_is_refused(moto, provisioning_cfg, fast):
    redshift = clients()[2]
    redshift.create_cluster_parameter_group(ParameterGroupName="test-dwh-params", ParameterGroupFamily="redshift-1.0",
                                            Description="someone else's")
    with pytest.raises(ProvisioningError, match=r"^cluster parameter group 'test-dwh-params' exists but was not "
                                                r"created by sparkify .*choose another DWH_CLUSTER_IDENTIFIER"):
        create(provisioning_cfg, fast)
    assert redshift.describe_clusters()["Clusters"] == []
    assert user_parameters(redshift) == {}
    iam, ec2, _ = clients()
    assert iam.list_roles()["Roles"] == [] and our_groups(ec2) == []  # refused before anything was created


def test_our_parameter_group_without_require_ssl_gets_it(boto_session, provisioning_cfg, fast):
    redshift = clients()[2]
    redshift.create_cluster_parameter_group(ParameterGroupName="test-dwh-params", ParameterGroupFamily="redshift-1.0",
                                            Description="ours", Tags=[{"Key": TAG_KEY, "Value": "true"}])
    redshift.modify_cluster_parameter_group(ParameterGroupName="test-dwh-params", Parameters=[
        {"ParameterName": "require_ssl", "ParameterValue": "false"}])
    report = create(provisioning_cfg, fast, boto_session)
    assert (report.steps[2].kind, report.steps[2].outcome) == ("parameter group", "updated")
    assert user_parameters(redshift) == {"require_ssl": "true"}


def test_quota_error_is_one_line_and_the_config_is_untouched(boto_session, provisioning_cfg, fast):
    fake_response(boto_session, "redshift.CreateCluster",
                  [{"Error": {"Code": "ClusterQuotaExceeded", "Message": "The request would exceed the quota"}}])
    before = provisioning_cfg.read_text()
    with pytest.raises(ProvisioningError, match=r"^quota exceeded \(ClusterQuotaExceeded\) while creating "
                                                r"Redshift cluster 'test-dwh' in us-west-2"):
        create(provisioning_cfg, fast, boto_session)
    assert provisioning_cfg.read_text() == before


def test_access_denied_names_the_resource(boto_session, provisioning_cfg, fast):
    fake_response(boto_session, "iam.CreateRole", [{"Error": {"Code": "AccessDenied", "Message": "not allowed"}}])
    with pytest.raises(ProvisioningError, match=r"access denied \(AccessDenied\) while creating IAM role "
                                                r"'test-dwh-s3-read'"):
        create(provisioning_cfg, fast, boto_session)


# ---- delete ------------------------------------------------------------------------------------------


def test_delete_skips_the_final_snapshot_and_removes_everything(boto_session, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    deleted = capture_params(boto_session, "redshift.DeleteCluster")
    plans = []
    report = delete(provisioning_cfg, fast, boto_session, confirm=lambda plan: plans.append(plan) or True)
    # AWS refuses a DeleteCluster that names neither (moto, unpatched, would not): the choice is always explicit
    assert deleted == [{"ClusterIdentifier": "test-dwh", "SkipFinalClusterSnapshot": True}]
    assert [(s.kind, s.outcome) for s in report.steps] == [
        ("Redshift cluster", "deleted"), ("parameter group", "deleted"), ("IAM role", "deleted"),
        ("security group", "deleted")]
    assert "NO final snapshot" in plans[0][0] and len(plans[0]) == 4
    iam, ec2, redshift = clients()
    assert redshift.describe_clusters()["Clusters"] == []
    assert [g["ParameterGroupName"] for g in redshift.describe_cluster_parameter_groups()["ParameterGroups"]] \
        == ["default.redshift-1.0"]
    assert our_groups(ec2) == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="test-dwh-s3-read")


def test_the_strict_stand_in_refuses_a_delete_that_does_not_choose_about_the_snapshot(moto, provisioning_cfg, fast):
    """What AWS does, and unpatched moto does not: the argument the test above asserts is required."""
    create(provisioning_cfg, fast)
    redshift = clients()[2]
    with pytest.raises(redshift.exceptions.ClientError, match="InvalidParameterCombination"):
        redshift.delete_cluster(ClusterIdentifier="test-dwh")
    with pytest.raises(redshift.exceptions.InvalidClusterParameterGroupStateFault):
        redshift.delete_cluster_parameter_group(ParameterGroupName="test-dwh-params")  # the cluster uses it
    assert len(redshift.describe_clusters()["Clusters"]) == 1


def test_delete_twice_and_on_nothing_succeeds(moto, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    assert len(delete(provisioning_cfg, fast).removed) == 4
    asked = []
    again = delete(provisioning_cfg, fast, confirm=lambda plan: asked.append(plan) or True)
    assert again.removed == [] and asked == []
    assert [s.outcome for s in again.steps] == ["not found"] * 4


def test_delete_keeps_a_cluster_we_did_not_make_even_with_yes(boto_session, provisioning_cfg, fast, caplog):
    _someone_elses_cluster(boto_session.client("redshift"))
    deleted = capture_params(boto_session, "redshift.DeleteCluster")
    plans = []
    report = delete(provisioning_cfg, fast, boto_session, confirm=lambda plan: plans.append(plan) or True)
    assert deleted == [] and plans == []  # nothing of ours: no question, nothing deleted
    assert (report.steps[0].kind, report.steps[0].outcome) == ("Redshift cluster", "left in place")
    assert len(clients()[2].describe_clusters()["Clusters"]) == 1
    create(provisioning_cfg, fast, boto_session)  # ours beside it: the role, the group, the parameter group
    report = delete(provisioning_cfg, fast, boto_session, confirm=lambda plan: plans.append(plan) or True)
    assert plans[0][0] == "keep Redshift cluster 'test-dwh' in us-west-2 (not created by sparkify)"
    assert deleted == []
    assert [(s.kind, s.outcome) for s in report.steps] == [
        ("Redshift cluster", "left in place"), ("parameter group", "deleted"), ("IAM role", "deleted"),
        ("security group", "deleted")]
    assert len(clients()[2].describe_clusters()["Clusters"]) == 1


def test_security_groups_are_looked_up_in_the_vpc_in_use_only(moto, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    ec2 = clients()[1]
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_security_group(GroupName="test-dwh-sg", Description="same name, another VPC", VpcId=other_vpc,
                                      TagSpecifications=[{"ResourceType": "security-group",
                                                          "Tags": [{"Key": TAG_KEY, "Value": "true"}]}])["GroupId"]
    plans = []
    report = delete(provisioning_cfg, fast, confirm=lambda plan: plans.append(plan) or True)
    [group_line] = [line for line in plans[0] if "security group" in line]
    assert group_line.startswith("delete security group 'test-dwh-sg'") and other not in group_line
    assert [s.outcome for s in report.steps if s.kind == "security group"] == ["deleted"]
    assert [g["GroupId"] for g in our_groups(ec2)] == [other]  # ours in the default VPC gone, the other kept


def test_delete_with_a_final_snapshot(boto_session, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    deleted = capture_params(boto_session, "redshift.DeleteCluster")
    delete(provisioning_cfg, fast, boto_session, final_snapshot="test-dwh-final")
    assert deleted == [{"ClusterIdentifier": "test-dwh", "SkipFinalClusterSnapshot": False,
                        "FinalClusterSnapshotIdentifier": "test-dwh-final"}]
    snaps = clients()[2].describe_cluster_snapshots(SnapshotIdentifier="test-dwh-final")["Snapshots"]
    assert len(snaps) == 1


def test_bad_snapshot_name_is_refused_before_anything_happens(moto, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    with pytest.raises(ConfigError, match="--final-snapshot"):
        delete(provisioning_cfg, fast, final_snapshot="bad--name-")
    assert len(clients()[2].describe_clusters()["Clusters"]) == 1


def test_delete_retries_while_the_cluster_is_busy(boto_session, provisioning_cfg, fast, sleeps):
    create(provisioning_cfg, fast)
    busy = {"Error": {"Code": "InvalidClusterState", "Message": "There is an operation running on the Cluster"}}
    fake_response(boto_session, "redshift.DeleteCluster", [busy, busy])
    calls = capture_params(boto_session, "redshift.DeleteCluster")
    report = delete(provisioning_cfg, fast, boto_session)
    assert len(calls) == 3 and sleeps == [7, 7]
    assert report.steps[0].outcome == "deleted"


def test_delete_gives_up_after_bounded_retries(boto_session, provisioning_cfg, fast, sleeps):
    create(provisioning_cfg, fast)
    busy = {"Error": {"Code": "InvalidClusterState", "Message": "There is an operation running on the Cluster"}}
    fake_response(boto_session, "redshift.DeleteCluster", [busy] * 5)
    with pytest.raises(ProvisioningError, match="Redshift cluster 'test-dwh' is in a state that forbids deleting"):
        delete(provisioning_cfg, fast, boto_session)
    assert sleeps == [7, 7]  # 3 attempts
    assert len(clients()[2].describe_clusters()["Clusters"]) == 1


def test_security_group_deletion_waits_for_network_interfaces(boto_session, provisioning_cfg, fast, sleeps):
    create(provisioning_cfg, fast)
    in_use = {"Error": {"Code": "DependencyViolation", "Message": "resource has a dependent object"}}
    fake_response(boto_session, "ec2.DeleteSecurityGroup", [in_use])
    report = delete(provisioning_cfg, fast, boto_session)
    assert sleeps == [5] and report.steps[3].outcome == "deleted"
    assert our_groups(clients()[1]) == []


def test_delete_detaches_every_policy_before_deleting_the_role(moto, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    iam = clients()[0]
    [arn] = add_aws_managed_policies("AmazonRedshiftReadOnlyAccess")
    iam.attach_role_policy(RoleName="test-dwh-s3-read", PolicyArn=arn)
    iam.put_role_policy(RoleName="test-dwh-s3-read", PolicyName="extra",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    report = delete(provisioning_cfg, fast)
    assert report.steps[2].outcome == "deleted"
    assert report.steps[2].detail == "with AmazonRedshiftReadOnlyAccess, inline sparkify-s3-read, inline extra"
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="test-dwh-s3-read")


def test_delete_leaves_a_role_we_did_not_make(moto, provisioning_cfg, fast, caplog):
    create(provisioning_cfg, fast)
    iam = clients()[0]
    iam.untag_role(RoleName="test-dwh-s3-read", TagKeys=[TAG_KEY])
    report = delete(provisioning_cfg, fast)
    assert [s.outcome for s in report.steps] == ["deleted", "deleted", "left in place", "deleted"]
    assert iam.get_role(RoleName="test-dwh-s3-read")["Role"]
    assert "not created by sparkify" in caplog.text
    # Only an untagged role is left: nothing to delete, so no question is asked.
    assert delete(provisioning_cfg, fast, confirm=lambda plan: pytest.fail("asked")).removed == []


def test_declining_deletes_nothing(moto, provisioning_cfg, fast):
    create(provisioning_cfg, fast)
    assert delete(provisioning_cfg, fast, confirm=lambda plan: False) is None
    assert len(clients()[2].describe_clusters()["Clusters"]) == 1


def test_confirmation_refuses_without_a_terminal():
    confirm = make_confirm(assume_yes=False, interactive=False, ask=lambda text: pytest.fail("asked"))
    with pytest.raises(ProvisioningError, match="--yes"):
        confirm(["delete x"])
    assert make_confirm(assume_yes=True, interactive=False, ask=input)(["delete x"]) is True
    prompts = []
    ask = make_confirm(assume_yes=False, interactive=True, ask=lambda text: prompts.append(text) or "yes")
    assert ask(["delete Redshift cluster 'x'"]) is True and "delete Redshift cluster 'x'" in prompts[0]
    assert make_confirm(assume_yes=False, interactive=True, ask=lambda text: "n")(["x"]) is False


# ---- the node type: DescribeOrderableClusterOptions (not in moto: canned answers, the rest in moto) --------

NO_DC2 = [("ra3.xlplus", "single-node"), ("ra3.xlplus", "multi-node"), ("ra3.large", "single-node"),
          ("ra3.large", "multi-node"), ("ra3.4xlarge", "multi-node")]


def _page(pairs):
    return {"OrderableClusterOptions": [{"ClusterVersion": "1.0", "NodeType": n, "ClusterType": c,
                                         "AvailabilityZones": [{"Name": f"{REGION}a"}]} for n, c in pairs]}


def _nothing_exists():
    iam, ec2, redshift = clients()
    assert [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("test-dwh")] == []
    assert [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "test-dwh-sg"] == []
    assert redshift.describe_clusters()["Clusters"] == []


def test_a_node_type_the_region_does_not_sell_creates_nothing(boto_session, tmp_path, fast):
    fake_response(boto_session, "redshift.DescribeOrderableClusterOptions", [_page(NO_DC2)])
    path = DwhCfg.provisioning().set("DWH", DWH_NODE_TYPE="dc2.large").write(tmp_path / "dwh.cfg")
    with pytest.raises(ProvisioningError, match="dc2.large is not orderable in us-west-2; orderable there: ra3.large"):
        create_all(load_dwh_settings(path), path, timing=fast, session=boto_session, environ={})
    _nothing_exists()


def test_unset_node_type_becomes_the_smallest_orderable_one(boto_session, tmp_path, fast, caplog):
    fake_response(boto_session, "redshift.DescribeOrderableClusterOptions", [_page(NO_DC2)])
    created = capture_params(boto_session, "redshift.CreateCluster")
    path = DwhCfg.provisioning().write(tmp_path / "dwh.cfg")
    report = create_all(load_dwh_settings(path), path, timing=fast, session=boto_session, environ={})
    assert created[0]["NodeType"] == "ra3.large" and "ra3.large" in report.steps[3].detail
    lines = [r.getMessage() for r in caplog.records if "DWH_NODE_TYPE not set" in r.getMessage()]
    assert len(lines) == 1 and "using ra3.large, the smallest single-node type orderable there" in lines[0]


def test_an_endpoint_without_the_call_warns_once_and_proceeds(boto_session, tmp_path, fast, caplog):
    """moto lacks DescribeOrderableClusterOptions (as a local emulator may): one warning, then the cluster."""
    created = capture_params(boto_session, "redshift.CreateCluster")
    path = DwhCfg.provisioning().write(tmp_path / "dwh.cfg")
    create_all(load_dwh_settings(path), path, timing=fast, session=boto_session, environ={})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "DescribeOrderableClusterOptions" in w] == [
        ("the endpoint does not implement DescribeOrderableClusterOptions (a local emulator?): node type dc2.large "
        "not checked")]
    assert created[0]["NodeType"] == "dc2.large"
