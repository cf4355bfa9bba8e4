"""The value rules shared by the configuration and the COPY renderer (sparkify.awsnames), and the kinds of
values that parse dwh.cfg (sparkify.config.kinds): what each accepts, and the message when it refuses."""

from __future__ import annotations

import pytest

from sparkify.awsnames import is_role_arn, is_s3_uri
from sparkify.config.kinds import Choice, Cidr, Flag, Integer, Invalid, Port, SubnetIds, Text
from sparkify.copy.redshift import CopySpecError, render_copy
from sparkify.copy.spec import CopySpec

ARN = "arn:aws:iam::123456789012:role/dwhRole"


@pytest.mark.parametrize("uri, valid", [
    ("s3://udacity-dend/log_data", True),
    ("s3://udacity-dend", True),
    ("s3://my.bucket-1/a key/with spaces/", True),
    ("s3://bucket/it's", True),  # a quote is doubled in the literal
    ("s3://bucket/ünïcode", True),
    ("s3://ab/x", False),  # 3 to 63 characters
    ("s3://" + "a" * 64 + "/x", False),
    ("s3://Bucket/x", False),  # lower case only
    ("s3://bucket_name/x", False),
    ("s3://-bucket/x", False),  # begins and ends with a letter or digit
    ("s3://bucket-/x", False),
    ("s3://my..bucket/x", False),  # no two adjacent dots
    ("s3://192.168.5.4/x", False),  # not formatted as an IP address
    ("s3://bucket/key\n", False),  # no control character, not even a final newline
    ("s3://bucket/a\\b", False),  # a backslash is an escape character in a Redshift literal
    ("s3://bucket/a\x7fb", False),
    ("https://bucket/x", False),
])
def test_s3_uris(uri, valid):
    assert is_s3_uri(uri) is valid


@pytest.mark.parametrize("arn, valid", [
    (ARN, True),
    ("arn:aws:iam::123456789012:role/service-role/my_role+x=y,z.w@v-u", True),  # a path, every name character
    ("arn:aws-us-gov:iam::123456789012:role/r", True),
    ("arn:aws-cn:iam::123456789012:role/r", True),
    ("arn:aws:iam::123:role/r", False),  # 12-digit account
    ("arn:aws:iam::123456789012:user/r", False),
    ("arn:aws:iam::123456789012:role/", False),
    ("arn:aws:iam::123456789012:role/" + "r" * 65, False),  # names are 1-64 characters
    ("arn:aws:iam::123456789012:role/rôle", False),  # ASCII only
    ("arn:aws:iam::123456789012:role/a\\b/r", False),
    ("arn:aws:iam::123456789012:role/r\n", False),
    ("arn:awsx:iam::123456789012:role/r", False),
])
def test_role_arns(arn, valid):
    assert is_role_arn(arn) is valid


def test_the_copy_renderer_and_the_config_use_the_same_rules(tmp_path):
    spec = CopySpec(table="staging_events", source="s3://bucket/log_data\n", json="auto", iam_role=ARN)
    with pytest.raises(CopySpecError, match="is not an s3://bucket/prefix URI"):
        render_copy(spec)
    with pytest.raises(CopySpecError, match="is not an IAM role ARN"):
        render_copy(CopySpec(table="t", source="s3://bucket/x", json="auto", iam_role=ARN + "\n"))
    assert "from 's3://bucket/it''s'" in render_copy(CopySpec(table="t", source="s3://bucket/it's", json="auto",
                                                               iam_role=ARN))


@pytest.mark.parametrize("kind, raw, value", [
    (Choice(("local", "postgres", "redshift")), "Redshift", "redshift"),
    (Integer(0, 10), "+3", 3),
    (Integer(lo=1), "100000", 100000),
    (Port(), "5439", 5439),
    (Flag(), "Yes", True),
    (Flag(), "off", False),
    (Cidr(), "203.0.113.7", "203.0.113.7/32"),
    (SubnetIds(), "subnet-0123456789abcdef0 , subnet-0123456789abcdef1,", ("subnet-0123456789abcdef0",
                                                                           "subnet-0123456789abcdef1")),
    (Text(r"[a-z]+", must="be letters", lower=True), "ABC", "abc"),
])
def test_kinds_parse(kind, raw, value):
    assert kind.parse(raw) == value


@pytest.mark.parametrize("kind, raw, message", [
    (Choice(("password", "iam")), "Kerberos", "must be password or iam, not 'kerberos'"),
    (Choice(("a", "b", "c")), "d", "must be one of a, b, c, not 'd'"),
    (Integer(0, 10), "ten", "must be a whole number, not 'ten'"),
    (Integer(0, 10), "1_0", "must be a whole number, not '1_0'"),
    (Integer(0, 10), "-1", "must be between 0 and 10, not -1"),
    (Integer(lo=1, unit=" RPU-hour per day"), "0", "must be at least 1 RPU-hour per day, not 0"),
    (Integer(check=lambda n: n % 2 == 0, rule="even"), "3", "must be even, not 3"),
    (Port(), "0", "must be a port number, not '0'"),
    (Port(1150, 65535, " (Redshift's range)"), "80", ("must be a port number between 1150 and 65535 (Redshift's "
                                                     "range), not '80'")),
    (Flag(), "maybe", "must be true or false, not 'maybe'"),
    (Cidr(), "10.0.0.1/8", ("must be an IPv4 address or range like 203.0.113.7/32, not '10.0.0.1/8' "
                           "(did you mean 10.0.0.0/8?)")),
    (Cidr(), "2001:db8::/32", "must be an IPv4 range (the cluster's public endpoint is IPv4), not '2001:db8::/32'"),
    (Text(r"x+", is_not="a row of x"), "y", "is not a row of x: 'y'"),
])
def test_kinds_refuse_with_the_message_that_follows_the_key(kind, raw, message):
    with pytest.raises(Invalid) as info:
        kind.parse(raw)
    assert str(info.value) == message
