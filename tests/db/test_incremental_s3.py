"""Daily runs from S3 (moto) on the local engines: each run writes a manifest of its new objects under
[S3] MANIFEST_PREFIX and the emulated COPY reads it, as Redshift would; without MANIFEST_PREFIX the list of new
objects goes to the emulator directly. The real udacity-dend files are put into the moto bucket."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from sparkify.pipeline import run_etl
from tests.helpers.db import query

BUCKET = "udacity-dend"
OPS = "sparkify-ops"


@pytest.fixture
def bucket(real_data, moto_s3):
    """moto S3 (started before any client) with three real log days, 60 real song files and the JSONPaths file."""
    s3 = moto_s3
    for name in (BUCKET, OPS):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    days = sorted((real_data / "log_data").rglob("*.json"))[:3]
    for path in days:
        s3.put_object(Bucket=BUCKET, Key=str(path.relative_to(real_data)), Body=path.read_bytes())
    for path in sorted((real_data / "song_data").rglob("*.json"))[:60]:
        s3.put_object(Bucket=BUCKET, Key=str(path.relative_to(real_data)), Body=path.read_bytes())
    s3.put_object(Bucket=BUCKET, Key="log_json_path.json", Body=(real_data / "log_json_path.json").read_bytes())
    s3.days = days
    return s3


def s3_config(local_config, manifest_prefix):
    s3 = replace(local_config.s3, log_data=f"s3://{BUCKET}/log_data", song_data=f"s3://{BUCKET}/song_data",
                 log_jsonpath=f"s3://{BUCKET}/log_json_path.json", region="us-west-2",
                 manifest_prefix=manifest_prefix)
    return replace(local_config, s3=s3)


def count(conn, sql):
    return query(conn, sql)[0][0]


@pytest.mark.parametrize("manifests", [True, False], ids=["manifest", "list"])
def test_each_run_loads_only_its_new_objects(schema, bucket, local_config, pg_conn, real_data, manifests):
    config = s3_config(local_config, f"s3://{OPS}/manifests/" if manifests else None)
    first = run_etl(config, show_progress=False)
    assert first.staged == {"staging_events": sum(len(p.read_text().splitlines()) for p in bucket.days),
                            "staging_songs": 60}
    plays = count(pg_conn, "select count(*) from songplays")

    new_day = sorted((real_data / "log_data").rglob("*.json"))[3]
    bucket.put_object(Bucket=BUCKET, Key=str(new_day.relative_to(real_data)), Body=new_day.read_bytes())
    second = run_etl(config, show_progress=False)
    assert second.staged == {"staging_events": len(new_day.read_text().splitlines())}
    assert count(pg_conn, "select count(*) from songplays") > plays
    assert count(pg_conn, "select count(*) from loaded_objects") == 4 + 60

    third = run_etl(config, show_progress=False)
    assert third.staged == {}
    listed = bucket.list_objects_v2(Bucket=OPS).get("Contents", [])
    if not manifests:
        assert listed == []
        return
    # the manifests are kept (one per run and table that loaded something), each naming exactly its objects
    assert [o["Key"] for o in listed] == ["manifests/run-000001/staging_events.manifest",
                                          "manifests/run-000001/staging_songs.manifest",
                                          "manifests/run-000002/staging_events.manifest"]
    body = json.loads(bucket.get_object(Bucket=OPS, Key=listed[2]["Key"])["Body"].read())
    assert [e["url"] for e in body["entries"]] == [f"s3://{BUCKET}/{new_day.relative_to(real_data)}"]
    assert all(e["mandatory"] for e in body["entries"])


def test_a_manifest_that_cannot_be_written_fails_the_run_and_changes_nothing(schema, bucket, local_config, pg_conn):
    config = s3_config(local_config, "s3://no-such-bucket-here/manifests")
    from sparkify.errors import LoadError

    with pytest.raises(LoadError, match=r"cannot write the COPY manifest s3://no-such-bucket-here/manifests/run-000001/"
                                        r"staging_events.manifest: .*MANIFEST_PREFIX"):
        run_etl(config, show_progress=False)
    assert count(pg_conn, "select count(*) from loaded_objects") == 0
    assert count(pg_conn, "select count(*) from etl_runs") == 0
