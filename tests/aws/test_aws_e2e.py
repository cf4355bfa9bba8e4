"""End to end, as a user runs them: create_cluster.py then delete_cluster.py as subprocesses against moto's server
(strict, tests/helpers/strict_moto.py), in cluster mode and (with the Redshift Serverless stand-in beside it,
tests/helpers/serverless.py, as moto lacks that service) in serverless mode; including what a user may already
have: a role, cluster or namespace of the configured name that sparkify did not make, a role that also trusts
another account, and an [S3] section changed between two runs. moto's server is emptied before each test.
"""

from __future__ import annotations

import configparser
import json

from tests.helpers.dwhcfg import FAKE_PASSWORD, DwhCfg, edit
from tests.helpers.environment import script_environment
from tests.helpers.scripts import run_script

ACCOUNT = "123456789012"
TAGGED = [{"Key": "sparkify:managed", "Value": "true"}]
REDSHIFT_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


class User:
    """A user's shell: the scripts with a config file and an environment pointing at the local endpoints, and
    their AWS CLI (boto3 clients on the same endpoints) to look at or prepare what exists."""

    def __init__(self, tmp_path, moto_server, fake_serverless=None, cfg: DwhCfg | None = None):
        self.cfg = (cfg or DwhCfg.provisioning()).write(tmp_path / "dwh.cfg")
        self.endpoints = {"": moto_server.url}
        if fake_serverless is not None:
            self.endpoints["redshift-serverless"] = fake_serverless.url
        self.env = script_environment(self.endpoints)
        self._moto = moto_server

    def run(self, script: str, *args: str):
        proc = run_script(script, self.cfg, *args, env=self.env, timeout=120)
        assert FAKE_PASSWORD not in proc.stdout + proc.stderr
        return proc

    def client(self, service: str):
        if service == "redshift-serverless":
            import boto3

            return boto3.client(service, region_name="us-west-2", aws_access_key_id="testing",
                                aws_secret_access_key="testing", endpoint_url=self.endpoints[service])
        return self._moto.client(service)

    def config(self) -> configparser.ConfigParser:
        cp = configparser.ConfigParser(interpolation=None)
        cp.read(self.cfg)
        return cp

    def edit(self, old: str, new: str) -> None:
        edit(self.cfg, old, new)

    def role_policy(self, role: str) -> dict:
        return self.client("iam").get_role_policy(RoleName=role, PolicyName="sparkify-s3-read")["PolicyDocument"]


def lines(proc) -> list[str]:
    return proc.stdout.splitlines()


def outcomes(proc) -> list[str]:
    return [line.split(":")[0].strip() for line in lines(proc)]


# ---- cluster mode -----------------------------------------------------------------------------------------


