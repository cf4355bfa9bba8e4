"""Names AWS uses, parsed in one place: region names, s3:// URIs and Redshift endpoint host names.

Pure functions, no I/O and no boto3: the configuration, the COPY renderer and emulator, the preflight,
the provisioning code and the database-credentials lookup all use these, so each rule is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# us-west-2, eu-central-1, us-gov-west-1, cn-north-1, ap-southeast-4 ...
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_S3_RE = re.compile(r"^s3://([^/]+)/?(.*)$", re.S)
# <cluster-id>.<hash>.<region>.redshift.amazonaws.com            (a provisioned cluster)
# <workgroup>.<account-id>.<region>.redshift-serverless.amazonaws.com (a Redshift Serverless workgroup)
_REDSHIFT_HOST_RE = re.compile(
    r"^([a-z0-9-]+)\.([a-z0-9-]+)\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.(redshift|redshift-serverless)"
    r"\.amazonaws\.com(?:\.cn)?$", re.I)


def is_region(name: str | None) -> bool:
    """Whether `name` looks like an AWS region name (us-west-2)."""
    return bool(name) and REGION_RE.match(name) is not None


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


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
