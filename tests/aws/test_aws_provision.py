"""create_all / delete_all against moto (mock_aws), asserting what moto itself does not check."""

from __future__ import annotations

import configparser
import json
import logging

import boto3
import pytest

from sparkify.aws.base import TAG_KEY, make_session
from sparkify.aws.iam import S3_READ_ONLY_POLICY_ARN
from sparkify.aws.policies import TRUST_POLICY
from sparkify.aws.provision import create_all
from sparkify.aws.teardown import delete_all, make_confirm
from sparkify.config import load_dwh_settings
from sparkify.errors import ConfigError, ProvisioningError

from tests.aws.conftest import CFG_TEMPLATE, FAKE_PASSWORD, capture_params, fake_response, new_session, write_cfg

REGION = "us-west-2"


def clients():
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


# ---- create ------------------------------------------------------------------------------------------


def test_create_makes_a_locked_down_stack_and_writes_the_config(session, cfg_path, fast, caplog):
    created = capture_params(session, "redshift.CreateCluster")
    original = cfg_path.read_text()
    report = create(cfg_path, fast, session)
    iam, ec2, redshift = clients()

    # IAM role: only Redshift may assume it; S3 read-only and nothing else; tagged.
    role = iam.get_role(RoleName="test-dwh-s3-read")["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST_POLICY
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="test-dwh-s3-read")["AttachedPolicies"]] \
        == [S3_READ_ONLY_POLICY_ARN]
    assert iam.list_role_policies(RoleName="test-dwh-s3-read")["PolicyNames"] == []
    assert {"Key": TAG_KEY, "Value": "true"} in iam.list_role_tags(RoleName="test-dwh-s3-read")["Tags"]

    # Security group: dedicated, in the default VPC, exactly one ingress rule: tcp 5439 from the CIDR.
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    [group] = our_groups(ec2)
    assert group["VpcId"] == default_vpc and group["GroupId"] == report.security_group_id
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]], p["Ipv6Ranges"])
            for p in group["IpPermissions"]] == [("tcp", 5439, 5439, ["203.0.113.7/32"], [])]
    assert {"Key": TAG_KEY, "Value": "true"} in group["Tags"]

    # Cluster: encrypted, with the role and the group, publicly reachable only through that group.
    [params] = created
    assert params["Encrypted"] is True and params["PubliclyAccessible"] is True
    assert params["IamRoles"] == [role["Arn"]] and params["VpcSecurityGroupIds"] == [group["GroupId"]]
    assert (params["ClusterType"], params["NodeType"], params["Port"]) == ("single-node", "dc2.large", 5439)
    assert "NumberOfNodes" not in params
    cluster = redshift.describe_clusters(ClusterIdentifier="test-dwh")["Clusters"][0]
    assert cluster["Encrypted"] is True
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [role["Arn"]]
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [group["GroupId"]]
    assert {"Key": TAG_KEY, "Value": "true"} in cluster["Tags"]

    # Config: [CLUSTER] and [IAM_ROLE] written; every other line kept (the old "host" line is replaced).
    cp = read_cfg(cfg_path)
    assert cp["CLUSTER"]["HOST"] == cluster["Endpoint"]["Address"] == report.host
    assert (cp["CLUSTER"]["DB_NAME"], cp["CLUSTER"]["DB_USER"], cp["CLUSTER"]["DB_PORT"]) == ("sparkify",
                                                                                          "sparkify_admin", "5439")
    assert cp["IAM_ROLE"]["ARN"] == role["Arn"]
    new_lines = cfg_path.read_text().splitlines()
    assert [line for line in original.splitlines() if line not in new_lines] == ["host = old-host.example.invalid"]
    assert f"host = {report.host}" in new_lines  # the user's key spelling is kept

    assert [s.outcome for s in report.steps] == ["created", "created", "created", "updated"]
    assert FAKE_PASSWORD not in caplog.text and FAKE_PASSWORD not in "\n".join(report.lines())


