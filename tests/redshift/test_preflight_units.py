"""The preflight's pure helpers: DDL columns, connection-error explanations, regions, JSONPaths, IAM policies."""

from __future__ import annotations

import dataclasses
import json

import pytest

import sql_queries
from sparkify.aws.policies import evaluate_policies, trusts_redshift
from sparkify.config import ClusterSettings
from sparkify.preflight import Finding, database, findings, role, s3
from sparkify.preflight.aws import cluster_region_from_host

CLUSTER = ClusterSettings(host="sparkify-dwh.abc.us-west-2.redshift.amazonaws.com", db_name="dev", db_user="awsuser",
                          db_port=5439, db_password="Secret-Passw0rd")


def test_finding_lines():
    assert Finding("ok", "s3.region", "fine").line() == "ok    s3.region: fine"
    assert Finding("warn", "iam.role", "hm").line() == "WARN  iam.role: hm"
    assert Finding("fatal", "tables", "no").line() == "FATAL tables: no"
    with pytest.raises(ValueError):
        Finding("error", "x", "y")


def test_exit_code_and_summary():
    some = [findings.ok("a", "1"), findings.warn("b", "2")]
    assert findings.exit_code(some) == 0
    assert findings.exit_code([*some, findings.fatal("c", "3")]) == 1
    assert findings.summary(some) == "preflight: 1 ok, 1 warnings, 0 fatal"


# --------------------------------------------------------------------------------------------------
# DDL


def test_ddl_columns_of_every_create_statement():
    tables = database.expected_tables()
    assert list(tables) == list(sql_queries.SCHEMA_TABLES)
    assert tables["users"] == ["user_id", "first_name", "last_name", "gender", "level", "last_event_at"]
    assert tables["songplays"][0] == "songplay_id" and len(tables["songplays"]) == 13
    assert database.staging_events_column_count() == 18


@pytest.mark.parametrize("ddl, expected", [
    ("create table t (a int, b varchar(10), c decimal(10, 2) not null)", ("t", ["a", "b", "c"])),
    ('CREATE TABLE IF NOT EXISTS public."T" (\n "A" int,\n b int,\n primary key (a),\n unique (b)\n) diststyle all',
     ("t", ["a", "b"])),
    ("create temp table x (a bigint identity(0, 1), sortkey(a))", ("x", ["a"])),
    ("create table y (a int, constraint pk primary key (a), foreign key (a) references z (a))", ("y", ["a"])),
])
def test_ddl_columns(ddl, expected):
    assert database.ddl_columns(ddl) == expected


@pytest.mark.parametrize("ddl", ["select 1", "create table t (a int"])
def test_ddl_columns_rejects_non_ddl(ddl):
    with pytest.raises(ValueError):
        database.ddl_columns(ddl)


def test_compare_columns():
    assert database.compare_columns("t", ["a", "b"], ["a", "b"]) is None
    assert database.compare_columns("t", None, ["a"]).message == "table t does not exist: run create_tables.py"
    f = database.compare_columns("t", ["a", "x"], ["a", "b"])
    assert f.level == "fatal" and f.check == "tables.t"
    assert "missing b; unexpected x: run create_tables.py" in f.message
    assert "another order (b, a)" in database.compare_columns("t", ["b", "a"], ["a", "b"]).message


# --------------------------------------------------------------------------------------------------
# Connection errors


@pytest.mark.parametrize("message, expected", [
    (('connection to server at "h" (1.2.3.4), port 5439 failed: FATAL:  password authentication failed for user '
     '"awsuser"'), "wrong password for user awsuser: check [CLUSTER] DB_PASSWORD"),
    (('could not translate host name "sparkify-dwh.abc.us-west-2.redshift.amazonaws.com" to address: Name or '
     'service not known'), "wrong host: sparkify-dwh.abc.us-west-2.redshift.amazonaws.com does not resolve"),
    ("could not translate host name \"x\" to address: Temporary failure in name resolution", "wrong host"),
    ('connection to server at "h" (1.2.3.4), port 5439 failed: timeout expired',
     "security group does not allow this machine's IP address on TCP 5439"),
    ('connection to server at "h" (1.2.3.4), port 5439 failed: Connection timed out', "security group"),
    ('connection to server at "127.0.0.1", port 5439 failed: Connection refused', "check [CLUSTER] DB_PORT"),
    ('connection to server at "h", port 5439 failed: FATAL:  database "sparkfy" does not exist',
     "check [CLUSTER] DB_NAME"),
    ('FATAL:  role "awsusr" does not exist', "check [CLUSTER] DB_USER"),
    ('FATAL:  user "awsusr" does not exist', "check [CLUSTER] DB_USER"),
    ("something else entirely", "check [CLUSTER] HOST, DB_PORT, DB_NAME, DB_USER and the password"),
])
def test_explain_connection_error(message, expected):
    explanation = database.explain_connection_error(message, CLUSTER)
    assert expected in explanation
    assert "Secret-Passw0rd" not in explanation


