"""The real udacity-dend files (../shared/data/sparkify) through the emulated COPY, checked value by value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sql_queries
from sparkify.warehouse import translate_for_postgres

pytestmark = pytest.mark.realdata


@pytest.fixture
def staging(db):
    db.execute(translate_for_postgres(sql_queries.staging_events_table_create.sql))
    db.execute(translate_for_postgres(sql_queries.staging_songs_table_create.sql))
    for table in ("staging_events", "staging_songs"):  # load order (COPY skips identity columns)
        db.execute(f"alter table {table} add column seq bigint generated always as identity")
    return db


def raw_events(log_dir: Path, pattern: str = "*.json") -> list[dict]:
    events = []
    for f in sorted(log_dir.glob(f"**/{pattern}")):
        events += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return events


def test_log_data(staging, real_data):
    result = staging.copy("staging_events", real_data / "log_data", json=real_data / "log_json_path.json",
                          timeformat="epochmillisecs")
    assert (result.loaded, result.rejected, result.files) == (8056, 0, 30)
    events = raw_events(real_data / "log_data")
    rows = staging.query("select (extract(epoch from ts) * 1000)::bigint, ts::text, user_id, session_id, "
                         "registration, length from staging_events order by seq")
    assert len(rows) == len(events) == 8056
    # ts is exactly the epoch milliseconds, for every row (files in key order, lines in file order)
    assert [r[0] for r in rows] == [e["ts"] for e in events]
    assert rows[0][1] == "2018-11-01 20:57:10.796"
    # userId is a JSON string: "39" loads 39, "" loads NULL
    assert [r[2] for r in rows] == [int(e["userId"]) if e["userId"] else None for e in events]
    assert sum(r[2] is None for r in rows) == 286
    assert [r[3] for r in rows] == [e["sessionId"] for e in events]
    assert [(r[4], r[5]) for r in rows] == [(e["registration"], e["length"]) for e in events]
    assert staging.query("select count(*) from staging_events where page = 'NextSong'") == [(6820,)]
    assert staging.load_errors() == []


def test_log_data_key_prefix_loads_days_1_to_9(staging, real_data):
    result = staging.copy("staging_events", f"{real_data}/log_data/2018/11/2018-11-0",
                          json=real_data / "log_json_path.json", timeformat="epochmillisecs")
    expected = raw_events(real_data / "log_data", "2018-11-0?-events.json")
    assert result.files == 9 and result.loaded == len(expected)
    assert staging.query("select min(ts)::date::text, max(ts)::date::text from staging_events") == [
        ("2018-11-01", "2018-11-09")]


def test_song_data(staging, real_data):
    result = staging.copy("staging_songs", real_data / "song_data")
    assert (result.loaded, result.rejected, result.files) == (1943, 0, 1943)
    songs = [json.loads(p.read_text()) for p in sorted((real_data / "song_data").glob("**/*.json"))]
    rows = staging.query("select song_id, artist_name, artist_location, duration, year, artist_latitude "
                         "from staging_songs order by seq")
    assert [r[0] for r in rows] == [s["song_id"] for s in songs]
    numeric = [(s, r) for s, r in zip(songs, rows)
               if isinstance(s["artist_name"], (int, float)) or isinstance(s["artist_location"], (int, float))]
    assert len(numeric) == 4
    for song, row in numeric:  # a JSON number loads into VARCHAR as its JSON text
        for key, value in (("artist_name", row[1]), ("artist_location", row[2])):
            if isinstance(song[key], (int, float)):
                assert value == json.dumps(song[key])
    assert [(r[3], r[4]) for r in rows] == [(s["duration"], s["year"]) for s in songs]
    assert staging.query("select count(distinct song_id), count(distinct artist_id) from staging_songs") == [
        (1943, 1809)]