def test_create_twice_reuses_everything(moto, cfg_path, fast):
    first = create(cfg_path, fast)
    text = cfg_path.read_text()
    second = create(cfg_path, fast)
    iam, ec2, redshift = clients()
    assert [s.outcome for s in second.steps] == ["reused", "reused", "reused", "unchanged"]
    assert (second.host, second.role_arn, second.security_group_id) == (first.host, first.role_arn,
                                                                       first.security_group_id)
    assert cfg_path.read_text() == text
    assert len(redshift.describe_clusters()["Clusters"]) == 1
    assert [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("test-dwh")] \
        == ["test-dwh-s3-read"]
    [group] = our_groups(ec2)
    assert len(group["IpPermissions"]) == 1 and len(group["IpPermissions"][0]["IpRanges"]) == 1


def test_unset_cidr_uses_the_callers_public_ip(moto, tmp_path, fast, checkip, caplog):
    path = write_cfg(tmp_path / "dwh.cfg", cidr=None)
    create(path, fast, checkip_url=checkip(b"198.51.100.23\n"))
    [group] = our_groups(clients()[1])
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["198.51.100.23/32"]
    assert "198.51.100.23/32" in caplog.text


def test_failed_ip_detection_creates_nothing(moto, tmp_path, fast, checkip):
    path = write_cfg(tmp_path / "dwh.cfg", cidr=None)
    with pytest.raises(ProvisioningError, match="DWH_ALLOWED_CIDR"):
        create(path, fast, checkip_url=checkip(b"not an ip", 500))
    iam, ec2, redshift = clients()
    assert our_groups(ec2) == [] and redshift.describe_clusters()["Clusters"] == []


def test_changed_cidr_replaces_the_old_rule(moto, tmp_path, fast):
    path = write_cfg(tmp_path / "dwh.cfg", cidr="203.0.113.7/32")
    create(path, fast)
    write_cfg(path, cidr="198.51.100.0/24")
    report = create(path, fast)
    [group] = our_groups(clients()[1])
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]] \
        == [(5439, ["198.51.100.0/24"])]
    assert report.steps[1].outcome == "updated"


def test_open_to_the_world_is_allowed_when_written_with_a_warning(moto, tmp_path, fast, caplog):
    path = write_cfg(tmp_path / "dwh.cfg", cidr="0.0.0.0/0")
    create(path, fast)
    [group] = our_groups(clients()[1])
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["0.0.0.0/0"]
    assert any(r.levelname == "WARNING" and "whole internet" in r.getMessage() for r in caplog.records)


def test_multi_node_passes_the_number_of_nodes(session, tmp_path, fast):
    created = capture_params(session, "redshift.CreateCluster")
    path = tmp_path / "dwh.cfg"
    path.write_text(CFG_TEMPLATE.format(password=FAKE_PASSWORD, extra="DWH_ALLOWED_CIDR = 203.0.113.7/32\n")
                    .replace("DWH_CLUSTER_TYPE = single-node\nDWH_NUM_NODES = 1",
                             "DWH_CLUSTER_TYPE = multi-node\nDWH_NUM_NODES = 4\nDWH_NODE_TYPE = ra3.xlplus"))
    create(path, fast, session)
    assert (created[0]["ClusterType"], created[0]["NumberOfNodes"], created[0]["NodeType"]) \
        == ("multi-node", 4, "ra3.xlplus")