# --------------------------------------------------------------------------------------------------
# Regions


@pytest.mark.parametrize("host, region", [
    ("sparkify-dwh.c1a2b3c4d5e6.us-west-2.redshift.amazonaws.com", "us-west-2"),
    ("dwh.abc.eu-central-1.redshift.amazonaws.com", "eu-central-1"),
    ("wg.123456789012.us-east-1.redshift-serverless.amazonaws.com", "us-east-1"),
    ("dwh.abc.cn-north-1.redshift.amazonaws.com.cn", "cn-north-1"),
    ("dwh.abc.us-gov-west-1.redshift.amazonaws.com", "us-gov-west-1"),
    ("127.0.0.1", None), ("localhost", None), ("", None), (None, None),
])
def test_cluster_region_from_host(host, region):
    assert cluster_region_from_host(host) == region


@pytest.mark.parametrize("constraint, region", [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"),
                                                ("us-west-2", "us-west-2")])
def test_location_to_region(constraint, region):
    assert s3.location_to_region(constraint) == region


@pytest.mark.parametrize("bucket_region, configured, cluster_region, level, text", [
    ("us-west-2", "us-west-2", "us-east-1", "ok", "bucket udacity-dend is in us-west-2 = [S3] REGION"),
    ("us-west-2", "us-east-1", "us-west-2", "fatal",
     "bucket udacity-dend is in us-west-2 but [S3] REGION = us-east-1: set REGION = us-west-2"),
    ("us-west-2", None, "us-west-2", "ok", "bucket udacity-dend is in us-west-2, like the cluster"),
    ("us-west-2", None, "us-east-1", "fatal",
     ("bucket udacity-dend is in us-west-2, the cluster in us-east-1, and [S3] REGION is not set: "
     "set REGION = us-west-2")),
    ("us-west-2", None, None, "warn", "set REGION = us-west-2 to be sure"),
])
def test_region_finding(bucket_region, configured, cluster_region, level, text):
    f = s3.region_finding("udacity-dend", bucket_region, configured, cluster_region)
    assert (f.level, f.check) == (level, "s3.region")
    assert text in f.message


# --------------------------------------------------------------------------------------------------
# JSONPaths


def _paths(n: int) -> bytes:
    return json.dumps({"jsonpaths": [f"$['c{i}']" for i in range(n)]}).encode()


@pytest.mark.parametrize("data, level, text", [
    (_paths(18), "ok", "has 18 JSONPaths = the 18 columns of staging_events"),
    (_paths(17), "fatal", "has 17 paths but staging_events has 18 columns"),
    (b'{"paths": ["$.a"]}', "fatal", 'no "jsonpaths" member'),
    (b"not json", "fatal", "is not valid JSON"),
    (b'{"jsonpaths": ["$.a", "a.b"]}', "fatal", "an expression starts with '$'"),
    (b'{"jsonpaths": ["$..a"]}', "fatal", "Invalid JSONPath format"),
    (b"\xef\xbb\xbf" + _paths(18), "ok", "18 JSONPaths"),
])
def test_jsonpaths_finding(data, level, text):
    f = s3.jsonpaths_finding("s3://b/log_json_path.json", data, 18)
    assert (f.level, f.check) == (level, "s3.log_jsonpath")
    assert text in f.message


# --------------------------------------------------------------------------------------------------
# IAM policies


READ_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
                                                     "Resource": "*"}]}


