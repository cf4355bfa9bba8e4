"""S3 faults during a load (tools/s3_fault_proxy.py in front of moto): a 503 SlowDown, a 500, a connection reset or
a body cut short, on listing pages, objects, the JSONPaths file and the manifests, are retried; the run then
ends with exactly the star schema of a clean run. A streamed object resumes where its body broke, with a
Range request and If-Match, so a changed object is never spliced. An object that keeps failing fails the run
with one line naming it, and the warehouse is left as it was."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sparkify.errors import LoadError
from sparkify.pipeline import create_tables, run_etl
from sql_queries import STAR_TABLES
from tests.helpers.db import query_once
from tests.helpers.dwhcfg import DwhCfg
from tests.helpers.s3data import BUCKET, upload
from tests.helpers.s3data import OPS_BUCKET as OPS

FAULT_CYCLE = ("slowdown", "internal", "reset", "cut")


def s3_config(local_config, proxy, manifests: bool = True):
    s3 = replace(local_config.s3, log_data=f"s3://{BUCKET}/log_data", song_data=f"s3://{BUCKET}/song_data",
                 log_jsonpath=f"s3://{BUCKET}/log_json_path.json", region="us-west-2", endpoint_url=proxy.url,
                 manifest_prefix=f"s3://{OPS}/manifests" if manifests else None)
    return replace(local_config, s3=s3)


def star(dsn: str) -> dict[str, list[tuple]]:
    return {table: query_once(dsn, f"select * from {table} order by 1, 2") for table in STAR_TABLES}


def counts(dsn: str) -> dict[str, int]:
    return {table: query_once(dsn, f"select count(*) from {table}")[0][0]
            for table in (*STAR_TABLES, "loaded_objects", "etl_runs", "staging_events", "staging_songs")}


@pytest.fixture
def real_bucket(faulty_s3, real_data):
    """Three real log days, 90 real song files and the JSONPaths file in the bucket."""
    proxy, direct = faulty_s3
    keys = upload(direct, real_data, "log_data/**/*.json", 3) + upload(direct, real_data, "song_data/**/*.json", 90)
    upload(direct, real_data, "log_json_path.json")
    return proxy, direct, keys


def test_every_kind_of_fault_once_everywhere_then_the_star_schema_of_a_clean_run(real_bucket, local_config, pg_dsn):
    proxy, _, keys = real_bucket
    config = s3_config(local_config, proxy)
    faulty = keys[::3]  # a third of the objects, each failing once, the kinds in turn
    for i, key in enumerate(faulty):
        proxy.fail("GET", f"{BUCKET}/{key}", FAULT_CYCLE[i % len(FAULT_CYCLE)])
    listing = lambda path, query, headers: query.get("list-type") == "2"
    proxy.fail("GET", listing, ["slowdown", "cut", "reset", "internal"])
    proxy.fail("GET", f"{BUCKET}/log_json_path.json", ["cut", "slowdown"])
    manifest = lambda path, query, headers: path.startswith(f"{OPS}/manifests/")
    proxy.fail("PUT", manifest, ["reset", "internal"])  # writing a manifest
    proxy.fail("GET", manifest, ["cut", "slowdown"])  # the emulated COPY reading it
    proxy.fail("HEAD", f"{BUCKET}/{keys[1]}", ["reset", "internal"])  # checking a manifest's entry
    create_tables(config)
    report = run_etl(config, show_progress=False)
    assert proxy.faults_left() == 0  # every planted fault was met...
    assert report.staged["staging_songs"] == 90 and sum(report.rejected.values()) == 0
    faulty_run = star(pg_dsn)

    proxy.clear()  # ...and the same load without faults gives the same star schema
    create_tables(config)
    run_etl(config, show_progress=False)
    assert star(pg_dsn) == faulty_run
    assert all(faulty_run[table] for table in STAR_TABLES)


def test_listing_pages_are_retried_one_by_one(schema, faulty_s3, local_config, pg_dsn, real_data):
    """Past 1,000 keys ListObjectsV2 answers in pages: a fault on page 2 retries page 2 (same token)."""
    proxy, direct = faulty_s3
    song = (next(real_data.glob("song_data/**/*.json"))).read_bytes()
    for i in range(1005):
        direct.put_object(Bucket=BUCKET, Key=f"song_data/X/{i:05d}.json", Body=song.replace(b'"SO', f'"S{i:05d}'.encode()))
    upload(direct, real_data, "log_data/**/*.json", 1)
    upload(direct, real_data, "log_json_path.json")
    second_page = lambda path, query, headers: "continuation-token" in query
    proxy.fail("GET", second_page, ["cut", "slowdown", "reset"])
    config = s3_config(local_config, proxy, manifests=False)
    report = run_etl(config, show_progress=False)
    assert report.staged["staging_songs"] == 1005
    assert proxy.faults_left() == 0
    tokens = [s.query["continuation-token"] for s in proxy.seen("GET") if "continuation-token" in s.query]
    assert len(tokens) >= 4 and len(set(tokens)) == 1  # the same page asked for again (each listing: 2 pages)


def test_a_streamed_object_resumes_from_the_last_byte_with_if_match(real_bucket, local_config, pg_dsn, monkeypatch,
                                                                     real_data):
    from sparkify.copy import sources

    proxy, direct, _ = real_bucket
    monkeypatch.setattr(sources, "PREFETCH_LIMIT_BYTES", 100)  # every object streamed
    log_key = "log_data/2018/11/all-days.json"  # one object of a few MB: it breaks half-way, twice
    direct.put_object(Bucket=BUCKET, Key=log_key,
                      Body=b"".join(p.read_bytes() for p in sorted(real_data.glob("log_data/**/*.json"))))
    proxy.fail("GET", f"{BUCKET}/{log_key}", ["cut", "cut"])
    config = s3_config(local_config, proxy, manifests=False)
    create_tables(config)
    run_etl(config, show_progress=False)
    gets = proxy.seen("GET", f"{BUCKET}/{log_key}")
    etag = direct.head_object(Bucket=BUCKET, Key=log_key)["ETag"]
    assert [g.fault for g in gets] == ["cut", "cut", None]
    assert "range" not in gets[0].headers
    first_cut = int(gets[1].headers["range"].removeprefix("bytes=").rstrip("-"))
    second_cut = int(gets[2].headers["range"].removeprefix("bytes=").rstrip("-"))
    size = direct.head_object(Bucket=BUCKET, Key=log_key)["ContentLength"]
    assert 0 < first_cut < second_cut < size  # each time from the first byte not received
    assert gets[1].headers["if-match"] == gets[2].headers["if-match"] == etag
    faulty_run = star(pg_dsn)
    proxy.clear()
    create_tables(config)
    run_etl(config, show_progress=False)
    assert star(pg_dsn) == faulty_run


def test_an_object_changed_while_streamed_is_not_spliced(schema, real_bucket, local_config, pg_dsn, monkeypatch, real_data):
    from sparkify.copy import sources

    proxy, direct, keys = real_bucket
    monkeypatch.setattr(sources, "PREFETCH_LIMIT_BYTES", 100)
    log_key = keys[1]
    other_day = sorted(real_data.glob("log_data/**/*.json"))[10].read_bytes()

    def replace_it_before_the_resume(path, query, headers):
        if path == f"{BUCKET}/{log_key}" and "range" in headers:
            direct.put_object(Bucket=BUCKET, Key=log_key, Body=other_day)  # changed between the two reads
        return False

    proxy.fail("GET", f"{BUCKET}/{log_key}", "cut")
    proxy.fail("GET", replace_it_before_the_resume, "reset")  # (never answers with a fault: it only acts)
    config = s3_config(local_config, proxy, manifests=False)
    before = counts(pg_dsn)
    with pytest.raises(LoadError) as info:
        run_etl(config, show_progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert f"s3://{BUCKET}/{log_key}: the object changed while it was read" in message
    assert counts(pg_dsn) == before


@pytest.mark.parametrize("fault", FAULT_CYCLE)
def test_an_object_that_keeps_failing_fails_the_run_naming_it(real_bucket, local_config, pg_dsn, fault):
    proxy, _, keys = real_bucket
    config = s3_config(local_config, proxy)
    create_tables(config)
    run_etl(config, show_progress=False)  # a first load...
    before, schema = counts(pg_dsn), star(pg_dsn)
    proxy.clear()
    bad = keys[-1]
    proxy.fail("GET", f"{BUCKET}/{bad}", fault, times=100)
    with pytest.raises(LoadError) as info:
        run_etl(config, show_progress=False, reload=True)  # ...then one that must read the object again
    message = str(info.value)
    assert "\n" not in message
    assert f"cannot read s3://{BUCKET}/{bad}: " in message
    assert "6 attempts" in message
    expected = {"slowdown": "503 SlowDown", "internal": "500 InternalError", "reset": "ConnectionClosedError",
                "cut": "ResponseStreamingError"}[fault]
    assert expected in message
    assert len(proxy.seen("GET", f"{BUCKET}/{bad}")) == 6
    assert counts(pg_dsn) == before and star(pg_dsn) == schema  # nothing changed


def test_etl_py_prints_one_line_naming_the_object(real_bucket, tmp_path, local_config, capsys):
    import create_tables as create_tables_script
    import etl

    proxy, _, keys = real_bucket
    c = local_config.cluster
    cfg = DwhCfg.postgres(host=c.host, db_name=c.db_name, db_user=c.db_user, db_port=c.db_port,
                          log_data=f"s3://{BUCKET}/log_data", log_jsonpath=f"s3://{BUCKET}/log_json_path.json",
                          song_data=f"s3://{BUCKET}/song_data").set("S3", REGION="us-west-2", ENDPOINT_URL=proxy.url)
    cfg = cfg.write(tmp_path / "dwh.cfg")
    assert create_tables_script.main(["--config", str(cfg), "-q"]) == 0
    proxy.fail("GET", f"{BUCKET}/{keys[4]}", "slowdown", times=100)
    assert etl.main(["--config", str(cfg), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"etl.py: staging_songs: cannot read s3://{BUCKET}/{keys[4]}: 503 SlowDown "
                          "(Please reduce your request rate.), 6 attempts in ")