def test_explicit_aws_keys_are_used(moto, tmp_path, fast, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    path = write_cfg(tmp_path / "dwh.cfg", extra="[AWS]\nKEY = AKIDFROMCONFIG\nSECRET = SecretFromConfig\n")
    report = create_all(load_dwh_settings(path), path, timing=fast, environ={})  # the library's own session
    assert report.steps[2].outcome == "created"
    assert make_session(load_dwh_settings(path)).get_credentials().access_key == "AKIDFROMCONFIG"


@pytest.mark.parametrize("policy", ["arn:aws:iam::aws:policy/AdministratorAccess",
                                    "arn:aws:iam::aws:policy/AmazonS3FullAccess"])
def test_existing_role_with_broader_access_is_refused(moto, cfg_path, fast, policy):
    iam, ec2, redshift = clients()
    iam.create_role(RoleName="test-dwh-s3-read", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    iam.attach_role_policy(RoleName="test-dwh-s3-read", PolicyArn=policy)
    with pytest.raises(ProvisioningError, match=r"IAM role 'test-dwh-s3-read' has policies besides "
                                                r"AmazonS3ReadOnlyAccess .*DWH_IAM_ROLE_NAME"):
        create(cfg_path, fast)
    assert redshift.describe_clusters()["Clusters"] == []


def test_existing_role_not_trusting_redshift_is_refused(moto, cfg_path, fast):
    iam = clients()[0]
    doc = json.loads(json.dumps(TRUST_POLICY))
    doc["Statement"][0]["Principal"]["Service"] = "ec2.amazonaws.com"
    iam.create_role(RoleName="test-dwh-s3-read", AssumeRolePolicyDocument=json.dumps(doc))
    with pytest.raises(ProvisioningError, match="does not trust redshift.amazonaws.com"):
        create(cfg_path, fast)


def test_existing_role_without_the_policy_gets_it(moto, cfg_path, fast):
    iam = clients()[0]
    iam.create_role(RoleName="test-dwh-s3-read", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    report = create(cfg_path, fast)
    assert report.steps[0].outcome == "reused"
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="test-dwh-s3-read")["AttachedPolicies"]] \
        == [S3_READ_ONLY_POLICY_ARN]


def test_a_security_group_we_did_not_make_is_refused(moto, cfg_path, fast):
    iam, ec2, redshift = clients()
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    ec2.create_security_group(GroupName="test-dwh-sg", Description="someone else's", VpcId=vpc)
    with pytest.raises(ProvisioningError, match="security group 'test-dwh-sg' .* not created by sparkify"):
        create(cfg_path, fast)
    assert redshift.describe_clusters()["Clusters"] == []


def test_paused_cluster_is_reported(moto, cfg_path, fast):
    create(cfg_path, fast)
    clients()[2].pause_cluster(ClusterIdentifier="test-dwh")
    with pytest.raises(ProvisioningError, match="Redshift cluster 'test-dwh' is paused: resume it"):
        create(cfg_path, fast)


def test_cluster_being_deleted_is_reported(session, cfg_path, fast):
    fake_response(session, "redshift.DescribeClusters",
                  [{"Clusters": [{"ClusterIdentifier": "test-dwh", "ClusterStatus": "deleting"}]}])
    with pytest.raises(ProvisioningError, match="is being deleted .*run create_cluster.py again"):
        create(cfg_path, fast, session)


def test_existing_cluster_gets_the_role_and_warnings(session, cfg_path, fast, caplog):
    redshift = session.client("redshift")
    redshift.create_cluster(ClusterIdentifier="test-dwh", ClusterType="single-node", NodeType="dc2.large",
                            DBName="dev", MasterUsername="someone", MasterUserPassword=FAKE_PASSWORD)
    added = capture_params(session, "redshift.ModifyClusterIamRoles")
    fake_response(session, "redshift.ModifyClusterIamRoles", [{"Cluster": {"ClusterIdentifier": "test-dwh"}}])
    report = create(cfg_path, fast, session)
    assert added == [{"ClusterIdentifier": "test-dwh", "AddIamRoles": [report.role_arn]}]
    assert report.steps[2].outcome == "reused" and "NOT encrypted" in report.steps[2].detail
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "NOT encrypted" in warnings and "does not use security group" in warnings and "DWH_DB_USER" in warnings
    cp = read_cfg(cfg_path)
    assert (cp["CLUSTER"]["DB_NAME"], cp["CLUSTER"]["DB_USER"]) == ("dev", "someone")  # the cluster's truth


def test_quota_error_is_one_line_and_the_config_is_untouched(session, cfg_path, fast):
    fake_response(session, "redshift.CreateCluster",
                  [{"Error": {"Code": "ClusterQuotaExceeded", "Message": "The request would exceed the quota"}}])
    before = cfg_path.read_text()
    with pytest.raises(ProvisioningError, match=r"^quota exceeded \(ClusterQuotaExceeded\) while creating "
                                                r"Redshift cluster 'test-dwh' in us-west-2"):
        create(cfg_path, fast, session)
    assert cfg_path.read_text() == before


def test_access_denied_names_the_resource(session, cfg_path, fast):
    fake_response(session, "iam.CreateRole", [{"Error": {"Code": "AccessDenied", "Message": "not allowed"}}])
    with pytest.raises(ProvisioningError, match=r"access denied \(AccessDenied\) while creating IAM role "
                                                r"'test-dwh-s3-read'"):
        create(cfg_path, fast, session)


# ---- delete ------------------------------------------------------------------------------------------


def test_delete_skips_the_final_snapshot_and_removes_everything(session, cfg_path, fast):
    create(cfg_path, fast)
    deleted = capture_params(session, "redshift.DeleteCluster")
    plans = []
    report = delete(cfg_path, fast, session, confirm=lambda plan: plans.append(plan) or True)
    assert deleted == [{"ClusterIdentifier": "test-dwh", "SkipFinalClusterSnapshot": True}]
    assert [(s.kind, s.outcome) for s in report.steps] == [("Redshift cluster", "deleted"), ("IAM role", "deleted"),
                                                          ("security group", "deleted")]
    assert "NO final snapshot" in plans[0][0] and len(plans[0]) == 3
    iam, ec2, redshift = clients()
    assert redshift.describe_clusters()["Clusters"] == []
    assert our_groups(ec2) == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="test-dwh-s3-read")


