"""Files put into moto's S3: real files under their own keys, and the real-data buckets the Data API tests load
from."""

from __future__ import annotations

from pathlib import Path

BUCKET = "udacity-dend"
OPS_BUCKET = "sparkify-ops"  # where runs write their manifests
US_WEST_2 = {"CreateBucketConfiguration": {"LocationConstraint": "us-west-2"}}


def upload(s3, real_data: Path, pattern: str, limit: int | None = None, bucket: str = BUCKET) -> list[str]:
    """Put the real files matching `pattern` (relative to the data folder) into `bucket` under the same keys."""
    keys = []
    for path in sorted(real_data.glob(pattern))[:limit]:
        key = str(path.relative_to(real_data))
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        keys.append(key)
    return keys


def fill_real_data_buckets(real_data: Path, account: str = "123456789012") -> None:
    """In this process's moto (its server or the mock): s3://udacity-dend with the real data (log_data, song_data,
    log_json_path.json) and a small part of it under small/ (3 log days, 40 song files), and an empty
    s3://sparkify-ops for the manifests. Written into moto's S3 backend directly: ~0.3 s, where 2,000 PUTs over
    HTTP take ~10 s."""
    from moto.s3.models import s3_backends

    backend = s3_backends[account]["aws"]
    backend.create_bucket(BUCKET, "us-west-2")
    for source, prefix, limit in (("log_data", "log_data", None), ("song_data", "song_data", None),
                                  ("log_data", "small/log_data", 3), ("song_data", "small/song_data", 40)):
        root = real_data / source
        for path in sorted(p for p in root.rglob("*") if p.is_file())[:limit]:
            backend.put_object(BUCKET, f"{prefix}/{path.relative_to(root).as_posix()}", path.read_bytes())
    backend.put_object(BUCKET, "log_json_path.json", (real_data / "log_json_path.json").read_bytes())
    backend.create_bucket(OPS_BUCKET, "us-west-2")