def test_create_then_delete_against_moto_server(moto_server, tmp_path):
    user = User(tmp_path, moto_server)
    original = user.cfg.read_text()
    created = user.run("create_cluster.py")
    assert created.returncode == 0, created.stderr
    # moto_server lacks DescribeOrderableClusterOptions: one warning, then the classic node type
    assert created.stderr.count("does not implement DescribeOrderableClusterOptions") == 1
    assert lines(created)[0] == ("created        IAM role test-dwh-s3-read: S3 read-only on s3://udacity-dend/log_data*, "
                                 "s3://udacity-dend/song_data*, s3://udacity-dend/log_json_path.json")
    assert lines(created)[1].startswith("created        security group test-dwh-sg")
    assert "from 203.0.113.7/32 only" in lines(created)[1]
    assert lines(created)[2] == "created        parameter group test-dwh-params: require_ssl = true"
    assert lines(created)[3].startswith("created        Redshift cluster test-dwh: available")
    assert "encrypted" in lines(created)[3]
    cp = user.config()
    assert cp["CLUSTER"]["HOST"].startswith("test-dwh.") and cp["CLUSTER"]["DB_PORT"] == "5439"
    assert cp["IAM_ROLE"]["ARN"] == f"arn:aws:iam::{ACCOUNT}:role/test-dwh-s3-read"
    assert [line for line in original.splitlines() if line not in user.cfg.read_text().splitlines()] \
        == ["host = old-host.example.invalid"]
    iam = user.client("iam")
    assert iam.list_attached_role_policies(RoleName="test-dwh-s3-read")["AttachedPolicies"] == []
    trust = iam.get_role(RoleName="test-dwh-s3-read")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:redshift:us-west-2:{ACCOUNT}:cluster:test-dwh"}}
    redshift = user.client("redshift")
    ssl = [p for p in redshift.describe_cluster_parameters(ParameterGroupName="test-dwh-params")["Parameters"]
           if p["ParameterName"] == "require_ssl"]
    assert [(p["ParameterValue"], p["Source"]) for p in ssl] == [("true", "user")]

    again = user.run("create_cluster.py")
    assert again.returncode == 0, again.stderr
    assert [line.split()[0] for line in lines(again)[:5]] == ["reused"] * 4 + ["unchanged"]

    refused = user.run("delete_cluster.py")  # no terminal, no --yes
    assert refused.returncode == 1 and "--yes" in refused.stderr

    deleted = user.run("delete_cluster.py", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "removed 4 resource(s)" in deleted.stdout
    assert "deleted        Redshift cluster test-dwh: no final snapshot" in deleted.stdout
    assert "deleted        parameter group test-dwh-params" in deleted.stdout
    assert redshift.describe_clusters()["Clusters"] == []

    nothing = user.run("delete_cluster.py", "--yes")
    assert nothing.returncode == 0, nothing.stderr
    assert "nothing to delete in us-west-2" in nothing.stdout


def test_a_changed_s3_section_between_two_runs(moto_server, tmp_path):
    user = User(tmp_path, moto_server)
    assert user.run("create_cluster.py").returncode == 0
    user.edit("SONG_DATA = s3://udacity-dend/song_data", "SONG_DATA = s3://my-songs/2018/\n"
                                                           "MANIFEST_PREFIX = s3://my-songs/manifests/")
    again = user.run("create_cluster.py")
    assert again.returncode == 0, again.stderr
    assert lines(again)[0] == ("updated        IAM role test-dwh-s3-read: S3 read-only on s3://udacity-dend/log_data*, "
                               "s3://my-songs/2018/*, s3://udacity-dend/log_json_path.json, s3://my-songs/manifests/*")
    assert "[S3] changed: the role may now read" in again.stderr
    resources = user.role_policy("test-dwh-s3-read")["Statement"][-1]["Resource"]
    assert resources == ["arn:aws:s3:::udacity-dend/log_data*", "arn:aws:s3:::my-songs/2018/*",
                         "arn:aws:s3:::udacity-dend/log_json_path.json", "arn:aws:s3:::my-songs/manifests/*"]
    assert "song_data" not in json.dumps(user.role_policy("test-dwh-s3-read"))
    assert user.run("delete_cluster.py", "--yes").returncode == 0


def test_a_role_we_did_not_make_stops_create_cluster(moto_server, tmp_path):
    user = User(tmp_path, moto_server)
    user.client("iam").create_role(RoleName="test-dwh-s3-read", AssumeRolePolicyDocument=json.dumps(REDSHIFT_TRUST))
    created = user.run("create_cluster.py")
    assert created.returncode == 1
    assert created.stderr.strip().splitlines()[-1] == (
        "create_cluster.py: IAM role 'test-dwh-s3-read' exists but was not created by sparkify (no sparkify:managed "
        "tag): sparkify changes only the roles it made; choose another DWH_IAM_ROLE_NAME, or delete that role "
        "(nothing was created)")
    assert user.client("redshift").describe_clusters()["Clusters"] == []
    assert user.client("iam").list_role_policies(RoleName="test-dwh-s3-read")["PolicyNames"] == []
    assert user.config()["CLUSTER"]["HOST"] == "old-host.example.invalid"
    kept = user.run("delete_cluster.py", "--yes")
    assert kept.returncode == 0 and "left in place  IAM role test-dwh-s3-read" in kept.stdout
    assert user.client("iam").get_role(RoleName="test-dwh-s3-read")


def test_our_role_that_also_trusts_another_account_stops_create_cluster(moto_server, tmp_path):
    user = User(tmp_path, moto_server)
    trust = {"Version": "2012-10-17", "Statement": [
        *REDSHIFT_TRUST["Statement"],
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]}
    user.client("iam").create_role(RoleName="test-dwh-s3-read", AssumeRolePolicyDocument=json.dumps(trust),
                                   Tags=TAGGED)
    created = user.run("create_cluster.py")
    assert created.returncode == 1
    assert created.stderr.strip().splitlines()[-1].startswith(
        "create_cluster.py: IAM role 'test-dwh-s3-read' also trusts arn:aws:iam::999999999999:root: sparkify reuses "
        "a role only if its trust policy lets Redshift alone assume it, for account 123456789012")
    assert user.client("redshift").describe_clusters()["Clusters"] == []
    assert user.client("iam").list_role_policies(RoleName="test-dwh-s3-read")["PolicyNames"] == []


def test_a_cluster_we_did_not_make_is_used_as_it_is_and_kept(moto_server, tmp_path):
    user = User(tmp_path, moto_server)
    redshift = user.client("redshift")
    redshift.create_cluster(ClusterIdentifier="test-dwh", ClusterType="single-node", NodeType="dc2.large",
                            DBName="dev", MasterUsername="someone", MasterUserPassword=FAKE_PASSWORD)
    created = user.run("create_cluster.py")
    assert created.returncode == 0, created.stderr
    assert lines(created)[3].startswith("reused         Redshift cluster test-dwh: available")
    assert lines(created)[3].endswith("not created by sparkify: not modified")
    assert "aws redshift modify-cluster-iam-roles --cluster-identifier test-dwh" in created.stderr
    cluster = redshift.describe_clusters(ClusterIdentifier="test-dwh")["Clusters"][0]
    assert cluster["IamRoles"] == []  # not given our role
    assert [g["ParameterGroupName"] for g in cluster["ClusterParameterGroups"]] == ["default.redshift-1.0"]

    deleted = user.run("delete_cluster.py", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "left in place  Redshift cluster test-dwh: not created by sparkify" in deleted.stdout
    assert "removed 3 resource(s)" in deleted.stdout  # the parameter group, the role, the security group
    assert len(redshift.describe_clusters()["Clusters"]) == 1


# ---- serverless mode --------------------------------------------------------------------------------------


def _serverless_user(tmp_path, moto_server, fake_serverless) -> User:
    cfg = DwhCfg.provisioning().set("DWH", DWH_CLUSTER_IDENTIFIER="test-sls", DWH_MODE="serverless")
    return User(tmp_path, moto_server, fake_serverless, cfg)


def test_serverless_create_then_delete_against_moto_server(moto_server, fake_serverless, tmp_path):
    user = _serverless_user(tmp_path, moto_server, fake_serverless)
    created = user.run("create_cluster.py")
    assert created.returncode == 0, created.stderr
    host = "test-sls.123456789012.us-west-2.redshift-serverless.amazonaws.com"
    out = lines(created)
    assert [line.split(":")[0] for line in out[:5]] == [
        "created        IAM role test-sls-s3-read", "created        security group test-sls-sg",
        "created        namespace test-sls", "created        workgroup test-sls", "created        usage limit test-sls"]
    group_id = out[1].split(": ")[1].split(",")[0]
    assert out[2].endswith("AVAILABLE, database sparkify, encrypted with an AWS-owned key")
    assert out[3].endswith(f"AVAILABLE, {host}:5439, base 4 RPUs, publicly accessible")
    assert out[-1] == f"workgroup ready: {host}:5439 database sparkify user sparkify_admin"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/test-sls-s3-read"
    trust = user.client("iam").get_role(RoleName="test-sls-s3-read")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    [namespace] = fake_serverless.calls("CreateNamespace")
    assert namespace == {"namespaceName": "test-sls", "adminUsername": "sparkify_admin",
                         "adminUserPassword": FAKE_PASSWORD, "dbName": "sparkify", "defaultIamRoleArn": role_arn,
                         "iamRoles": [role_arn], "tags": [{"key": "sparkify:managed", "value": "true"}]}
    [workgroup] = fake_serverless.calls("CreateWorkgroup")
    assert workgroup == {"workgroupName": "test-sls", "namespaceName": "test-sls", "baseCapacity": 4,
                         "publiclyAccessible": True, "securityGroupIds": [group_id], "port": 5439,
                         "configParameters": [{"parameterKey": "require_ssl", "parameterValue": "true"}],
                         "tags": [{"key": "sparkify:managed", "value": "true"}]}
    [limit] = fake_serverless.calls("CreateUsageLimit")
    wg_arn = fake_serverless.workgroups["test-sls"]["workgroupArn"]
    assert limit == {"resourceArn": wg_arn, "usageType": "serverless-compute", "amount": 8, "period": "daily",
                     "breachAction": "deactivate"}
    cp = user.config()
    assert (cp["CLUSTER"]["HOST"], cp["CLUSTER"]["DB_PORT"], cp["IAM_ROLE"]["ARN"]) == (host, "5439", role_arn)

    user.edit("LOG_DATA = s3://udacity-dend/log_data", "LOG_DATA = s3://my-logs/events/")  # [S3] changed
    again = user.run("create_cluster.py")
    assert again.returncode == 0, again.stderr
    assert [line.split()[0] for line in lines(again)[:6]] == ["updated"] + ["reused"] * 4 + ["unchanged"]
    assert "s3://my-logs/events/*" in lines(again)[0] and "log_data" not in lines(again)[0]
    assert user.role_policy("test-sls-s3-read")["Statement"][0]["Resource"] == "arn:aws:s3:::my-logs"
    assert [op for op in fake_serverless.operations() if op.startswith(("Create", "Update"))] == [
        "CreateNamespace", "CreateWorkgroup", "CreateUsageLimit"]

    deleted = user.run("delete_cluster.py", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert [line.split(":")[0] for line in lines(deleted)[:4]] == [
        "deleted        workgroup test-sls", "deleted        namespace test-sls",
        "deleted        IAM role test-sls-s3-read", "deleted        security group test-sls-sg"]
    assert "removed 4 resource(s)" in deleted.stdout
    assert [op for op in fake_serverless.operations() if op.startswith("Delete")] == [
        "DeleteWorkgroup", "DeleteNamespace"]
    assert fake_serverless.namespaces == {} and fake_serverless.workgroups == {}


def test_serverless_namespace_we_did_not_make_is_not_modified_nor_deleted(moto_server, fake_serverless, tmp_path):
    user = _serverless_user(tmp_path, moto_server, fake_serverless)
    rs = user.client("redshift-serverless")
    rs.create_namespace(namespaceName="test-sls", adminUsername="someone", adminUserPassword=FAKE_PASSWORD,
                        dbName="theirs")
    created = user.run("create_cluster.py")
    assert created.returncode == 0, created.stderr
    assert "without the sparkify:managed tag: using it as it is (not modified)" in created.stderr
    assert "aws redshift-serverless update-namespace --namespace-name test-sls" in created.stderr
    assert "UpdateNamespace" not in fake_serverless.operations()
    assert fake_serverless.namespaces["test-sls"]["iamRoles"] == []
    assert user.config()["CLUSTER"]["DB_NAME"] == "theirs"

    deleted = user.run("delete_cluster.py", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted        workgroup test-sls" in deleted.stdout  # ours, in their namespace
    assert "left in place  namespace test-sls: not created by sparkify" in deleted.stdout
    assert "DeleteNamespace" not in fake_serverless.operations()
    assert list(fake_serverless.namespaces) == ["test-sls"]


def test_serverless_role_we_did_not_make_stops_create_cluster(moto_server, fake_serverless, tmp_path):
    user = _serverless_user(tmp_path, moto_server, fake_serverless)
    user.client("iam").create_role(RoleName="test-sls-s3-read", AssumeRolePolicyDocument=json.dumps(REDSHIFT_TRUST))
    created = user.run("create_cluster.py")
    assert created.returncode == 1
    assert "IAM role 'test-sls-s3-read' exists but was not created by sparkify" in created.stderr
    assert fake_serverless.operations() == []
