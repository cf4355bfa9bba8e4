"""create_all / delete_all with DWH_MODE = serverless: Redshift Serverless through botocore's Stubber (moto lacks
it; every request is checked against the service model and the exact parameters each test expects), the rest
(IAM, EC2) in moto."""

from __future__ import annotations

import pytest

from sparkify.aws.base import TAG_KEY
from tests.helpers.dwhcfg import FAKE_PASSWORD, DwhCfg
from tests.helpers.provisioning import REGION, clients, create, delete, our_groups, read_cfg

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
def serverless_session(boto_session):
    stubbed = StubbedSession(boto_session)
    with stubbed.stub:
        yield stubbed
    stubbed.stub.assert_no_pending_responses()


def _namespace(status="AVAILABLE", roles=(ROLE_ARN,), **extra):
    return {"namespace": {"namespaceName": "test-dwh", "namespaceArn": NS_ARN, "status": status,
                          "dbName": "sparkify", "adminUsername": "sparkify_admin", "defaultIamRoleArn": ROLE_ARN,
                          "iamRoles": [f"IamRole(applyStatus=in-sync, iamRoleArn={r})" for r in roles],
                          "kmsKeyId": "AWS_OWNED_KMS_KEY", **extra}}


def _workgroup(status="AVAILABLE", group_id="sg-12345678", require_ssl="true", **extra):
    wg = {"workgroupName": "test-dwh", "workgroupArn": WG_ARN, "namespaceName": "test-dwh", "status": status,
          "baseCapacity": 4, "publiclyAccessible": True, "securityGroupIds": [group_id], "port": 5439,
          "configParameters": [{"parameterKey": "require_ssl", "parameterValue": require_ssl}]}
    if status == "AVAILABLE":
        wg["endpoint"] = {"address": WG_HOST, "port": 5439}
    return {"workgroup": {**wg, **extra}}


REQUIRE_SSL = [{"parameterKey": "require_ssl", "parameterValue": "true"}]
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
               "securityGroupIds": [ANY], "port": 5439, "configParameters": REQUIRE_SSL, "tags": TAGS,
               **workgroup_request}
    s.expect("create_workgroup", _workgroup("CREATING"), request)
    for _ in range(creating):
        s.expect("get_workgroup", _workgroup("CREATING"), WG)
    s.expect("get_workgroup", _workgroup(), WG)
    s.expect("get_workgroup", _workgroup(), WG)
    s.expect("list_usage_limits", {}, {"resourceArn": WG_ARN, "usageType": "serverless-compute"})
    s.expect("create_usage_limit", {"usageLimit": {"usageLimitId": "limit-1", **USAGE_LIMIT_REQUEST}},
             USAGE_LIMIT_REQUEST)


def _serverless_cfg(tmp_path, **dwh):
    return DwhCfg.provisioning().set("DWH", DWH_MODE="serverless", **dwh).write(tmp_path / "dwh.cfg")


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
    path = _serverless_cfg(tmp_path, DWH_MANAGED_PASSWORD="true", DWH_PUBLICLY_ACCESSIBLE="false",
                           DWH_KMS_KEY_ID="alias/sparkify", DWH_BASE_CAPACITY=8, DWH_USAGE_LIMIT=2,
                           DWH_USAGE_LIMIT_ACTION="emit-metric")
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
        "securityGroupIds": [ANY], "port": 5439, "configParameters": REQUIRE_SSL, "tags": TAGS})
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
                            ("delete Redshift Serverless namespace 'test-dwh' in us-west-2 (AVAILABLE; final snapshot "
                            "'last')")]
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


def _expect_reuse(s: StubbedSession, *, namespace_tags=TAGS, workgroup_tags=TAGS, namespace=None, require_ssl="true"):
    """A second create_cluster.py over an existing namespace and workgroup: reads and tag checks only, up to the
    workgroup's second read (what follows depends on the test)."""
    namespace = namespace or _namespace()
    s.expect("get_namespace", namespace, NS)
    s.expect("list_tags_for_resource", {"tags": namespace_tags}, {"resourceArn": NS_ARN})
    s.expect("get_namespace", namespace, NS)
    s.expect("get_namespace", namespace, NS)
    group_id = our_groups(clients()[1])[0]["GroupId"]
    s.expect("get_workgroup", _workgroup(group_id=group_id, require_ssl=require_ssl), WG)
    s.expect("list_tags_for_resource", {"tags": workgroup_tags}, {"resourceArn": WG_ARN})
    s.expect("get_workgroup", _workgroup(group_id=group_id, require_ssl=require_ssl), WG)
    s.expect("get_workgroup", _workgroup(group_id=group_id, require_ssl=require_ssl), WG)
    return group_id