def test_delete_twice_and_on_nothing_succeeds(moto, cfg_path, fast):
    create(cfg_path, fast)
    assert len(delete(cfg_path, fast).removed) == 3
    asked = []
    again = delete(cfg_path, fast, confirm=lambda plan: asked.append(plan) or True)
    assert again.removed == [] and asked == []
    assert [s.outcome for s in again.steps] == ["not found"] * 3


def test_delete_with_a_final_snapshot(session, cfg_path, fast):
    create(cfg_path, fast)
    deleted = capture_params(session, "redshift.DeleteCluster")
    delete(cfg_path, fast, session, final_snapshot="test-dwh-final")
    assert deleted == [{"ClusterIdentifier": "test-dwh", "SkipFinalClusterSnapshot": False,
                        "FinalClusterSnapshotIdentifier": "test-dwh-final"}]
    snaps = clients()[2].describe_cluster_snapshots(SnapshotIdentifier="test-dwh-final")["Snapshots"]
    assert len(snaps) == 1


def test_bad_snapshot_name_is_refused_before_anything_happens(moto, cfg_path, fast):
    create(cfg_path, fast)
    with pytest.raises(ConfigError, match="--final-snapshot"):
        delete(cfg_path, fast, final_snapshot="bad--name-")
    assert len(clients()[2].describe_clusters()["Clusters"]) == 1


def test_delete_retries_while_the_cluster_is_busy(session, cfg_path, fast, sleeps):
    create(cfg_path, fast)
    busy = {"Error": {"Code": "InvalidClusterState", "Message": "There is an operation running on the Cluster"}}
    fake_response(session, "redshift.DeleteCluster", [busy, busy])
    calls = capture_params(session, "redshift.DeleteCluster")
    report = delete(cfg_path, fast, session)
    assert len(calls) == 3 and sleeps == [7, 7]
    assert report.steps[0].outcome == "deleted"


def test_delete_gives_up_after_bounded_retries(session, cfg_path, fast, sleeps):
    create(cfg_path, fast)
    busy = {"Error": {"Code": "InvalidClusterState", "Message": "There is an operation running on the Cluster"}}
    fake_response(session, "redshift.DeleteCluster", [busy] * 5)
    with pytest.raises(ProvisioningError, match="Redshift cluster 'test-dwh' is in a state that forbids deleting"):
        delete(cfg_path, fast, session)
    assert sleeps == [7, 7]  # 3 attempts
    assert len(clients()[2].describe_clusters()["Clusters"]) == 1


def test_security_group_deletion_waits_for_network_interfaces(session, cfg_path, fast, sleeps):
    create(cfg_path, fast)
    in_use = {"Error": {"Code": "DependencyViolation", "Message": "resource has a dependent object"}}
    fake_response(session, "ec2.DeleteSecurityGroup", [in_use])
    report = delete(cfg_path, fast, session)
    assert sleeps == [5] and report.steps[2].outcome == "deleted"
    assert our_groups(clients()[1]) == []


def test_delete_detaches_every_policy_before_deleting_the_role(moto, cfg_path, fast):
    create(cfg_path, fast)
    iam = clients()[0]
    iam.attach_role_policy(RoleName="test-dwh-s3-read",
                           PolicyArn="arn:aws:iam::aws:policy/AmazonRedshiftReadOnlyAccess")
    iam.put_role_policy(RoleName="test-dwh-s3-read", PolicyName="extra",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    report = delete(cfg_path, fast)
    assert report.steps[1].outcome == "deleted"
    assert "AmazonS3ReadOnlyAccess" in report.steps[1].detail and "inline extra" in report.steps[1].detail
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="test-dwh-s3-read")


