"""Fixtures for database tests: a created warehouse and a way to stage and merge hand-made batches."""

from __future__ import annotations

from datetime import datetime

import pytest

from sparkify.pipeline import create_tables, merge_staging
from sparkify.warehouse import Warehouse

T0 = datetime(2018, 11, 5, 10, 0, 0, 123000)
EVENT_COLS = ("artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length", "level",
              "location", "method", "page", "registration", "session_id", "song", "status", "ts", "user_agent",
              "user_id")
SONG_COLS = ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name",
             "song_id", "title", "duration", "year")


def _event(user_id=7, session_id=1, item=0, ts=T0, page="NextSong", level="free", song=None, artist=None,
          length=None, first_name="Ada", last_name="Lovelace"):
    return {"artist": artist, "auth": "Logged In", "first_name": first_name, "gender": "F", "item_in_session": item,
            "last_name": last_name, "length": length, "level": level, "location": "London", "method": "PUT",
            "page": page, "registration": 1540919166796.0, "session_id": session_id, "song": song, "status": 200,
            "ts": ts, "user_agent": '"Mozilla/5.0"', "user_id": user_id}


def _song(song_id="SOAAA", title="Song A", artist_id="ARAAA", artist_name="Artist A", duration=200.5,
         location="Paris", lat=1.0, lon=2.0, year=2001):
    return {"num_songs": 1, "artist_id": artist_id, "artist_latitude": lat, "artist_longitude": lon,
            "artist_location": location, "artist_name": artist_name, "song_id": song_id, "title": title,
            "duration": duration, "year": year}


def _load_batch(wh, events=(), songs=()):
    """Replace staging with the given batch and merge it, in one transaction. Returns the report."""
    with wh.transaction() as conn:
        with conn.cursor() as cur:
            cur.execute("delete from staging_events; delete from staging_songs")
            for e in events:
                cur.execute(f"insert into staging_events ({', '.join(EVENT_COLS)}) values "
                            f"({', '.join(['%s'] * len(EVENT_COLS))})", [e[c] for c in EVENT_COLS])
            for s in songs:
                cur.execute(f"insert into staging_songs ({', '.join(SONG_COLS)}) values "
                            f"({', '.join(['%s'] * len(SONG_COLS))})", [s[c] for c in SONG_COLS])
        return merge_staging(wh, conn)



def run(script, cfg_path, *extra) -> None:
    """A script's main() with --config and --quiet; it must succeed."""
    assert script.main(["--config", str(cfg_path), "--quiet", *extra]) == 0


def query(conn, sql) -> list[tuple]:
    """The rows of `sql`, read outside any open transaction of the test's connection."""
    with conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    conn.rollback()
    return rows


@pytest.fixture
def real_sources(real_data, config_file):
    """real_sources(log=prefix, name=...) -> a dwh.cfg loading the real data in place: the logs under that key
    prefix (all by default), every song."""

    def make(log: str = "", name: str = "dwh.cfg"):
        logs = real_data / "log_data"
        return config_file(log_data=f"{logs}/{log}" if log else logs, song_data=real_data / "song_data",
                           log_jsonpath=real_data / "log_json_path.json", name=name)

    return make


@pytest.fixture
def warehouse(local_config):
    create_tables(local_config)
    return Warehouse(local_config)


@pytest.fixture
def make_event():
    """An event row for staging_events (NextSong by default); keywords override columns."""
    return _event


@pytest.fixture
def make_song():
    """A song row for staging_songs; keywords override columns."""
    return _song


@pytest.fixture
def load_batch(warehouse):
    """load_batch(events=[...], songs=[...]): replace staging with the batch and merge it (one transaction)."""
    return lambda events=(), songs=(): _load_batch(warehouse, events, songs)
