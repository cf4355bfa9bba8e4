"""The preflight's IAM and S3 checks against moto (never real AWS)."""

from __future__ import annotations

import json

import pytest

from sparkify import preflight
from sparkify.aws.policies import evaluate_policies
from sparkify.preflight.clients import AwsClients
from sparkify.preflight.role import role_policy_documents
from tests.helpers.dwhcfg import DwhCfg
from tests.helpers.strict_moto import add_aws_managed_policies


@pytest.fixture
def run(boto_session):
    """run(config, session=None) -> the AWS findings, with moto."""
    return lambda config, session=None: preflight.check_aws(config, session=session or boto_session)


def by_check(findings) -> dict:
    out = {}
    for f in findings:
        out.setdefault(f.check, []).append(f)
    return out


def only(findings, check):
    (finding,) = by_check(findings)[check]
    return finding


def test_a_correct_setup_is_all_ok(aws_world, tmp_path, run):
    world = aws_world()
    findings = run(world.config(tmp_path))
    assert [f.line() for f in findings if f.level != "ok"] == []
    assert [f.line() for f in findings] == [
        "ok    aws.credentials: checking as arn:aws:sts::123456789012:user/moto",
        "ok    iam.role: role sparkify-dwh-s3-read exists and Redshift may assume it",
        "ok    iam.attached: role sparkify-dwh-s3-read is attached to cluster sparkify-dwh",
        "ok    s3.region: bucket udacity-dend is in us-west-2 = [S3] REGION",
        "ok    s3.log_data: s3://udacity-dend/log_data holds objects (e.g. log_data/2018/11/2018-11-01-events.json)",
        "ok    s3.song_data: s3://udacity-dend/song_data holds objects (e.g. song_data/A/A/A/TRAAAAK128F9318786.json)",
        ("ok    s3.log_jsonpath: s3://udacity-dend/log_json_path.json has 18 JSONPaths = the 18 columns of "
        "staging_events"),
        ("ok    iam.s3_read: role sparkify-dwh-s3-read's policies allow s3:ListBucket and s3:GetObject on the "
        "configured prefixes of udacity-dend"),
    ]


# --------------------------------------------------------------------------------------------------
# Regions


def test_region_set_to_the_wrong_one(aws_world, tmp_path, run):
    world = aws_world()
    finding = only(run(world.config(tmp_path, region="us-east-1")), "s3.region")
    assert finding.line() == ("FATAL s3.region: bucket udacity-dend is in us-west-2 but [S3] REGION = us-east-1: "
                              "set REGION = us-west-2")
    assert preflight.exit_code([finding]) == 1


def test_region_missing_while_the_cluster_is_elsewhere(aws_world, tmp_path, run):
    world = aws_world(cluster_region="us-east-1", bucket_region="us-west-2")
    finding = only(run(world.config(tmp_path, region=None)), "s3.region")
    assert finding.line() == ("FATAL s3.region: bucket udacity-dend is in us-west-2, the cluster in us-east-1, and "
                              "[S3] REGION is not set: set REGION = us-west-2")


def test_region_not_needed_in_the_same_region(aws_world, tmp_path, run):
    world = aws_world(cluster_region="eu-west-1", bucket_region="eu-west-1")
    findings = run(world.config(tmp_path, region=None))
    assert only(findings, "s3.region").line() == (
        "ok    s3.region: bucket udacity-dend is in eu-west-1, like the cluster ([S3] REGION not needed)")
    assert preflight.exit_code(findings) == 0


def test_bucket_in_us_east_1(aws_world, tmp_path, run):
    world = aws_world(cluster_region="us-east-1", bucket_region="us-east-1")
    assert only(run(world.config(tmp_path, region=None)), "s3.region").level == "ok"


def test_each_bucket_is_checked(aws_world, tmp_path, run):
    import boto3

    world = aws_world()
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="my-songs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="my-songs", Key="song_data/a.json", Body=b"{}")
    findings = run(world.config(tmp_path, song_data="s3://my-songs/song_data"))
    assert [f.line() for f in by_check(findings)["s3.region"]] == [
        "ok    s3.region: bucket udacity-dend is in us-west-2 = [S3] REGION",
        "FATAL s3.region: bucket my-songs is in eu-west-1 but [S3] REGION = us-west-2: set REGION = eu-west-1",
    ]