def test_delete_leaves_a_role_we_did_not_make(moto, cfg_path, fast, caplog):
    create(cfg_path, fast)
    iam = clients()[0]
    iam.untag_role(RoleName="test-dwh-s3-read", TagKeys=[TAG_KEY])
    report = delete(cfg_path, fast)
    assert [s.outcome for s in report.steps] == ["deleted", "left in place", "deleted"]
    assert iam.get_role(RoleName="test-dwh-s3-read")["Role"]
    assert "not created by sparkify" in caplog.text
    # Only an untagged role is left: nothing to delete, so no question is asked.
    assert delete(cfg_path, fast, confirm=lambda plan: pytest.fail("asked")).removed == []


def test_declining_deletes_nothing(moto, cfg_path, fast):
    create(cfg_path, fast)
    assert delete(cfg_path, fast, confirm=lambda plan: False) is None
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


def test_a_node_type_the_region_does_not_sell_creates_nothing(session, tmp_path, fast):
    fake_response(session, "redshift.DescribeOrderableClusterOptions", [_page(NO_DC2)])
    path = write_cfg(tmp_path / "dwh.cfg", extra="DWH_NODE_TYPE = dc2.large\n")
    with pytest.raises(ProvisioningError, match="dc2.large is not orderable in us-west-2; orderable there: ra3.large"):
        create_all(load_dwh_settings(path), path, timing=fast, session=session, environ={})
    _nothing_exists()


def test_unset_node_type_becomes_the_smallest_orderable_one(session, tmp_path, fast, caplog):
    fake_response(session, "redshift.DescribeOrderableClusterOptions", [_page(NO_DC2)])
    created = capture_params(session, "redshift.CreateCluster")
    path = write_cfg(tmp_path / "dwh.cfg")
    report = create_all(load_dwh_settings(path), path, timing=fast, session=session, environ={})
    assert created[0]["NodeType"] == "ra3.large" and "ra3.large" in report.steps[2].detail
    lines = [r.getMessage() for r in caplog.records if "DWH_NODE_TYPE not set" in r.getMessage()]
    assert len(lines) == 1 and "using ra3.large, the smallest single-node type orderable there" in lines[0]


def test_an_endpoint_without_the_call_warns_once_and_proceeds(session, tmp_path, fast, caplog):
    """moto lacks DescribeOrderableClusterOptions (as a local emulator may): one warning, then the cluster."""
    created = capture_params(session, "redshift.CreateCluster")
    path = write_cfg(tmp_path / "dwh.cfg")
    create_all(load_dwh_settings(path), path, timing=fast, session=session, environ={})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "DescribeOrderableClusterOptions" in w] == [
        "the endpoint does not implement DescribeOrderableClusterOptions (a local emulator?): node type dc2.large "
        "not checked"]
    assert created[0]["NodeType"] == "dc2.large"


# ---- DWH_MODE = serverless: Redshift Serverless through botocore's Stubber (not in moto), the rest in moto ---

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/test-dwh-s3-read"
NS_ARN = f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/11111111-2222-3333-4444-555555555555"
WG_ARN = f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup/66666666-7777-8888-9999-000000000000"
WG_HOST = f"test-dwh.{ACCOUNT}.{REGION}.redshift-serverless.amazonaws.com"
TAGS = [{"key": TAG_KEY, "value": "true"}]


class StubbedSession:
    """The moto session, but its redshift-serverless client is one botocore Stubber answers: every request is
    checked against the service model and against the exact parameters each test expects, in order."""

    def __init__(self, session):
        from botocore.stub import Stubber

        self._session = session
        self.region_name = session.region_name
        self.rs = session.client("redshift-serverless", region_name=REGION)
        self.stub = Stubber(self.rs)
        self.sent: list[tuple[str, dict]] = []  # every redshift-serverless request, in order
        self.rs.meta.events.register("provide-client-params.redshift-serverless.*",
                                     lambda params, model, **kw: self.sent.append((model.name, dict(params))))

    def client(self, service, **kwargs):
        return self.rs if service == "redshift-serverless" else self._session.client(service, **kwargs)

    def expect(self, operation: str, response: dict, params: dict) -> None:
        self.stub.add_response(operation, response, params)

    def not_found(self, operation: str, params: dict) -> None:
        self.stub.add_client_error(operation, "ResourceNotFoundException", "not found", 400, expected_params=params)


