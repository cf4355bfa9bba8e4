"""The IAM documents create_cluster.py writes and checks, as pure functions: the role's S3 policy for a given
[S3], its trust policy, and what makes an existing trust policy unacceptable."""

from __future__ import annotations

import json

import pytest

from sparkify.aws.policies import canonical, trust_policy, trust_problem, trusts_redshift
from sparkify.aws.s3access import S3Locations, read_locations, role_policy
from sparkify.errors import ConfigError

ACCOUNT = "123456789012"


def _trust(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


REDSHIFT = {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize("trust, problem", [
    (trust_policy(ACCOUNT), None),
    (trust_policy(ACCOUNT, f"arn:aws:redshift:us-west-2:{ACCOUNT}:cluster:x"), None),
    (_trust(REDSHIFT), None),  # earlier versions' policy: acceptable, then pinned by create_cluster.py
    (_trust(REDSHIFT, {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}), None),
    (_trust(REDSHIFT, {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                       "Action": "sts:AssumeRole"}), "also trusts arn:aws:iam::999999999999:root"),
    (_trust({**REDSHIFT, "Principal": {"Service": ["redshift.amazonaws.com", "glue.amazonaws.com"]}}),
     "also trusts glue.amazonaws.com"),
    (_trust({**REDSHIFT, "Principal": "*"}), "also trusts everyone (*)"),
    (_trust({**REDSHIFT, "Principal": {"Federated": "cognito-identity.amazonaws.com"},
             "Action": "sts:AssumeRoleWithWebIdentity"}), "also trusts cognito-identity.amazonaws.com"),
    (_trust({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::999999999999:root"},
             "Action": "sts:AssumeRole"}), "also trusts NotPrincipal (everyone but the principals it names)"),
    (trust_policy("999999999999"), "trusts Redshift acting for account 999999999999, not 123456789012"),
    (_trust({**REDSHIFT, "Condition": {"StringEquals": {"aws:SourceAccount": [ACCOUNT, "999999999999"]}}}),
     "trusts Redshift acting for account 999999999999, not 123456789012"),
    (_trust(), "does not trust redshift.amazonaws.com"),
    (_trust({**REDSHIFT, "Effect": "Deny"}), "does not trust redshift.amazonaws.com"),
    (("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22%2A%22%7D%2C"
     "%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"), "also trusts everyone (*)"),  # URL-encoded, as IAM returns it
])
def test_trust_problem(trust, problem):
    assert trust_problem(trust, ACCOUNT) == problem


def test_trusts_redshift_for_an_account():
    assert trusts_redshift(trust_policy(ACCOUNT), ACCOUNT)
    assert not trusts_redshift(trust_policy("999999999999"), ACCOUNT)
    assert trusts_redshift(trust_policy("999999999999"))  # for some account
    assert trusts_redshift(_trust(REDSHIFT), ACCOUNT)  # no condition: any account


def test_canonical_ignores_how_iam_spells_it_back():
    ours = trust_policy(ACCOUNT)
    spelt = json.loads(json.dumps(ours))
    spelt["Statement"][0]["Action"] = ["sts:AssumeRole"]
    spelt["Statement"][0]["Principal"]["Service"] = ["redshift.amazonaws.com"]
    assert canonical(spelt) == canonical(ours) == canonical(json.dumps(ours))
    assert canonical(trust_policy("999999999999")) != canonical(ours)
    listed = role_policy(S3Locations("s3://b/a", "s3://b/c"))
    swapped = json.loads(json.dumps(listed))
    swapped["Statement"][-1]["Resource"].reverse()
    assert canonical(swapped) == canonical(listed)


def test_the_policy_names_nothing_but_the_locations():
    policy = role_policy(S3Locations(log_data="s3://logs-bucket/events", song_data="s3://songs-bucket",
                                     log_jsonpath=None, manifest_prefix="s3://logs-bucket/manifests/"))
    assert policy["Statement"] == [
        {"Sid": "ListConfiguredPrefixes1", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::logs-bucket",
         "Condition": {"StringLike": {"s3:prefix": ["events*", "manifests/*"]}}},
        {"Sid": "ListConfiguredPrefixes2", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::songs-bucket"},  # the whole bucket is the source: no prefix to limit to
        {"Sid": "ReadConfiguredObjects", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": ["arn:aws:s3:::logs-bucket/events*", "arn:aws:s3:::songs-bucket/*",
                      "arn:aws:s3:::logs-bucket/manifests/*"]},
    ]
    text = json.dumps(policy)
    assert '"*"' not in text and "s3:*" not in text and "Put" not in text


def test_the_same_location_twice_is_granted_once():
    policy = role_policy(S3Locations("s3://b/data", "s3://b/data", "s3://b/data"))
    assert policy["Statement"][0]["Condition"] == {"StringLike": {"s3:prefix": ["data*"]}}
    assert policy["Statement"][-1]["Resource"] == ["arn:aws:s3:::b/data*", "arn:aws:s3:::b/data"]


def test_read_locations(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[S3]\nLOG_DATA = s3://a/log\nSONG_DATA = 's3://a/song'\nLOG_JSONPATH = auto\n")
    assert read_locations(path) == S3Locations("s3://a/log", "s3://a/song", None, None)
    path.write_text("[S3]\nLOG_DATA = /data/log\nMANIFEST_PREFIX = s3://\n")
    with pytest.raises(ConfigError) as info:
        read_locations(path)
    assert [p.split(":")[0] for p in info.value.problems] == [
        "[S3] SONG_DATA is required to create the warehouse", "[S3] LOG_DATA must be an s3",
        "[S3] MANIFEST_PREFIX must be an s3"]