def test_region_from_head_bucket_when_get_bucket_location_is_denied(aws_world, tmp_path, boto_session, run):
    """udacity-dend belongs to another account: GetBucketLocation is denied, HeadBucket still names the region."""
    from botocore.awsrequest import AWSResponse

    world = aws_world()
    session = boto_session

    def deny(params, **kwargs):
        return AWSResponse("https://s3.invalid/", 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"}}

    session.events.register("before-call.s3.GetBucketLocation", deny)
    assert only(run(world.config(tmp_path), session), "s3.region").line() == (
        "ok    s3.region: bucket udacity-dend is in us-west-2 = [S3] REGION")


def test_missing_bucket(aws_world, tmp_path, run):
    world = aws_world()
    findings = run(world.config(tmp_path, bucket="no-such-bucket-here"))
    assert only(findings, "s3.region").line() == (
        "FATAL s3.region: bucket no-such-bucket-here does not exist: check [S3]")
    assert only(findings, "s3.log_data").line() == (
        "FATAL s3.log_data: bucket no-such-bucket-here does not exist: check [S3] LOG_DATA")


# --------------------------------------------------------------------------------------------------
# Prefixes and the JSONPaths file


def test_empty_prefix(aws_world, tmp_path, run):
    world = aws_world(song_keys=[])
    findings = run(world.config(tmp_path))
    assert only(findings, "s3.song_data").line() == (
        "FATAL s3.song_data: no object under s3://udacity-dend/song_data: check [S3] SONG_DATA")
    assert only(findings, "s3.log_data").level == "ok"


def test_misspelt_prefix(aws_world, tmp_path, run):
    world = aws_world()
    finding = only(run(world.config(tmp_path, log_data="s3://udacity-dend/logdata")), "s3.log_data")
    assert finding.level == "fatal" and "no object under s3://udacity-dend/logdata" in finding.message


@pytest.mark.parametrize("jsonpaths, text", [
    ({"jsonpaths": ["$.a"] * 17}, "has 17 paths but staging_events has 18 columns"),
    (None, "s3://udacity-dend/log_json_path.json does not exist: check [S3] LOG_JSONPATH"),
    (b"{not json", "is not valid JSON"),
])
def test_bad_jsonpaths_file(jsonpaths, text, aws_world, tmp_path, run):
    world = aws_world(jsonpaths=jsonpaths)
    finding = only(run(world.config(tmp_path)), "s3.log_jsonpath")
    assert finding.level == "fatal" and text in finding.message


# --------------------------------------------------------------------------------------------------
# The IAM role


def test_role_does_not_exist(aws_world, tmp_path, run):
    world = aws_world(create_role=False, attach=False)
    findings = run(world.config(tmp_path))
    assert only(findings, "iam.role").line() == (
        "FATAL iam.role: role sparkify-dwh-s3-read does not exist in account 123456789012: check [IAM_ROLE] ARN "
        "(create_cluster.py creates the role and writes it)")
    assert only(findings, "iam.attached").level == "fatal"
    assert "iam.s3_read" not in by_check(findings)


def test_role_not_attached_to_the_cluster(aws_world, tmp_path, run):
    world = aws_world(attach=False)
    finding = only(run(world.config(tmp_path)), "iam.attached")
    assert finding.line() == (
        "FATAL iam.attached: role sparkify-dwh-s3-read is not attached to cluster sparkify-dwh (it has no role): "
        "aws redshift modify-cluster-iam-roles --cluster-identifier sparkify-dwh --add-iam-roles "
        "arn:aws:iam::123456789012:role/sparkify-dwh-s3-read")


def test_role_redshift_cannot_assume(aws_world, tmp_path, run):
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    world = aws_world(trust=trust)
    finding = only(run(world.config(tmp_path)), "iam.role")
    assert finding.level == "fatal" and "its trust policy must allow redshift.amazonaws.com" in finding.message


def test_role_redshift_may_assume_only_for_another_account(aws_world, tmp_path, run):
    from sparkify.aws.policies import trust_policy

    world = aws_world(trust=trust_policy("999999999999"))
    assert only(run(world.config(tmp_path)), "iam.role").line() == (
        "FATAL iam.role: role sparkify-dwh-s3-read lets Redshift assume it only for another account "
        "(aws:SourceAccount), not 123456789012: fix its trust policy")


def test_the_trust_policy_create_cluster_writes_passes(aws_world, tmp_path, run):
    from sparkify.aws.policies import trust_policy

    world = aws_world(trust=trust_policy("123456789012", "arn:aws:redshift:us-west-2:123456789012:cluster:sparkify-dwh"))
    assert only(run(world.config(tmp_path)), "iam.role").level == "ok"


def test_role_without_s3_access(aws_world, tmp_path, run):
    world = aws_world(policies=())
    finding = only(run(world.config(tmp_path)), "iam.s3_read")
    assert finding.line() == (
        "FATAL iam.s3_read: role sparkify-dwh-s3-read may not s3:ListBucket on arn:aws:s3:::udacity-dend (prefix "
        "'log_data') (and 4 more): COPY needs it; run create_cluster.py (it scopes the role it made to [S3]), or "
        "allow it in one of the role's policies")


def test_inline_policy_that_forgets_a_prefix(aws_world, tmp_path, run):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::udacity-dend"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::udacity-dend/log_data/*",
                                                                    "arn:aws:s3:::udacity-dend/log_json_path.json"]},
    ]}
    world = aws_world(policies=(), inline={"read-logs": policy})
    finding = only(run(world.config(tmp_path)), "iam.s3_read")
    assert finding.level == "fatal"
    song = "arn:aws:s3:::udacity-dend/song_data/A/A/A/TRAAAAK128F9318786.json"
    assert f"may not s3:GetObject on {song}:" in finding.message