@pytest.fixture
def serverless_session(session):
    stubbed = StubbedSession(session)
    with stubbed.stub:
        yield stubbed
    stubbed.stub.assert_no_pending_responses()


def _namespace(status="AVAILABLE", roles=(ROLE_ARN,), **extra):
    return {"namespace": {"namespaceName": "test-dwh", "namespaceArn": NS_ARN, "status": status,
                          "dbName": "sparkify", "adminUsername": "sparkify_admin", "defaultIamRoleArn": ROLE_ARN,
                          "iamRoles": [f"IamRole(applyStatus=in-sync, iamRoleArn={r})" for r in roles],
                          "kmsKeyId": "AWS_OWNED_KMS_KEY", **extra}}


def _workgroup(status="AVAILABLE", group_id="sg-12345678", **extra):
    wg = {"workgroupName": "test-dwh", "workgroupArn": WG_ARN, "namespaceName": "test-dwh", "status": status,
          "baseCapacity": 4, "publiclyAccessible": True, "securityGroupIds": [group_id], "port": 5439}
    if status == "AVAILABLE":
        wg["endpoint"] = {"address": WG_HOST, "port": 5439}
    return {"workgroup": {**wg, **extra}}


NS = {"namespaceName": "test-dwh"}
WG = {"workgroupName": "test-dwh"}
NAMESPACE_REQUEST = {"namespaceName": "test-dwh", "adminUsername": "sparkify_admin", "adminUserPassword": FAKE_PASSWORD,
                     "dbName": "sparkify", "defaultIamRoleArn": ROLE_ARN, "iamRoles": [ROLE_ARN], "tags": TAGS}
USAGE_LIMIT_REQUEST = {"resourceArn": WG_ARN, "usageType": "serverless-compute", "amount": 8, "period": "daily",
                       "breachAction": "deactivate"}


def _expect_first_create(s: StubbedSession, namespace_request=NAMESPACE_REQUEST, creating=2, **workgroup_request):
    from botocore.stub import ANY

    s.not_found("get_namespace", NS)
    s.expect("create_namespace", _namespace(), namespace_request)
    s.expect("get_namespace", _namespace(), NS)  # the wait: AVAILABLE at once
    s.expect("get_namespace", _namespace(), NS)  # read again after the wait
    s.not_found("get_workgroup", WG)
    request = {"workgroupName": "test-dwh", "namespaceName": "test-dwh", "baseCapacity": 4, "publiclyAccessible": True,
               "securityGroupIds": [ANY], "port": 5439, "tags": TAGS, **workgroup_request}
    s.expect("create_workgroup", _workgroup("CREATING"), request)
    for _ in range(creating):
        s.expect("get_workgroup", _workgroup("CREATING"), WG)
    s.expect("get_workgroup", _workgroup(), WG)
    s.expect("get_workgroup", _workgroup(), WG)
    s.expect("list_usage_limits", {}, {"resourceArn": WG_ARN, "usageType": "serverless-compute"})
    s.expect("create_usage_limit", {"usageLimit": {"usageLimitId": "limit-1", **USAGE_LIMIT_REQUEST}},
             USAGE_LIMIT_REQUEST)


def _serverless_cfg(tmp_path, extra=""):
    return write_cfg(tmp_path / "dwh.cfg", extra="DWH_MODE = serverless\n" + extra)


