"""Emulated COPY from S3 (moto): key-prefix semantics, pagination past 1,000 objects, manifests, JSONPaths on S3.
mock_aws starts before any client is made; the credentials are fake."""

from __future__ import annotations

import json

import pytest

from sparkify.errors import LoadError
from tests.helpers.corpus import BAD
from tests.helpers.schema import postgres_ddl

BUCKET = "sparkify-test"


@pytest.fixture
def s3(moto_s3):
    moto_s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return moto_s3


def put(client, key: str, body: bytes | str) -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


def test_key_prefix_on_s3(s3, t_table):
    for key, body in [("log/2018-11-01.json", '{"id": 1}\n'), ("log/2018-11-02.json", '{"id": 2}\n{"id": 3}\n'),
                      ("log/2018-11-10.json", '{"id": 10}\n'), ("log/2018-11-0.json", '{"id": 0}\n'),
                      ("log/folder/", ""), ("logs_old/x.json", '{"id": 99}\n')]:
        put(s3, key, body)
    result = t_table.copy(source=f"s3://{BUCKET}/log/2018-11-0")
    assert (result.files, result.loaded) == (3, 4)
    assert [r[0] for r in t_table.query("select id from t order by seq")] == [0, 1, 2, 3]
    t_table.execute("delete from t")
    assert t_table.copy(source=f"s3://{BUCKET}/log").loaded == 6  # logs_old/ too: a prefix, not a folder


def test_more_than_1000_objects_in_listing_order(s3, db):
    db.execute(postgres_ddl("staging_songs"))
    db.execute("alter table staging_songs add column seq bigint generated always as identity")
    keys = [f"song_data/A/{i % 7}/TR{i:05d}.json" for i in range(1100)]
    for i, key in enumerate(keys):
        put(s3, key, json.dumps({"song_id": f"SO{i:05d}", "num_songs": 1, "title": f"t{i}", "year": 2000}))
    result = db.copy("staging_songs", f"s3://{BUCKET}/song_data")
    assert (result.files, result.loaded, result.rejected) == (1100, 1100, 0)
    loaded = [r[0] for r in db.query("select song_id from staging_songs order by seq")]
    assert loaded == [f"SO{keys.index(k):05d}" for k in sorted(keys)]  # S3 lists keys in UTF-8 order


def test_errors_name_the_s3_object(s3, t_table):
    put(s3, "bad/wrong_types.json", (BAD / "wrong_types.json").read_bytes())
    with pytest.raises(LoadError) as exc:
        t_table.copy(source=f"s3://{BUCKET}/bad/")
    assert "first: bad/wrong_types.json line 1, column id: Invalid digit" in str(exc.value)
    assert t_table.load_errors()[0]["file_name"] == f"s3://{BUCKET}/bad/wrong_types.json"


def test_prefix_matching_nothing_on_s3(s3, t_table):
    with pytest.raises(LoadError, match=f"the specified S3 prefix 's3://{BUCKET}/nothing' does not exist"):
        t_table.copy(source=f"s3://{BUCKET}/nothing")


def test_manifest_on_s3(s3, t_table):
    put(s3, "m/a.json", '{"id": 1}\n')
    put(s3, "m/b.json", '{"id": 2}\n')
    put(s3, "load.manifest", json.dumps({"entries": [
        {"url": f"s3://{BUCKET}/m/b.json", "mandatory": True},
        {"url": f"s3://{BUCKET}/m/missing.json", "mandatory": False},
        {"url": f"s3://{BUCKET}/m/a.json", "mandatory": True}]}))
    result = t_table.copy(source=f"s3://{BUCKET}/load.manifest", manifest=True)
    assert (result.files, result.loaded) == (2, 2)
    assert [r[0] for r in t_table.query("select id from t order by seq")] == [2, 1]  # manifest order
    put(s3, "bad.manifest", json.dumps({"entries": [{"url": f"s3://{BUCKET}/m/missing.json", "mandatory": True}]}))
    with pytest.raises(LoadError, match=f"mandatory file s3://{BUCKET}/m/missing.json does not exist"):
        t_table.copy(source=f"s3://{BUCKET}/bad.manifest", manifest=True)
    with pytest.raises(LoadError, match="manifest .*nope.manifest does not exist"):
        t_table.copy(source=f"s3://{BUCKET}/nope.manifest", manifest=True)


def test_jsonpaths_file_on_s3(s3, db, real_data):
    import sql_queries
    from sparkify.warehouse import translate_for_postgres

    db.execute(translate_for_postgres(sql_queries.staging_events_table_create.sql))
    put(s3, "log_json_path.json", (real_data / "log_json_path.json").read_bytes())
    for path in sorted((real_data / "log_data").glob("**/2018-11-0[12]-events.json")):
        put(s3, f"log_data/2018/11/{path.name}", path.read_bytes())
    result = db.copy("staging_events", f"s3://{BUCKET}/log_data", json=f"s3://{BUCKET}/log_json_path.json",
                     timeformat="epochmillisecs")
    lines = sum(len(p.read_text().splitlines()) for p in (real_data / "log_data").glob("**/2018-11-0[12]-events.json"))
    assert (result.files, result.loaded, result.rejected) == (2, lines, 0)
    with pytest.raises(LoadError, match=f"JSONPaths file s3://{BUCKET}/missing.json does not exist"):
        db.copy("staging_events", f"s3://{BUCKET}/log_data", json=f"s3://{BUCKET}/missing.json")


def test_endpoint_url_and_region_reach_the_client(s3, t_table, monkeypatch):
    import boto3

    seen = []
    real_client = boto3.client

    def client(service, **kwargs):
        seen.append(dict(kwargs))
        kwargs.pop("endpoint_url", None)  # moto intercepts the default endpoint only
        return real_client(service, **kwargs)

    monkeypatch.setattr(boto3, "client", client)
    put(s3, "e/a.json", '{"id": 1}\n')
    t_table.copy(source=f"s3://{BUCKET}/e/", endpoint_url="http://127.0.0.1:9000", region="us-west-2")
    assert seen and seen[0]["endpoint_url"] == "http://127.0.0.1:9000" and seen[0]["region_name"] == "us-west-2"
    assert len(seen) == 1  # one client per COPY, shared by the fetch threads


def test_large_object_is_streamed(s3, t_table, monkeypatch):
    from sparkify.copy import sources

    monkeypatch.setattr(sources, "PREFETCH_LIMIT_BYTES", 100)  # force the streaming path
    put(s3, "big/a.json", "".join(f'{{"id": {i}}}\n' for i in range(5000)))
    assert t_table.copy(source=f"s3://{BUCKET}/big/").loaded == 5000


def test_missing_bucket_is_a_load_error(s3, t_table):
    with pytest.raises(LoadError, match="t: cannot list s3://no-such-bucket/x: .*NoSuchBucket"):
        t_table.copy(source="s3://no-such-bucket/x")