def _doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize("docs, action, resource, verdict", [
    ([READ_ONLY], "s3:GetObject", "arn:aws:s3:::udacity-dend/log_data/a.json", "allow"),
    ([READ_ONLY], "s3:ListBucket", "arn:aws:s3:::udacity-dend", "allow"),
    ([READ_ONLY], "s3:PutObject", "arn:aws:s3:::udacity-dend/x", "none"),
    ([], "s3:GetObject", "arn:aws:s3:::b/k", "none"),
    ([_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::udacity-dend/log_data/*"})],
     "s3:GetObject", "arn:aws:s3:::udacity-dend/log_data/2018/a.json", "allow"),
    ([_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::udacity-dend/log_data/*"})],
     "s3:GetObject", "arn:aws:s3:::udacity-dend/song_data/a.json", "none"),
    ([_doc({"Effect": "Allow", "Action": "S3:getobject", "Resource": "arn:aws:s3:::b/*"})],
     "s3:GetObject", "arn:aws:s3:::b/k", "allow"),  # actions are case-insensitive
    ([_doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"})],
     "s3:GetObject", "arn:aws:s3:::b/k", "none"),  # resources are not
    ([READ_ONLY, _doc({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"})],
     "s3:GetObject", "arn:aws:s3:::b/k", "deny"),
    ([_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})],
     "s3:GetObject", "arn:aws:s3:::b/k", "conditional"),
    ([READ_ONLY, _doc({"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})],
     "s3:GetObject", "arn:aws:s3:::b/k", "conditional"),
    ([_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], "s3:GetObject", "arn:aws:s3:::b/k", "allow"),
    ([_doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::b/*"})],
     "s3:GetObject", "arn:aws:s3:::b/k", "none"),
    ([_doc({"Effect": "Allow", "Action": "s3:Get?bject", "Resource": "arn:aws:s3:::b/k"})],
     "s3:GetObject", "arn:aws:s3:::b/k", "allow"),
    ([{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
     "s3:ListBucket", "arn:aws:s3:::b", "allow"),  # a single statement, not a list
    ([("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A"
      "%22%2A%22%7D%5D%7D")], "s3:GetObject", "arn:aws:s3:::b/k", "allow"),  # URL-encoded JSON text
])
def test_evaluate_policies(docs, action, resource, verdict):
    assert evaluate_policies(docs, action, resource) == verdict


@pytest.mark.parametrize("trust, expected", [
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"},
                     "Action": "sts:AssumeRole"}]}, True),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "redshift.amazonaws.com"]},
                     "Action": ["sts:AssumeRole"]}]}, True),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
     False),
    ({"Statement": [{"Effect": "Deny", "Principal": {"Service": "redshift.amazonaws.com"},
                     "Action": "sts:AssumeRole"}]}, False),
    ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                     "Action": "sts:AssumeRole"}]}, False),
])
def test_trusts_redshift(trust, expected):
    assert trusts_redshift(trust) is expected


def test_copy_needs(redshift_config):
    needs = role.copy_needs(redshift_config, {"LOG_DATA": "log_data/2018/11/a.json", "SONG_DATA": None})
    assert [(n.action, n.resource, n.prefix) for n in needs] == [
        ("s3:ListBucket", "arn:aws:s3:::udacity-dend", "log_data"),
        ("s3:GetObject", "arn:aws:s3:::udacity-dend/log_data/2018/11/a.json", None),
        ("s3:ListBucket", "arn:aws:s3:::udacity-dend", "song_data"),
        ("s3:GetObject", "arn:aws:s3:::udacity-dend/song_data", None),
        ("s3:GetObject", "arn:aws:s3:::udacity-dend/log_json_path.json", None),
    ]
    assert needs[0].text() == "s3:ListBucket on arn:aws:s3:::udacity-dend (prefix 'log_data')"


def test_copy_needs_read_a_runs_manifest(redshift_config):
    config = dataclasses.replace(redshift_config, s3=dataclasses.replace(
        redshift_config.s3, manifest_prefix="s3://my-bucket/manifests/"))
    assert role.copy_needs(config, {})[-1] == role.Need(
        "s3:GetObject", "arn:aws:s3:::my-bucket/manifests/run-NNNNNN/staging_events.manifest")


LIST_PREFIXES = _doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
                      "Condition": {"StringLike": {"s3:prefix": ["log_data*", "song_data*"]}}})


@pytest.mark.parametrize("docs, context, verdict", [
    ([LIST_PREFIXES], {"s3:prefix": "log_data"}, "allow"),
    ([LIST_PREFIXES], {"s3:prefix": "log_data/2018/"}, "allow"),
    ([LIST_PREFIXES], {"s3:prefix": "other"}, "none"),
    ([LIST_PREFIXES], {}, "conditional"),  # the key is not known here: cannot be decided
    ([_doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
            "Condition": {"StringEquals": {"s3:prefix": "log_data"}}})], {"s3:prefix": "log_data/x"}, "none"),
    ([_doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
            "Condition": {"StringNotLike": {"s3:prefix": "secret*"}}})], {"s3:prefix": "log_data"}, "allow"),
    ([READ_ONLY, _doc({"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
                       "Condition": {"StringLike": {"s3:prefix": "log*"}}})], {"s3:prefix": "log_data"}, "deny"),
    ([READ_ONLY, _doc({"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
                       "Condition": {"StringLike": {"s3:prefix": "log*"}}})], {"s3:prefix": "song_data"}, "allow"),
    ([_doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:prefix": "log*"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})],
     {"s3:prefix": "log_data"}, "conditional"),
])
def test_conditions_on_the_listed_prefix_are_evaluated(docs, context, verdict):
    assert evaluate_policies(docs, "s3:ListBucket", "arn:aws:s3:::b", context) == verdict
