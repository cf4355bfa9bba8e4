"""Hostile inputs where the sources are listed: a local file whose name is not UTF-8 fails the run with one line
naming it (its bytes escaped), never a UnicodeEncodeError that names no file; a manifest read from S3 may name
only s3:// objects (Redshift refuses anything else), while a local manifest keeps naming local files."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import psycopg2
import pytest

from sparkify.copy.emulator import emulate_copy
from sparkify.copy.sources import list_local
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError
from sparkify.pipeline import run_etl

LATIN1_NAME = b"caf\xe9.json"  # "café.json" as a Latin-1 file system would hold it: not UTF-8
SONG = {"num_songs": 1, "artist_id": "ARX", "artist_latitude": None, "artist_longitude": None, "artist_location": "",
        "artist_name": "X", "song_id": "SOX", "title": "T", "duration": 1.5, "year": 0}


@pytest.fixture
def songs_with_a_latin1_name(tmp_path, real_data):
    """song_data/ with two real song files and one whose name is Latin-1 bytes."""
    songs = tmp_path / "song_data"
    songs.mkdir()
    for path in sorted(real_data.glob("song_data/**/*.json"))[:2]:
        (songs / path.name).write_bytes(path.read_bytes())
    with open(os.path.join(os.fsencode(songs), LATIN1_NAME), "wb") as fh:
        fh.write(json.dumps(SONG).encode())
    return songs


def test_the_copys_listing_names_the_file_with_its_bytes_escaped(songs_with_a_latin1_name):
    with pytest.raises(LoadError) as info:
        list(list_local(str(songs_with_a_latin1_name)))
    assert str(info.value) == (f"{songs_with_a_latin1_name}/caf\\xe9.json: the file name is not valid UTF-8 (S3 keys, "
                               "sys_load_error_detail and the load ledger are UTF-8): rename the file")


def test_a_run_fails_with_one_line_and_changes_nothing(schema, songs_with_a_latin1_name, local_config, pg_dsn, real_data):
    config = replace(local_config, s3=replace(local_config.s3, song_data=str(songs_with_a_latin1_name),
                                              log_data=str(real_data / "log_data" / "2018" / "11" / "2018-11-01"),
                                              log_jsonpath=str(real_data / "log_json_path.json")))
    with pytest.raises(LoadError) as info:
        run_etl(config, show_progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert f"{songs_with_a_latin1_name}/caf\\xe9.json: the file name is not valid UTF-8" in message
    conn = psycopg2.connect(pg_dsn)
    with conn.cursor() as cur:
        cur.execute("select (select count(*) from loaded_objects) + (select count(*) from etl_runs) "
                    "+ (select count(*) from songs)")
        assert cur.fetchone()[0] == 0
    conn.close()
    renamed = songs_with_a_latin1_name / "cafe.json"  # the fix the message names
    os.rename(os.path.join(os.fsencode(songs_with_a_latin1_name), LATIN1_NAME), renamed)
    assert run_etl(config, show_progress=False).staged["staging_songs"] == 3


def test_etl_py_prints_one_line(songs_with_a_latin1_name, config_file, real_data, capsys):
    import create_tables as create_tables_script
    import etl

    cfg = config_file(song_data=songs_with_a_latin1_name, log_data=real_data / "log_data" / "2018" / "11" / "2018-11-01",
                      log_jsonpath=real_data / "log_json_path.json")
    assert create_tables_script.main(["--config", str(cfg), "-q"]) == 0
    assert etl.main(["--config", str(cfg), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "caf\\xe9.json: the file name is not valid UTF-8" in err


@pytest.fixture
def song_table(pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("create table t (song_id varchar(32), title varchar(256))")
    pg_conn.commit()
    return pg_conn


def copy(conn, dsn, **spec):
    return emulate_copy(conn, CopySpec(table="t", **spec), error_conn_factory=lambda: psycopg2.connect(dsn))


@pytest.mark.parametrize("entry", ["/etc/passwd", "song_data/a.json", "file:///etc/passwd", "https://example.com/a.json"])
def test_a_manifest_on_s3_may_name_only_s3_objects(moto_s3, song_table, pg_dsn, tmp_path, entry):
    s3 = moto_s3
    s3.create_bucket(Bucket="bkt", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="bkt", Key="song_data/a.json", Body=json.dumps(SONG).encode())
    s3.put_object(Bucket="bkt", Key="load.manifest", Body=json.dumps({"entries": [
        {"url": "s3://bkt/song_data/a.json", "mandatory": True}, {"url": entry, "mandatory": True}]}).encode())
    with pytest.raises(LoadError) as info:
        copy(song_table, pg_dsn, source="s3://bkt/load.manifest", manifest=True)
    assert str(info.value) == (f"t: manifest s3://bkt/load.manifest: entry 1 {entry!r} is not an s3:// URL (a manifest "
                               "on S3 may name only S3 objects, as Redshift's may)")
    song_table.rollback()
    with song_table.cursor() as cur:
        cur.execute("select count(*) from t")
        assert cur.fetchone()[0] == 0


def test_a_local_manifest_still_names_local_files(song_table, pg_dsn, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.json").write_text(json.dumps(SONG))
    manifest = tmp_path / "load.manifest"
    manifest.write_text(json.dumps({"entries": [{"url": str(tmp_path / "data" / "a.json"), "mandatory": True}]}))
    assert copy(song_table, pg_dsn, source=str(manifest), manifest=True).loaded == 1
