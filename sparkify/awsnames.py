"""Names AWS uses, parsed in one place: region names, s3:// URIs, IAM role ARNs and Redshift endpoint host names.

Pure functions, no I/O and no boto3: the configuration, the COPY renderer and emulator, the preflight,
the provisioning code and the database-credentials lookup all use these, so each rule is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# us-west-2, eu-central-1, us-gov-west-1, cn-north-1, ap-southeast-4 ...
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")

# An s3:// URI whose bucket follows S3's naming rules for general purpose buckets (docs.aws.amazon.com/AmazonS3/
# latest/userguide/bucketnamingrules.html): 3-63 lower-case letters, digits, dots and hyphens, beginning and
# ending with a letter or digit, no two adjacent dots, not formatted as an IP address. (The reserved prefixes
# and suffixes are not refused: an access point alias, which ends in -s3alias, is used in place of a bucket
# name.) The key is any text a SQL literal can carry safely: no control character and no backslash, which
# Redshift reads as an escape character in a literal (quotes are doubled by the COPY renderer). \Z, not $:
# $ would accept a trailing newline.
S3_URI_RE = re.compile(
    r"^s3://(?![^/]*\.\.)(?!\d{1,3}(?:\.\d{1,3}){3}(?:/|\Z))[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
    r"(?:/[^\x00-\x1f\x7f\\]*)?\Z")
# An IAM role ARN: arn:<partition>:iam::<12-digit account>:role/<path/><name>. Partitions: aws, aws-cn,
# aws-us-gov, aws-iso-b... The name is 1-64 of A-Z a-z 0-9 _+=,.@- (IAM's RoleName pattern); the path, IAM's
# printable ASCII (! to ~), less the backslash a SQL literal cannot carry (see S3_URI_RE).
ROLE_ARN_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/(?:[!-\[\]-~]{1,510}/)?[A-Za-z0-9_+=,.@-]{1,64}\Z")
_S3_RE = re.compile(r"^s3://([^/]+)/?(.*)$", re.DOTALL)
# <cluster-id>.<hash>.<region>.redshift.amazonaws.com            (a provisioned cluster)
# <workgroup>.<account-id>.<region>.redshift-serverless.amazonaws.com (a Redshift Serverless workgroup)
_REDSHIFT_HOST_RE = re.compile(
    r"^([a-z0-9-]+)\.([a-z0-9-]+)\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.(redshift|redshift-serverless)"
    r"\.amazonaws\.com(?:\.cn)?$", re.IGNORECASE)


def is_region(name: str | None) -> bool:
    """Whether `name` looks like an AWS region name (us-west-2)."""
    return bool(name) and REGION_RE.match(name) is not None


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def is_s3_uri(value: str | None) -> bool:
    """Whether `value` is an s3://bucket[/key] URI with a valid bucket name and a key a COPY literal can carry."""
    return bool(value) and S3_URI_RE.match(value) is not None


def is_role_arn(value: str | None) -> bool:
    """Whether `value` is an IAM role ARN (arn:aws:iam::123456789012:role/name, with an optional path)."""
    return bool(value) and ROLE_ARN_RE.match(value) is not None


def split_s3(url: str) -> tuple[str, str]:
    """'s3://bucket/key/prefix' -> ('bucket', 'key/prefix'); ValueError if it is not an s3://bucket URI."""
    m = _S3_RE.match(url)
    if not m or not m.group(1):
        raise ValueError(f"{url!r} is not an s3://bucket/key URI")
    return m.group(1), m.group(2)


@dataclass(frozen=True)
class RedshiftHost:
    """What a Redshift endpoint's host name tells: a cluster or a serverless workgroup, its name, its region."""

    kind: str  # "cluster" | "serverless"
    name: str  # the cluster identifier, or the workgroup name
    region: str


def parse_redshift_host(host: str | None) -> RedshiftHost | None:
    """The cluster or workgroup an AWS endpoint host name belongs to; None for any other host."""
    m = _REDSHIFT_HOST_RE.match((host or "").strip().rstrip("."))
    if not m:
        return None
    kind = "serverless" if m.group(4).lower() == "redshift-serverless" else "cluster"
    return RedshiftHost(kind=kind, name=m.group(1).lower(), region=m.group(3).lower())