def test_inline_policy_on_the_bucket_is_enough(aws_world, tmp_path, run):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::udacity-dend", "arn:aws:s3:::udacity-dend/*"]}]}
    world = aws_world(policies=(), inline={"read-bucket": policy})
    assert only(run(world.config(tmp_path)), "iam.s3_read").level == "ok"


def test_a_deny_wins(aws_world, tmp_path, run):
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::udacity-dend/song_data/*"}]}
    world = aws_world(inline={"no-songs": deny})
    finding = only(run(world.config(tmp_path)), "iam.s3_read")
    assert finding.level == "fatal" and "(denied)" in finding.message


def test_role_in_another_account_is_not_checked(aws_world, tmp_path, run):
    world = aws_world()
    findings = run(world.config(tmp_path, arn="arn:aws:iam::999999999999:role/theirs"))
    assert only(findings, "iam.role").level == "warn"
    assert "iam.attached" not in by_check(findings) and "iam.s3_read" not in by_check(findings)


def test_cluster_found_by_dwh_identifier_when_host_is_not_an_endpoint(aws_world, tmp_path, run):
    world = aws_world(attach=False)
    config = world.config(tmp_path, host="127.0.0.1",
                          dwh={"DWH_CLUSTER_IDENTIFIER": "sparkify-dwh", "DWH_REGION": "us-west-2"})
    assert only(run(config), "iam.attached").message.startswith(
        "role sparkify-dwh-s3-read is not attached to cluster sparkify-dwh")


def test_cluster_not_visible(aws_world, tmp_path, run):
    world = aws_world()
    finding = only(run(world.config(tmp_path, host="other.c1a2b3c4d5e6.us-west-2.redshift.amazonaws.com")),
                   "iam.attached")
    assert finding.level == "warn"
    assert "is not visible to your AWS credentials in us-west-2" in finding.message


# --------------------------------------------------------------------------------------------------
# Credentials


def test_without_aws_credentials_the_aws_checks_are_skipped(monkeypatch, tmp_path):
    """No moto here (it would provide credentials): boto3 finds none and no request is made."""
    import boto3

    from sparkify.config import load_config

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    config = load_config(DwhCfg.redshift().write(tmp_path / "dwh.cfg"), environ={})
    findings = preflight.check_aws(config, session=boto3.Session())
    assert [f.line() for f in findings] == [
        ("WARN  aws.credentials: no AWS credentials found: the IAM role and S3 checks are skipped (they use your "
        "credentials; etl.py itself needs none)")]
    assert preflight.exit_code(findings) == 0


def test_without_aws_credentials_a_data_api_run_cannot_start(monkeypatch, tmp_path):
    """TRANSPORT = data-api sends every statement with the AWS credentials: having none is fatal, not a skip."""
    import boto3

    from sparkify.config import load_config

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    cfg = DwhCfg.redshift().set("CLUSTER", TRANSPORT="data-api", DB_PASSWORD=None).write(tmp_path / "dwh.cfg")
    findings = preflight.check_aws(load_config(cfg, environ={}), session=boto3.Session())
    assert [f.line() for f in findings] == [
        ("FATAL aws.credentials: no AWS credentials found: TRANSPORT = data-api sends every statement with them "
         "(aws configure, or AWS_PROFILE)")]
    assert preflight.exit_code(findings) == 1


def test_the_aws_managed_read_only_policy_allows_copy(aws_world):
    """A role with AWS's AmazonS3ReadOnlyAccess (what earlier versions of create_cluster.py attached): its real
    document allows COPY."""
    import boto3

    world = aws_world(policies=add_aws_managed_policies("AmazonS3ReadOnlyAccess"))
    role = boto3.client("iam").get_role(RoleName="sparkify-dwh-s3-read")["Role"]
    docs, boundary = role_policy_documents(AwsClients(boto3.Session()), role)
    assert boundary == []
    assert evaluate_policies(docs, "s3:GetObject", "arn:aws:s3:::udacity-dend/x") == "allow"
    assert json.loads(json.dumps(docs))  # plain JSON data
    assert world.role_arn.endswith(":role/sparkify-dwh-s3-read")


# --------------------------------------------------------------------------------------------------
# The role create_cluster.py makes (scoped to [S3]), and MANIFEST_PREFIX


def _with_manifests(config, url="s3://udacity-dend/manifests/"):
    import dataclasses

    return dataclasses.replace(config, s3=dataclasses.replace(config.s3, manifest_prefix=url))


def _scoped_policy(config) -> dict:
    from sparkify.aws.s3access import S3Locations, role_policy

    return role_policy(S3Locations.from_settings(config.s3))


def test_the_scoped_role_create_cluster_makes_passes(aws_world, tmp_path, run):
    import boto3

    config = _with_manifests(aws_world(policies=()).config(tmp_path))
    boto3.client("iam").put_role_policy(RoleName="sparkify-dwh-s3-read", PolicyName="sparkify-s3-read",
                                        PolicyDocument=json.dumps(_scoped_policy(config)))
    assert only(run(config), "iam.s3_read").line() == (
        "ok    iam.s3_read: role sparkify-dwh-s3-read's policies allow s3:ListBucket and s3:GetObject on the "
        "configured prefixes of udacity-dend")


def test_a_scoped_role_for_other_locations_names_the_missing_permission(aws_world, tmp_path, run):
    import dataclasses

    import boto3

    config = aws_world(policies=()).config(tmp_path)
    elsewhere = dataclasses.replace(config, s3=dataclasses.replace(config.s3, song_data="s3://udacity-dend/songs-v2"))

    boto3.client("iam").put_role_policy(RoleName="sparkify-dwh-s3-read", PolicyName="sparkify-s3-read",
                                        PolicyDocument=json.dumps(_scoped_policy(elsewhere)))
    assert only(run(config), "iam.s3_read").line() == (
        "FATAL iam.s3_read: role sparkify-dwh-s3-read may not s3:ListBucket on arn:aws:s3:::udacity-dend (prefix "
        "'song_data') (and 1 more): COPY needs it; run create_cluster.py (it scopes the role it made to [S3]), or "
        "allow it in one of the role's policies")


def test_a_role_that_cannot_read_the_manifests(aws_world, tmp_path, run):
    import boto3

    config = aws_world(policies=()).config(tmp_path)
    boto3.client("iam").put_role_policy(RoleName="sparkify-dwh-s3-read", PolicyName="sparkify-s3-read",
                                        PolicyDocument=json.dumps(_scoped_policy(config)))  # no MANIFEST_PREFIX
    finding = only(run(_with_manifests(config)), "iam.s3_read")
    assert finding.level == "fatal"
    assert finding.message.startswith("role sparkify-dwh-s3-read may not s3:GetObject on "
                                      "arn:aws:s3:::udacity-dend/manifests/run-NNNNNN/staging_events.manifest: ")


def test_manifest_prefix_in_the_region_and_writable(aws_world, tmp_path, boto_session, run, udacity_objects):
    sent = []
    boto_session.events.register("provide-client-params.s3.PutObject", lambda params, **kw: sent.append(dict(params)))
    findings = run(_with_manifests(aws_world().config(tmp_path)))
    assert [f.line() for f in findings if f.check.startswith("s3.manifest")] == [
        "ok    s3.manifest_region: MANIFEST_PREFIX bucket udacity-dend is in us-west-2 = [S3] REGION",
        ("ok    s3.manifest_write: your AWS credentials may write under s3://udacity-dend/manifests/ (etl.py's COPY "
        "manifests; checked without writing)")]
    [put] = sent  # the probe: a body whose Content-MD5 is not its own, which S3 (and the strict moto) refuses
    assert put["Key"] == "manifests/.sparkify-preflight-write-check" and put["Body"] == b""
    assert put["ContentMD5"] != "1B2M2Y8AsgTpgAmY7PhCfg=="  # the MD5 of an empty body
    assert udacity_objects() == ["log_data/2018/11/2018-11-01-events.json", "log_json_path.json",
                                 "song_data/A/A/A/TRAAAAK128F9318786.json"]  # nothing left behind


def test_manifest_prefix_in_another_region(aws_world, tmp_path, run):
    import boto3

    world = aws_world()
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="manifests-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    findings = run(_with_manifests(world.config(tmp_path), "s3://manifests-eu/sparkify"))
    assert only(findings, "s3.manifest_region").line() == (
        "FATAL s3.manifest_region: MANIFEST_PREFIX bucket manifests-eu is in eu-west-1 but COPY reads with REGION "
        "us-west-2, where all resources, including a manifest file, must be: choose a MANIFEST_PREFIX in a bucket in "
        "us-west-2")
    assert [f.check for f in by_check(findings)["s3.region"]] == ["s3.region"]  # the sources' bucket only


def test_manifest_prefix_your_credentials_may_not_write(aws_world, tmp_path, boto_session, run):
    """moto does not enforce IAM: S3's answer to a PutObject the caller's policies deny is given here."""
    from botocore.awsrequest import AWSResponse

    world = aws_world()
    boto_session.events.register("before-call.s3.PutObject", lambda **kw: (
        AWSResponse("https://s3.invalid/", 403, {}, None), {"Error": {"Code": "AccessDenied", "Message": "denied"}}))
    finding = only(run(_with_manifests(world.config(tmp_path))), "s3.manifest_write")
    assert finding.line() == (
        "FATAL s3.manifest_write: your AWS credentials may not s3:PutObject on "
        "arn:aws:s3:::udacity-dend/manifests/.sparkify-preflight-write-check: etl.py writes its COPY manifests under "
        "s3://udacity-dend/manifests/; allow it, or choose another MANIFEST_PREFIX")


def test_an_endpoint_that_stores_a_corrupt_body_gets_it_deleted(aws_world, tmp_path, boto_session, run,
                                                                 udacity_objects):
    """A lax endpoint (unpatched moto, say) stores the probe: it is deleted again, and the user warned."""
    world = aws_world()

    def lax(params, **kwargs):
        params.pop("ContentMD5")

    boto_session.events.register("provide-client-params.s3.PutObject", lax)
    finding = only(run(_with_manifests(world.config(tmp_path))), "s3.manifest_write")
    assert finding.level == "warn" and "the test object was deleted" in finding.message
    assert "manifests/.sparkify-preflight-write-check" not in udacity_objects()


@pytest.fixture
def udacity_objects():
    import boto3

    def keys():
        s3 = boto3.client("s3", region_name="us-west-2")
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="udacity-dend").get("Contents", []))

    return keys
