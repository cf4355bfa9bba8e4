"""The star-schema contract, pinned on hand-made staging rows (no COPY involved).

Each test stages a small batch with plain INSERTs, runs the merge (sparkify.pipeline.merge_staging)
in a transaction against the real embedded PostgreSQL, and checks the star tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg2
import pytest

import sql_queries
from sparkify.errors import CheckError
from sparkify.pipeline import create_tables, merge_staging
from sparkify.warehouse import Warehouse

T0 = datetime(2018, 11, 5, 10, 0, 0, 123000)
EVENT_COLS = ("artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length", "level",
              "location", "method", "page", "registration", "session_id", "song", "status", "ts", "user_agent",
              "user_id")
SONG_COLS = ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name",
             "song_id", "title", "duration", "year")


def event(user_id=7, session_id=1, item=0, ts=T0, page="NextSong", level="free", song=None, artist=None,
          length=None, first_name="Ada", last_name="Lovelace"):
    return dict(artist=artist, auth="Logged In", first_name=first_name, gender="F", item_in_session=item,
                last_name=last_name, length=length, level=level, location="London", method="PUT", page=page,
                registration=1540919166796.0, session_id=session_id, song=song, status=200, ts=ts,
                user_agent='"Mozilla/5.0"', user_id=user_id)


def song(song_id="SOAAA", title="Song A", artist_id="ARAAA", artist_name="Artist A", duration=200.5,
         location="Paris", lat=1.0, lon=2.0, year=2001):
    return dict(num_songs=1, artist_id=artist_id, artist_latitude=lat, artist_longitude=lon,
                artist_location=location, artist_name=artist_name, song_id=song_id, title=title,
                duration=duration, year=year)


@pytest.fixture
def warehouse(local_config):
    create_tables(local_config)
    return Warehouse(local_config)


def load_batch(wh, events=(), songs=()):
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


def rows(conn, query):
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def test_one_songplay_per_next_song_event(warehouse, pg_conn):
    report = load_batch(warehouse, events=[
        event(item=0, page="Home"),
        event(item=1, ts=T0 + timedelta(seconds=1)),
        event(item=2, ts=T0 + timedelta(seconds=2)),
        event(item=3, ts=T0 + timedelta(seconds=3), page="Logout"),
    ])
    assert rows(pg_conn, "select item_in_session from songplays order by 1") == [(1,), (2,)]
    assert report.run_counts["songplays_of_run"] == 2


def test_duplicated_event_in_a_batch_gives_one_songplay(warehouse, pg_conn):
    load_batch(warehouse, events=[event(item=1), event(item=1)])
    assert rows(pg_conn, "select count(*), count(distinct songplay_id) from songplays") == [(1, 1)]


def test_song_match_is_exact_on_title_artist_and_duration(warehouse, pg_conn):
    load_batch(
        warehouse,
        songs=[song()],
        events=[
            event(item=1, song="Song A", artist="Artist A", length=200.5),
            event(item=2, song="Song A", artist="Artist A", length=200.50001),
            event(item=3, song="Song A", artist="Artist B", length=200.5),
            event(item=4, song="song a", artist="Artist A", length=200.5),
        ],
    )
    assert rows(pg_conn, "select item_in_session, song_id, artist_id from songplays order by 1") == [
        (1, "SOAAA", "ARAAA"), (2, None, None), (3, None, None), (4, None, None)]


def test_ambiguous_catalog_match_never_multiplies_a_play(warehouse, pg_conn):
    load_batch(
        warehouse,
        songs=[song(song_id="SOBBB"), song(song_id="SOAAA")],
        events=[event(item=1, song="Song A", artist="Artist A", length=200.5)],
    )
    assert rows(pg_conn, "select song_id from songplays") == [("SOAAA",)]


def test_start_time_is_exact_to_the_millisecond(warehouse, pg_conn):
    load_batch(warehouse, events=[event(item=1, ts=datetime(2018, 11, 30, 23, 59, 59, 999000))])
    assert rows(pg_conn, "select start_time from songplays") == [(datetime(2018, 11, 30, 23, 59, 59, 999000),)]
    assert rows(pg_conn, "select hour, day, week, month, year, weekday from time") == [(23, 30, 48, 11, 2018, 5)]


def test_user_level_is_the_level_of_the_latest_event_of_any_page(warehouse, pg_conn):
    load_batch(warehouse, events=[
        event(item=0, ts=T0, level="free"),
        event(item=1, ts=T0 + timedelta(minutes=1), page="Submit Upgrade", level="free"),
        event(item=2, ts=T0 + timedelta(minutes=2), page="Home", level="paid"),
        event(user_id=None, item=3, ts=T0 + timedelta(minutes=3), page="Home", level="free"),
    ])
    assert rows(pg_conn, "select user_id, level from users") == [(7, "paid")]


def test_older_batch_never_overwrites_a_newer_level(warehouse, pg_conn):
    load_batch(warehouse, events=[event(item=5, ts=T0 + timedelta(days=3), level="paid", first_name="New")])
    load_batch(warehouse, events=[event(item=1, ts=T0, level="free", first_name="Old")])
    assert rows(pg_conn, "select level, first_name from users") == [("paid", "New")]
    load_batch(warehouse, events=[event(item=9, ts=T0 + timedelta(days=4), level="free", first_name="Newest")])
    assert rows(pg_conn, "select level, first_name from users") == [("free", "Newest")]


def test_songs_and_artists_one_row_per_key_with_a_deterministic_choice(warehouse, pg_conn):
    batch = [
        song(song_id="SO1", artist_id="AR1", artist_name="Zed", location=None, lat=None, lon=None),
        song(song_id="SO2", artist_id="AR1", artist_name="Zed feat. Amy", location="Berlin", lat=None, lon=None),
        song(song_id="SO3", artist_id="AR1", artist_name="Amy & Zed", location="Berlin", lat=5.0, lon=6.0),
        song(song_id="SO3", artist_id="AR1", artist_name="Amy & Zed", title="Another title"),
    ]
    load_batch(warehouse, songs=batch)
    first = rows(pg_conn, "select * from artists"), rows(pg_conn, "select * from songs order by song_id")
    assert first[0] == [("AR1", "Amy & Zed", "Berlin", 5.0, 6.0)]
    assert [r[0] for r in first[1]] == ["SO1", "SO2", "SO3"]
    assert first[1][2][1] == "Another title"  # the first title alphabetically
    load_batch(warehouse, songs=list(reversed(batch)))
    assert (rows(pg_conn, "select * from artists"), rows(pg_conn, "select * from songs order by song_id")) == first


def test_rerun_is_idempotent_including_surrogate_keys(warehouse, pg_conn):
    events = [event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(5)]
    load_batch(warehouse, events=events, songs=[song()])
    snapshot = {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.STAR_TABLES}
    report = load_batch(warehouse, events=events, songs=[song()])
    assert {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.STAR_TABLES} == snapshot
    assert report.run_counts["songplays_of_run"] == 5
    assert rows(pg_conn, "select count(*) from etl_runs") == [(2,)]


def test_failure_mid_merge_leaves_star_tables_unchanged(warehouse, pg_conn, monkeypatch):
    load_batch(warehouse, events=[event(item=1)], songs=[song()])
    snapshot = {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.ALL_TABLES}
    queries = list(sql_queries.insert_table_queries)
    queries.insert(queries.index(sql_queries.songplay_table_insert), "select 1 / 0")
    monkeypatch.setattr(sql_queries, "insert_table_queries", queries)
    with pytest.raises(psycopg2.errors.DivisionByZero):
        load_batch(warehouse, events=[event(item=2, level="paid")], songs=[song(song_id="SONEW")])
    pg_conn.rollback()
    assert {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.ALL_TABLES} == snapshot


def test_a_failing_check_rolls_the_run_back(warehouse, pg_conn):
    load_batch(warehouse, events=[event(item=1), event(user_id=8, item=2)])
    with pg_conn.cursor() as cur:  # corrupt: a second row for user 8, whom the next batch does not touch
        cur.execute("insert into users values (8, 'X', 'Y', 'F', 'paid', now())")
    pg_conn.commit()
    with pytest.raises(CheckError, match=r"users\.user_id_unique failed: 1 offending rows.*e\.g\. 8"):
        load_batch(warehouse, events=[event(item=2)])
    assert rows(pg_conn, "select count(*) from songplays") == [(2,)]
    assert rows(pg_conn, "select count(*) from etl_runs") == [(1,)]