def test_serverless_create_asks_for_exactly_this(serverless_session, tmp_path, fast, sleeps, caplog, capsys):
    path = _serverless_cfg(tmp_path)
    _expect_first_create(serverless_session, creating=2)
    report = create(path, fast, serverless_session)
    iam, ec2, _ = clients()
    [group] = our_groups(ec2)
    # the dedicated security group, with its single /32 rule, is the workgroup's only one
    [(_, workgroup_request)] = [c for c in serverless_session.sent if c[0] == "CreateWorkgroup"]
    assert workgroup_request["securityGroupIds"] == [group["GroupId"]]
    assert [(p["IpProtocol"], p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]] \
        == [("tcp", 5439, ["203.0.113.7/32"])]
    assert iam.get_role(RoleName="test-dwh-s3-read")["Role"]["Arn"] == ROLE_ARN
    assert [(s.kind, s.outcome) for s in report.steps] == [
        ("IAM role", "created"), ("security group", "created"), ("namespace", "created"), ("workgroup", "created"),
        ("usage limit", "created"), ("config", "updated")]
    assert report.steps[2].detail == "AVAILABLE, database sparkify, encrypted with an AWS-owned key"
    assert report.steps[3].detail == f"AVAILABLE, {WG_HOST}:5439, base 4 RPUs, publicly accessible"
    assert report.steps[4].detail == "8 RPU-hours per day, then deactivate"
    cp = read_cfg(path)
    assert (cp["CLUSTER"]["HOST"], cp["CLUSTER"]["DB_NAME"], cp["CLUSTER"]["DB_USER"], cp["CLUSTER"]["DB_PORT"]) \
        == (WG_HOST, "sparkify", "sparkify_admin", "5439")
    assert cp["IAM_ROLE"]["ARN"] == ROLE_ARN
    # waited: two CREATING reads, each followed by a (recorded, not slept) pause, with progress lines
    assert sleeps == [0, 0]
    assert len([r for r in caplog.records if "is CREATING; waiting until it is available" in r.getMessage()]) == 2
    out, err = capsys.readouterr()
    assert FAKE_PASSWORD not in out + err + caplog.text


def test_serverless_create_again_reuses_everything(serverless_session, tmp_path, fast):
    path = _serverless_cfg(tmp_path)
    _expect_first_create(serverless_session, creating=0)
    create(path, fast, serverless_session)
    text = path.read_text()
    s = serverless_session
    s.expect("get_namespace", _namespace(), NS)
    s.expect("list_tags_for_resource", {"tags": TAGS}, {"resourceArn": NS_ARN})
    s.expect("get_namespace", _namespace(), NS)
    s.expect("get_namespace", _namespace(), NS)
    group_id = our_groups(clients()[1])[0]["GroupId"]
    s.expect("get_workgroup", _workgroup(group_id=group_id), WG)
    s.expect("list_tags_for_resource", {"tags": TAGS}, {"resourceArn": WG_ARN})
    s.expect("get_workgroup", _workgroup(group_id=group_id), WG)
    s.expect("get_workgroup", _workgroup(group_id=group_id), WG)
    s.expect("list_usage_limits", {"usageLimits": [{"usageLimitId": "limit-1", **USAGE_LIMIT_REQUEST}]},
             {"resourceArn": WG_ARN, "usageType": "serverless-compute"})
    start = len(s.sent)
    report = create(path, fast, s)
    assert [st.outcome for st in report.steps] == ["reused"] * 5 + ["unchanged"]
    assert path.read_text() == text
    assert len(s.sent) - start == 9 and not [op for op, _ in s.sent[start:] if op.startswith(("Create", "Update"))]


def test_serverless_managed_password_private_workgroup_own_key_and_limits(serverless_session, tmp_path, fast):
    path = _serverless_cfg(tmp_path, "DWH_MANAGED_PASSWORD = true\nDWH_PUBLICLY_ACCESSIBLE = false\n"
                                     "DWH_KMS_KEY_ID = alias/sparkify\nDWH_BASE_CAPACITY = 8\nDWH_USAGE_LIMIT = 2\n"
                                     "DWH_USAGE_LIMIT_ACTION = emit-metric\n")
    s = serverless_session
    request = {k: v for k, v in NAMESPACE_REQUEST.items() if k != "adminUserPassword"}
    request.update(manageAdminPassword=True, kmsKeyId="alias/sparkify")
    limit = {**USAGE_LIMIT_REQUEST, "amount": 2, "breachAction": "emit-metric"}
    from botocore.stub import ANY

    s.not_found("get_namespace", NS)
    s.expect("create_namespace", _namespace(kmsKeyId="alias/sparkify"), request)
    s.expect("get_namespace", _namespace(kmsKeyId="alias/sparkify"), NS)
    s.expect("get_namespace", _namespace(kmsKeyId="alias/sparkify"), NS)
    s.not_found("get_workgroup", WG)
    s.expect("create_workgroup", _workgroup("CREATING"), {
        "workgroupName": "test-dwh", "namespaceName": "test-dwh", "baseCapacity": 8, "publiclyAccessible": False,
        "securityGroupIds": [ANY], "port": 5439, "tags": TAGS})
    s.expect("get_workgroup", _workgroup(baseCapacity=8, publiclyAccessible=False), WG)
    s.expect("get_workgroup", _workgroup(baseCapacity=8, publiclyAccessible=False), WG)
    s.expect("list_usage_limits", {}, {"resourceArn": WG_ARN, "usageType": "serverless-compute"})
    s.expect("create_usage_limit", {"usageLimit": {"usageLimitId": "l", **limit}}, limit)
    report = create(path, fast, s)
    assert report.steps[2].detail.endswith("encrypted with alias/sparkify")
    assert report.steps[3].detail.endswith("base 8 RPUs, not publicly accessible")


