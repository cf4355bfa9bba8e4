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

T0 = datetime(2018, 11, 5, 10, 0, 0, 123000)

def rows(conn, query):
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def test_one_songplay_per_next_song_event(make_event, load_batch, pg_conn):
    report = load_batch(events=[
        make_event(item=0, page="Home"),
        make_event(item=1, ts=T0 + timedelta(seconds=1)),
        make_event(item=2, ts=T0 + timedelta(seconds=2)),
        make_event(item=3, ts=T0 + timedelta(seconds=3), page="Logout"),
    ])
    assert rows(pg_conn, "select item_in_session from songplays order by 1") == [(1,), (2,)]
    assert report.run_counts["songplays_of_run"] == 2


def test_duplicated_event_in_a_batch_gives_one_songplay(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=1), make_event(item=1)])
    assert rows(pg_conn, "select count(*), count(distinct songplay_id) from songplays") == [(1, 1)]


def test_song_match_is_exact_on_title_artist_and_duration(make_event, make_song, load_batch, pg_conn):
    load_batch(
        songs=[make_song()],
        events=[
            make_event(item=1, song="Song A", artist="Artist A", length=200.5),
            make_event(item=2, song="Song A", artist="Artist A", length=200.50001),
            make_event(item=3, song="Song A", artist="Artist B", length=200.5),
            make_event(item=4, song="song a", artist="Artist A", length=200.5),
        ],
    )
    assert rows(pg_conn, "select item_in_session, song_id, artist_id from songplays order by 1") == [
        (1, "SOAAA", "ARAAA"), (2, None, None), (3, None, None), (4, None, None)]


def test_ambiguous_catalog_match_never_multiplies_a_play(make_event, make_song, load_batch, pg_conn):
    load_batch(
        songs=[make_song(song_id="SOBBB"), make_song(song_id="SOAAA")],
        events=[make_event(item=1, song="Song A", artist="Artist A", length=200.5)],
    )
    assert rows(pg_conn, "select song_id from songplays") == [("SOAAA",)]


def test_start_time_is_exact_to_the_millisecond(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=1, ts=datetime(2018, 11, 30, 23, 59, 59, 999000))])
    assert rows(pg_conn, "select start_time from songplays") == [(datetime(2018, 11, 30, 23, 59, 59, 999000),)]
    assert rows(pg_conn, "select hour, day, week, month, year, weekday from time") == [(23, 30, 48, 11, 2018, 5)]


def test_user_level_is_the_level_of_the_latest_event_of_any_page(make_event, load_batch, pg_conn):
    load_batch(events=[
        make_event(item=0, ts=T0, level="free"),
        make_event(item=1, ts=T0 + timedelta(minutes=1), page="Submit Upgrade", level="free"),
        make_event(item=2, ts=T0 + timedelta(minutes=2), page="Home", level="paid"),
        make_event(user_id=None, item=3, ts=T0 + timedelta(minutes=3), page="Home", level="free"),
    ])
    assert rows(pg_conn, "select user_id, level from users") == [(7, "paid")]


def test_older_batch_never_overwrites_a_newer_level(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=5, ts=T0 + timedelta(days=3), level="paid", first_name="New")])
    load_batch(events=[make_event(item=1, ts=T0, level="free", first_name="Old")])
    assert rows(pg_conn, "select level, first_name from users") == [("paid", "New")]
    load_batch(events=[make_event(item=9, ts=T0 + timedelta(days=4), level="free", first_name="Newest")])
    assert rows(pg_conn, "select level, first_name from users") == [("free", "Newest")]


def test_songs_and_artists_one_row_per_key_with_a_deterministic_choice(make_song, load_batch, pg_conn):
    batch = [
        make_song(song_id="SO1", artist_id="AR1", artist_name="Zed", location=None, lat=None, lon=None),
        make_song(song_id="SO2", artist_id="AR1", artist_name="Zed feat. Amy", location="Berlin", lat=None, lon=None),
        make_song(song_id="SO3", artist_id="AR1", artist_name="Amy & Zed", location="Berlin", lat=5.0, lon=6.0),
        make_song(song_id="SO3", artist_id="AR1", artist_name="Amy & Zed", title="Another title"),
    ]
    load_batch(songs=batch)
    first = rows(pg_conn, "select * from artists"), rows(pg_conn, "select * from songs order by song_id")
    assert first[0] == [("AR1", "Amy & Zed", "Berlin", 5.0, 6.0)]
    assert [r[0] for r in first[1]] == ["SO1", "SO2", "SO3"]
    assert first[1][2][1] == "Another title"  # the first title alphabetically
    load_batch(songs=list(reversed(batch)))
    assert (rows(pg_conn, "select * from artists"), rows(pg_conn, "select * from songs order by song_id")) == first


def test_rerun_is_idempotent_including_surrogate_keys(make_event, make_song, load_batch, pg_conn):
    events = [make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(5)]
    load_batch(events=events, songs=[make_song()])
    snapshot = {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.STAR_TABLES}
    report = load_batch(events=events, songs=[make_song()])
    assert {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.STAR_TABLES} == snapshot
    assert report.run_counts["songplays_of_run"] == 5
    assert rows(pg_conn, "select count(*) from etl_runs") == [(2,)]


def test_failure_mid_merge_leaves_star_tables_unchanged(make_event, make_song, load_batch, pg_conn, monkeypatch):
    load_batch(events=[make_event(item=1)], songs=[make_song()])
    snapshot = {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.ALL_TABLES}
    queries = list(sql_queries.insert_table_queries)
    queries.insert(queries.index(sql_queries.songplay_table_insert), "select 1 / 0")
    monkeypatch.setattr(sql_queries, "insert_table_queries", queries)
    with pytest.raises(psycopg2.errors.DivisionByZero):
        load_batch(events=[make_event(item=2, level="paid")], songs=[make_song(song_id="SONEW")])
    pg_conn.rollback()
    assert {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.ALL_TABLES} == snapshot


def test_a_failing_check_rolls_the_run_back(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=1), make_event(user_id=8, item=2)])
    with pg_conn.cursor() as cur:  # corrupt: a second row for user 8, whom the next batch does not touch
        cur.execute("insert into users values (8, 'X', 'Y', 'F', 'paid', now())")
    pg_conn.commit()
    with pytest.raises(CheckError, match=r"users\.user_id_unique failed: 1 offending rows.*e\.g\. 8"):
        load_batch(events=[make_event(item=2)])
    assert rows(pg_conn, "select count(*) from songplays") == [(2,)]
    assert rows(pg_conn, "select count(*) from etl_runs") == [(1,)]
