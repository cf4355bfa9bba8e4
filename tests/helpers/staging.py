"""Hand-made batches for the merge tests: staging rows (an event, a song record) and a batch staged and merged
in one transaction, as etl.py stages and merges a run's COPYs. The columns come from sql_queries' DDL."""

from __future__ import annotations

from datetime import datetime

from sparkify.pipeline import merge_staging
from tests.helpers.schema import columns

T0 = datetime(2018, 11, 5, 10, 0, 0, 123000)


def event(user_id=7, session_id=1, item=0, ts=T0, page="NextSong", level="free", song=None, artist=None,
          length=None, first_name="Ada", last_name="Lovelace") -> dict:
    """A staging_events row (a NextSong play by default)."""
    return {"artist": artist, "auth": "Logged In", "first_name": first_name, "gender": "F", "item_in_session": item,
            "last_name": last_name, "length": length, "level": level, "location": "London", "method": "PUT",
            "page": page, "registration": 1540919166796.0, "session_id": session_id, "song": song, "status": 200,
            "ts": ts, "user_agent": '"Mozilla/5.0"', "user_id": user_id}


def song(song_id="SOAAA", title="Song A", artist_id="ARAAA", artist_name="Artist A", duration=200.5,
         location="Paris", lat=1.0, lon=2.0, year=2001) -> dict:
    """A staging_songs row."""
    return {"num_songs": 1, "artist_id": artist_id, "artist_latitude": lat, "artist_longitude": lon,
            "artist_location": location, "artist_name": artist_name, "song_id": song_id, "title": title,
            "duration": duration, "year": year}


def insert_rows(cur, table: str, rows) -> None:
    """INSERT `rows` (dicts with every column of `table`) into a staging table, values as parameters."""
    names = columns(table)
    for row in rows:
        cur.execute(f"insert into {table} ({', '.join(names)}) values ({', '.join(['%s'] * len(names))})",
                    [row[c] for c in names])


def load_batch(wh, events=(), songs=()):
    """Replace staging with the given batch and merge it, in one transaction. Returns the merge's report."""
    with wh.transaction() as conn:
        with conn.cursor() as cur:
            cur.execute("delete from staging_events; delete from staging_songs")
            insert_rows(cur, "staging_events", events)
            insert_rows(cur, "staging_songs", songs)
        return merge_staging(wh, conn)