def test_serverless_namespace_and_workgroup_we_did_not_make_are_used_but_not_modified(serverless_session, tmp_path,
                                                                                       fast, caplog):
    """Someone else's namespace lacks our role and their workgroup does not require SSL: said, not changed."""
    path = _serverless_cfg(tmp_path)
    _expect_first_create(serverless_session, creating=0)
    create(path, fast, serverless_session)
    s = serverless_session
    other_role = f"arn:aws:iam::{ACCOUNT}:role/theirs"
    _expect_reuse(s, namespace_tags=[], workgroup_tags=[{"key": "team", "value": "data"}], require_ssl="false",
                  namespace=_namespace(roles=(other_role,), defaultIamRoleArn=other_role))
    start = len(s.sent)
    report = create(path, fast, s)  # the Stubber fails the test on any request not listed above
    assert not [op for op, _ in s.sent[start:] if op.startswith(("Create", "Update"))]
    assert [(st.kind, st.outcome) for st in report.steps][2:5] == [
        ("namespace", "reused"), ("workgroup", "reused"), ("usage limit", "left in place")]
    assert report.steps[3].detail.endswith("not created by sparkify: not modified")
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert (f"aws redshift-serverless update-namespace --namespace-name test-dwh --iam-roles {other_role} "
            f"{ROLE_ARN} --default-iam-role-arn {ROLE_ARN}") in warnings
    assert ("does not require SSL (require_ssl is false)" in warnings
            and "--config-parameters parameterKey=require_ssl,parameterValue=true" in warnings)


def test_serverless_our_workgroup_without_require_ssl_gets_it(serverless_session, tmp_path, fast):
    path = _serverless_cfg(tmp_path)
    _expect_first_create(serverless_session, creating=0)
    create(path, fast, serverless_session)
    s = serverless_session
    group_id = _expect_reuse(s, require_ssl="false")
    s.expect("update_workgroup", _workgroup(group_id=group_id), {"workgroupName": "test-dwh",
                                                                 "configParameters": REQUIRE_SSL})
    s.expect("get_workgroup", _workgroup(group_id=group_id), WG)  # the wait: AVAILABLE at once
    s.expect("get_workgroup", _workgroup(group_id=group_id), WG)
    s.expect("list_usage_limits", {"usageLimits": [{"usageLimitId": "limit-1", **USAGE_LIMIT_REQUEST}]},
             {"resourceArn": WG_ARN, "usageType": "serverless-compute"})
    report = create(path, fast, s)
    assert [(st.kind, st.outcome) for st in report.steps][3] == ("workgroup", "updated")


@pytest.mark.parametrize("parameters, message", [
    ([{"parameterKey": "requireSsl", "parameterValue": "true"}], "Invalid parameter key: requireSsl"),
    ([{"parameterKey": "require_ssl", "parameterValue": "yes"}], "Invalid value for require_ssl: yes"),
])
def test_the_serverless_stand_in_validates_config_parameters_as_aws_does(fake_serverless, parameters,
                                                                          message):
    import boto3

    rs = boto3.client("redshift-serverless", region_name=REGION, endpoint_url=fake_serverless.url)
    rs.create_namespace(namespaceName="test-dwh", adminUsername="admin", adminUserPassword=FAKE_PASSWORD)
    with pytest.raises(rs.exceptions.ValidationException, match=message):
        rs.create_workgroup(workgroupName="test-dwh", namespaceName="test-dwh", configParameters=parameters)
    assert fake_serverless.workgroups == {}
    rs.create_workgroup(workgroupName="test-dwh", namespaceName="test-dwh", configParameters=REQUIRE_SSL)
    values = {p["parameterKey"]: p["parameterValue"]
              for p in rs.get_workgroup(workgroupName="test-dwh")["workgroup"]["configParameters"]}
    assert values["require_ssl"] == "true"
    with pytest.raises(rs.exceptions.ValidationException, match=message):
        rs.update_workgroup(workgroupName="test-dwh", configParameters=parameters)