def _expect_find(s: StubbedSession, workgroup_tags=TAGS, namespace_tags=TAGS):
    s.expect("get_workgroup", _workgroup(), WG)
    s.expect("list_tags_for_resource", {"tags": workgroup_tags}, {"resourceArn": WG_ARN})
    s.expect("get_namespace", _namespace(), NS)
    s.expect("list_tags_for_resource", {"tags": namespace_tags}, {"resourceArn": NS_ARN})


def test_serverless_delete_order_and_waits(serverless_session, tmp_path, fast, sleeps):
    path = _serverless_cfg(tmp_path)
    _expect_first_create(serverless_session, creating=0)
    create(path, fast, serverless_session)
    order = []
    for event in ("iam.DeleteRole", "ec2.DeleteSecurityGroup"):
        serverless_session._session.events.register(f"provide-client-params.{event}",
                                                    lambda event_name, **kw: order.append(event_name.split(".")[-1]))
    s = serverless_session
    _expect_find(s)
    s.expect("delete_workgroup", _workgroup("DELETING"), WG)
    s.expect("get_workgroup", _workgroup("DELETING"), WG)
    s.not_found("get_workgroup", WG)
    s.expect("delete_namespace", _namespace("DELETING"), {"namespaceName": "test-dwh", "finalSnapshotName": "last"})
    s.not_found("get_namespace", NS)
    start = len(s.sent)
    sleeps.clear()
    plans = []
    report = delete(path, fast, s, final_snapshot="last", confirm=lambda plan: plans.append(plan) or True)
    order = [op for op, _ in s.sent[start:] if op.startswith("Delete")] + order
    assert order == ["DeleteWorkgroup", "DeleteNamespace", "DeleteRole", "DeleteSecurityGroup"]
    assert sleeps == [0]  # one DELETING read, then gone
    assert [(st.kind, st.outcome) for st in report.steps] == [
        ("workgroup", "deleted"), ("namespace", "deleted"), ("IAM role", "deleted"), ("security group", "deleted")]
    assert report.steps[1].detail == "final snapshot 'last'"
    assert plans[0][:2] == ["delete Redshift Serverless workgroup 'test-dwh' in us-west-2 (AVAILABLE)",
                            "delete Redshift Serverless namespace 'test-dwh' in us-west-2 (AVAILABLE; final snapshot "
                            "'last')"]
    assert our_groups(clients()[1]) == []


def test_serverless_delete_keeps_what_is_not_tagged(serverless_session, tmp_path, fast, caplog):
    path = _serverless_cfg(tmp_path)
    _expect_first_create(serverless_session, creating=0)
    create(path, fast, serverless_session)
    s = serverless_session
    _expect_find(s, workgroup_tags=[], namespace_tags=[{"key": "team", "value": "data"}])
    start = len(s.sent)
    report = delete(path, fast, s)
    assert not [op for op, _ in s.sent[start:] if op.startswith("Delete")]
    assert [(st.kind, st.outcome) for st in report.steps][:2] == [("workgroup", "left in place"),
                                                                ("namespace", "left in place")]
    assert "workgroup 'test-dwh' has no sparkify:managed tag: not created by sparkify, left in place" in caplog.text


def test_serverless_delete_of_nothing(serverless_session, tmp_path, fast):
    path = _serverless_cfg(tmp_path)
    s = serverless_session
    s.not_found("get_workgroup", WG)
    s.not_found("get_namespace", NS)
    asked = []
    report = delete(path, fast, s, confirm=lambda plan: asked.append(plan) or True)
    assert report.removed == [] and asked == []
    assert [st.outcome for st in report.steps] == ["not found"] * 4
