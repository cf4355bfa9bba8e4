"""Fixtures for the robustness tests: an S3 endpoint that fails on demand (tools/s3_fault_proxy.py in front of
a moto server), buckets filled with the real udacity-dend files, and a fast retry policy."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sparkify import s3io

BUCKET = "udacity-dend"
OPS = "sparkify-ops"


@pytest.fixture
def fast_retries(monkeypatch):
    """The production policy with its waits divided by 50 (the tests wait for faults, not for S3)."""
    policy = replace(s3io.POLICY, base_delay=0.001, throttle_delay=0.004, max_delay=0.1)
    monkeypatch.setattr(s3io, "POLICY", policy)
    return policy


@pytest.fixture
def faulty_s3(fast_retries):
    """(proxy, direct client): a moto S3 server behind a FaultProxy; `direct` talks to moto itself (setting up,
    changing objects behind the toolkit's back), the toolkit is given proxy.url."""
    import boto3

    from tools.s3_fault_proxy import moto_and_proxy

    with moto_and_proxy() as (proxy, moto_url):
        direct = boto3.client("s3", endpoint_url=moto_url, region_name="us-west-2")
        for name in (BUCKET, OPS):
            direct.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        proxy.clear()
        yield proxy, direct


def upload(direct, real_data, pattern: str, limit: int | None = None) -> list[str]:
    """Put the real files matching `pattern` (relative to the data folder) into BUCKET under the same keys."""
    paths = sorted(real_data.glob(pattern))[:limit]
    keys = []
    for path in paths:
        key = str(path.relative_to(real_data))
        direct.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
        keys.append(key)
    return keys
