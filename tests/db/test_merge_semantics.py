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
    assert report.run_counts["time_of_run"] == 5
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


def test_duplicated_event_is_matched_once_and_the_earliest_copy_wins(make_event, make_song, load_batch, pg_conn):
    """The events are matched to the catalog before they are de-duplicated: still one play per natural key."""
    report = load_batch(
        songs=[make_song(), make_song(song_id="SOZZZ")],  # two catalog records for the same title/artist/duration
        events=[
            make_event(item=1, ts=T0 + timedelta(seconds=1), song="Song A", artist="Artist A", length=200.5,
                       level="paid"),
            make_event(item=1, ts=T0, song="Song A", artist="Artist A", length=200.5, level="free"),
            make_event(item=1, ts=T0, song="Song A", artist="Artist A", length=200.5, level="free"),
        ],
    )
    assert rows(pg_conn, "select start_time, level, song_id, artist_id from songplays") == [
        (T0, "free", "SOAAA", "ARAAA")]
    assert report.run_counts["songplays_of_run"] == 1
    assert report.run_counts["time_of_run"] == 1


def test_user_ties_on_the_latest_ts_go_to_the_latest_session_then_item(make_event, load_batch, pg_conn):
    load_batch(events=[
        make_event(session_id=1, item=9, ts=T0, level="free", first_name="A"),
        make_event(session_id=2, item=0, ts=T0, level="paid", first_name="B"),
        make_event(session_id=2, item=1, ts=T0, level="free", first_name="C"),
        make_event(session_id=3, item=0, ts=T0 - timedelta(seconds=1), level="paid", first_name="D"),
    ])
    assert rows(pg_conn, "select level, first_name, last_event_at from users") == [("free", "C", T0)]


def test_run_counts_describe_the_batch_including_what_was_already_there(make_event, load_batch, pg_conn):
    """etl_runs.songplays_added / time_added count the batch's plays and start times, new or not."""
    load_batch(events=[make_event(item=1, ts=T0), make_event(item=2, ts=T0 + timedelta(seconds=1))])
    report = load_batch(events=[
        make_event(item=2, ts=T0 + timedelta(seconds=1)),  # already loaded
        make_event(item=3, ts=T0 + timedelta(seconds=2)),
        make_event(item=4, ts=T0 + timedelta(seconds=2)),  # same start time as item 3
        make_event(item=5, ts=T0 + timedelta(seconds=3), page="Home"),
    ])
    assert report.run_counts == {"staged_events": 4, "staged_songs": 0, "songplays_of_run": 3, "users_merged": 1,
                                 "songs_merged": 0, "artists_merged": 0, "time_of_run": 2}
    assert rows(pg_conn, "select count(*) from songplays") == [(4,)]
    assert rows(pg_conn, "select count(*) from time") == [(3,)]
    assert rows(pg_conn, "select songplays_added, time_added from etl_runs order by run_id") == [(2, 2), (3, 2)]


def _replace_merge_statement(monkeypatch, old: str, new: str | None) -> None:
    queries = list(sql_queries.insert_table_queries)
    i = queries.index(old)
    if new is None:
        del queries[i]
    else:
        queries[i] = new
    monkeypatch.setattr(sql_queries, "insert_table_queries", queries)


def test_the_gate_catches_a_play_the_run_failed_to_insert(make_event, load_batch, pg_conn, monkeypatch):
    skipping_item_2 = sql_queries.songplay_table_insert.replace("where not exists",
                                                                "where b.item_in_session <> 2 and not exists")
    _replace_merge_statement(monkeypatch, sql_queries.songplay_table_insert, skipping_item_2)
    with pytest.raises(CheckError, match=r"songplays\.match_staged_next_song_events failed: 1 offending rows.*"
                                         r"e\.g\. \(1, 2\)"):
        load_batch(events=[make_event(item=1), make_event(item=2, ts=T0 + timedelta(seconds=1))])
    assert rows(pg_conn, "select count(*) from songplays") == [(0,)]


def test_the_gate_catches_duplicate_plays_created_by_the_run(make_event, load_batch, pg_conn, monkeypatch):
    events = [make_event(item=1), make_event(item=2, ts=T0 + timedelta(seconds=1))]
    load_batch(events=events)
    # a merge that forgets the anti-join: re-running the batch duplicates both plays
    _replace_merge_statement(monkeypatch, sql_queries.songplay_table_insert,
                             sql_queries.songplay_table_insert[:sql_queries.songplay_table_insert.index("where not")])
    with pytest.raises(CheckError, match=r"songplays\.session_id_item_in_session_unique failed: 2 offending rows.*"
                                         r"e\.g\. \(1, [12]\), \(1, [12]\)"):  # samples sort on their first column
        load_batch(events=events)
    assert rows(pg_conn, "select count(*) from songplays") == [(2,)]


def test_the_gate_catches_an_orphan_created_by_the_run(make_event, load_batch, pg_conn, monkeypatch):
    load_batch(events=[make_event(item=1)])
    _replace_merge_statement(monkeypatch, sql_queries.user_table_insert, None)  # users of the batch never merged
    with pytest.raises(CheckError, match=r"songplays\.user_id_in_users failed: 1 offending rows.*e\.g\. 8"):
        load_batch(events=[make_event(user_id=8, item=2)])
    assert rows(pg_conn, "select user_id from users") == [(7,)]


def test_the_gate_counts_duplicated_surrogate_keys_exactly(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(3)])
    with pg_conn.cursor() as cur:  # corrupt: ids 0 and 1 used twice (new natural keys, so only the ids clash)
        cur.execute("insert into songplays (songplay_id, start_time, user_id, session_id, item_in_session) "
                    "select songplay_id, start_time, user_id, 9, item_in_session from songplays where songplay_id < 2")
    pg_conn.commit()
    with pytest.raises(CheckError) as failed:
        load_batch(events=[make_event(item=5)])
    result = next(r for r in failed.value.failures if r.name == "songplays.songplay_id_unique")
    assert (result.count, result.sample) == (2, [0, 1])


def test_the_merge_tunes_postgresql_for_its_own_transaction_only(warehouse):
    from sparkify.pipeline import merge_staging

    conn = warehouse.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("show work_mem")
            default = cur.fetchone()[0]
            merge_staging(warehouse, conn)
            cur.execute("show work_mem")
            assert cur.fetchone()[0] == "256MB"
            conn.rollback()
            cur.execute("show work_mem")
            assert cur.fetchone()[0] == default != "256MB"
    finally:
        conn.close()
