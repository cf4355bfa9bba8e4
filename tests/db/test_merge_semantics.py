"""The star-schema contract, pinned on hand-made staging rows (no COPY involved).

Each test stages a small batch with plain INSERTs, runs the merge (sparkify.pipeline.merge_staging)
in a transaction against the real embedded PostgreSQL, and checks the star tables.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

import sql_queries
from sparkify.errors import CheckError, LoadError
from sql_queries import Statement
from tests.helpers.star import star

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
    assert report.run_counts["songplays_added"] == 2


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
    assert {k: report.run_counts[k] for k in ("songplays_added", "songplays_changed", "time_added", "users_merged",
                                              "songs_merged", "artists_merged", "songplays_rows", "time_rows")} == {
        "songplays_added": 0, "songplays_changed": 0, "time_added": 0, "users_merged": 0, "songs_merged": 0,
        "artists_merged": 0, "songplays_rows": 5, "time_rows": 5}
    assert rows(pg_conn, "select run_id from etl_runs order by 1") == [(1,), (2,)]


def test_failure_mid_merge_leaves_star_tables_unchanged(make_event, make_song, load_batch, pg_conn, monkeypatch):
    load_batch(events=[make_event(item=1)], songs=[make_song()])
    snapshot = {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.ALL_TABLES}
    queries = list(sql_queries.merge_queries)
    queries.insert(queries.index(sql_queries.songplay_table_insert), Statement("division_by_zero", "select 1 / 0"))
    monkeypatch.setattr(sql_queries, "merge_queries", queries)
    with pytest.raises(LoadError, match=r"^division_by_zero: division by zero \(the run rolled back: nothing of it "
                                         r"stays\)$"):  # a data error (SQLSTATE class 22), named by its statement
        load_batch(events=[make_event(item=2, level="paid")], songs=[make_song(song_id="SONEW")])
    pg_conn.rollback()
    assert {t: rows(pg_conn, f"select * from {t} order by 1") for t in sql_queries.ALL_TABLES} == snapshot


def test_a_failing_check_rolls_the_run_back(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=1), make_event(user_id=8, item=2)])
    with pg_conn.cursor() as cur:  # corrupt: a second row for user 8, whom the next batch touches
        cur.execute("insert into users values (8, 'X', 'Y', 'F', 'paid', now() + interval '10 years')")
    pg_conn.commit()
    with pytest.raises(CheckError, match=r"users\.run_user_id_once failed: 1 offending rows.*e\.g\. 8"):
        load_batch(events=[make_event(user_id=8, item=3)])
    assert rows(pg_conn, "select count(*) from songplays") == [(2,)]
    assert rows(pg_conn, "select count(*) from etl_runs") == [(1,)]


def test_the_run_gate_looks_at_the_run_s_keys_and_analytics_check_at_everything(make_event, load_batch, pg_conn,
                                                                                warehouse):
    """A corrupt row the run does not touch passes the run's gate (it costs what is new), and the whole-table
    checks (analytics.py --check) still find it."""
    from sparkify.checks import run_checks

    load_batch(events=[make_event(item=1), make_event(user_id=8, item=2)])
    with pg_conn.cursor() as cur:
        cur.execute("insert into users values (8, 'X', 'Y', 'F', 'paid', now())")
    pg_conn.commit()
    load_batch(events=[make_event(item=3)])
    with pg_conn.cursor() as cur:
        failed = [r for r in run_checks(cur) if not r.passed]
    assert [(r.name, r.count, r.examples) for r in failed] == [("users.user_id_unique", 1, [8])]


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
    assert report.run_counts["songplays_added"] == 1
    assert report.run_counts["time_added"] == 1


@pytest.mark.parametrize("split", [None, 1, 2, 3], ids=["one batch", "1+3", "2+2", "3+1"])
def test_user_ties_on_the_latest_ts_go_to_paid_then_the_first_name(make_event, load_batch, pg_conn, split):
    """At the same millisecond, 'paid' before 'free', then the first name alphabetically: the same row whatever
    batches the events come in."""
    events = [
        make_event(session_id=2, item=1, ts=T0, level="free", first_name="A"),
        make_event(session_id=2, item=0, ts=T0, level="paid", first_name="C"),
        make_event(session_id=1, item=9, ts=T0, level="paid", first_name="B"),
        make_event(session_id=3, item=0, ts=T0 - timedelta(seconds=1), level="paid", first_name="A"),
    ]
    for batch in ([events] if split is None else [events[:split], events[split:]]):
        load_batch(events=batch)
    assert rows(pg_conn, "select level, first_name, last_event_at from users") == [("paid", "B", T0)]


def test_run_counts_say_what_the_run_wrote(make_event, load_batch, pg_conn):
    """etl_runs.songplays_added / time_added count the rows the run added; *_rows the tables after it."""
    load_batch(events=[make_event(item=1, ts=T0), make_event(item=2, ts=T0 + timedelta(seconds=1))])
    report = load_batch(events=[
        make_event(item=2, ts=T0 + timedelta(seconds=1)),  # already loaded
        make_event(item=3, ts=T0 + timedelta(seconds=2)),
        make_event(item=4, ts=T0 + timedelta(seconds=2)),  # same start time as item 3
        make_event(item=5, ts=T0 + timedelta(seconds=3), page="Home"),
    ])
    counts = {k: v for k, v in report.run_counts.items() if k not in ("finished_at",)}
    assert counts == {"run_id": 2, "objects_loaded": 0, "objects_skipped": 0, "objects_missing": 0,
                      "staged_events": 4, "staged_songs": 0, "songplays_added": 2, "songplays_changed": 0,
                      "users_merged": 1, "songs_merged": 0, "artists_merged": 0, "time_added": 1,
                      "songplays_rows": 4, "users_rows": 1, "songs_rows": 0, "artists_rows": 0, "time_rows": 3}
    assert rows(pg_conn, "select count(*) from songplays") == [(4,)]
    assert rows(pg_conn, "select count(*) from time") == [(3,)]
    assert rows(pg_conn, "select songplays_added, time_added, songplays_rows from etl_runs order by run_id") == [
        (2, 2, 2), (2, 1, 4)]


def _replace_merge_statement(monkeypatch, old: Statement, new_sql: str | None) -> None:
    """The merge with `old`'s text replaced by `new_sql` (None: without `old`)."""
    queries = list(sql_queries.merge_queries)
    i = queries.index(old)
    if new_sql is None:
        del queries[i]
    else:
        queries[i] = dataclasses.replace(old, sql=new_sql)
    monkeypatch.setattr(sql_queries, "merge_queries", queries)


ANTI_JOIN = """where not exists (
    select 1
    from batch_stored_keys as s
    where s.session_id = b.session_id
      and s.item_in_session = b.item_in_session
)"""
FIRST_LOAD_PLAYS = "where e.duplicate_rank = 1"


@pytest.mark.parametrize("first_load", [True, False], ids=["first load", "later run"])
def test_the_gate_catches_a_play_the_run_failed_to_insert(make_event, load_batch, pg_conn, monkeypatch, first_load):
    if first_load:  # songplays empty before the run: the plays go straight from staging
        insert, text = sql_queries.songplay_first_insert, FIRST_LOAD_PLAYS
    else:
        load_batch(events=[make_event(item=0, ts=T0 - timedelta(days=1))])
        insert, text = sql_queries.songplay_table_insert, ANTI_JOIN
    assert text in insert.sql
    _replace_merge_statement(monkeypatch, insert, insert.sql.replace(text, text + " and item_in_session <> 2"))
    with pytest.raises(CheckError, match=r"songplays\.run_plays_once failed: 1 offending rows.*"
                                         r"e\.g\. \(1, 2\)"):
        load_batch(events=[make_event(item=1), make_event(item=2, ts=T0 + timedelta(seconds=1))])
    assert rows(pg_conn, "select count(*) from songplays") == [(0 if first_load else 1,)]


def test_the_gate_catches_duplicate_plays_created_by_the_run(make_event, load_batch, pg_conn, monkeypatch):
    events = [make_event(item=1), make_event(item=2, ts=T0 + timedelta(seconds=1))]
    load_batch(events=events)
    # a merge that forgets the anti-join: re-running the batch duplicates both plays
    _replace_merge_statement(monkeypatch, sql_queries.songplay_table_insert,
                             sql_queries.songplay_table_insert.sql.replace(ANTI_JOIN, ""))
    with pytest.raises(CheckError, match=r"songplays\.run_plays_once failed: 2 offending rows.*"
                                         r"e\.g\. \(1, [12]\), \(1, [12]\)"):  # samples sort on their first column
        load_batch(events=events)
    assert rows(pg_conn, "select count(*) from songplays") == [(2,)]


def test_the_first_load_gate_catches_duplicate_plays(make_event, load_batch, pg_conn, monkeypatch):
    # a first load that forgets to keep one event per natural key: the key staged twice gives two plays
    _replace_merge_statement(monkeypatch, sql_queries.songplay_first_insert,
                             sql_queries.songplay_first_insert.sql.replace(FIRST_LOAD_PLAYS, "where true"))
    with pytest.raises(CheckError, match=r"songplays\.run_plays_once failed: 1 offending rows.*e\.g\. \(1, 1\)"):
        load_batch(events=[make_event(item=1), make_event(item=1, level="paid")])
    assert rows(pg_conn, "select count(*) from songplays") == [(0,)]


def test_the_gate_catches_an_orphan_created_by_the_run(make_event, load_batch, pg_conn, monkeypatch):
    load_batch(events=[make_event(item=1)])
    _replace_merge_statement(monkeypatch, sql_queries.user_table_insert, None)  # users of the batch never merged
    with pytest.raises(CheckError, match=r"songplays\.run_user_id_in_users failed: 1 offending rows.*e\.g\. 8"):
        load_batch(events=[make_event(user_id=8, item=2)])
    assert rows(pg_conn, "select user_id from users") == [(7,)]


def test_whole_table_checks_count_duplicated_surrogate_keys_exactly(make_event, load_batch, pg_conn):
    from sparkify.checks import run_checks

    load_batch(events=[make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(3)])
    with pg_conn.cursor() as cur:  # corrupt: ids 0 and 1 used twice (new natural keys, so only the ids clash)
        cur.execute("insert into songplays (songplay_id, start_time, user_id, session_id, item_in_session) "
                    "select songplay_id, start_time, user_id, 9, item_in_session from songplays where songplay_id < 2")
        results = run_checks(cur)
    result = next(r for r in results if r.name == "songplays.songplay_id_unique")
    assert (result.count, result.examples) == (2, [0, 1])


def test_a_run_that_loses_rows_fails_the_never_shrinks_check(make_event, load_batch, pg_conn, monkeypatch):
    load_batch(events=[make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(3)])
    _replace_merge_statement(monkeypatch, sql_queries.time_table_insert, "delete from time where hour = 10")
    with pytest.raises(CheckError) as failed:
        load_batch(events=[make_event(item=5, ts=T0 + timedelta(seconds=5))])
    assert [r.name for r in failed.value.failures] == ["time.run_start_time_once", "time.never_shrinks"]
    assert rows(pg_conn, "select count(*) from time") == [(3,)]


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


# --------------------------------------------------------------------------------------------------
# Order independence: the star schema is a function of the batches' union, not of their order


def test_a_song_loaded_after_its_plays_matches_them(make_event, make_song, load_batch, pg_conn):
    play = {"song": "Song A", "artist": "Artist A", "length": 200.5}
    load_batch(events=[make_event(item=1, **play), make_event(item=2, song="Other", artist="X", length=1.0)])
    assert rows(pg_conn, "select song_id from songplays order by item_in_session") == [(None,), (None,)]
    report = load_batch(songs=[make_song()])
    assert rows(pg_conn, "select song_id, artist_id from songplays order by item_in_session") == [
        ("SOAAA", "ARAAA"), (None, None)]
    assert report.run_counts["songplays_changed"] == 1
    # a better match (a lower song_id for the same title, artist and duration) arriving later wins too
    load_batch(songs=[make_song(song_id="SO000", artist_id="AR000")])
    assert rows(pg_conn, "select song_id, artist_id from songplays where item_in_session = 1") == [("SO000", "AR000")]


def test_plays_match_the_whole_catalog_loaded_so_far(make_event, make_song, load_batch, pg_conn):
    load_batch(songs=[make_song()])
    load_batch(events=[make_event(item=1, song="Song A", artist="Artist A", length=200.5)])  # no songs staged now
    assert rows(pg_conn, "select song_id from songplays") == [("SOAAA",)]


SONGS = [
    {"song_id": "SO1", "artist_id": "AR1", "artist_name": "Zed", "location": None, "lat": None, "lon": None},
    {"song_id": "SO2", "artist_id": "AR1", "artist_name": "Zed feat. Amy", "location": "Berlin", "lat": None,
     "lon": None},
    {"song_id": "SO3", "artist_id": "AR1", "artist_name": "Amy & Zed", "location": "Berlin", "lat": 5.0, "lon": 6.0},
    {"song_id": "SO3", "artist_id": "AR1", "artist_name": "Amy & Zed", "title": "Another title"},
    {"song_id": "SO4", "artist_id": "AR2", "artist_name": "Solo", "title": "Song A", "duration": 200.5},
]


def _events():
    return [
        # the same play twice, with different content: the first in SONGPLAY_ORDER wins (earliest start time)
        {"session_id": 5, "item": 1, "ts": T0 + timedelta(seconds=30), "level": "paid", "song": "Song A",
         "artist": "Solo", "length": 200.5},
        {"session_id": 5, "item": 1, "ts": T0 + timedelta(seconds=10), "level": "free", "song": "Song A",
         "artist": "Solo", "length": 200.5},
        {"session_id": 5, "item": 2, "ts": T0 + timedelta(seconds=40), "level": "free"},
        {"session_id": 6, "item": 0, "ts": T0 + timedelta(days=1), "level": "paid", "first_name": "Later"},
        {"session_id": 6, "item": 1, "ts": T0 + timedelta(days=1), "level": "free", "first_name": "Later",
         "page": "Home"},
        {"user_id": 9, "session_id": 7, "item": 0, "ts": T0, "level": "free", "song": "Another title",
         "artist": "Amy & Zed", "length": 200.5},
    ]


@pytest.mark.parametrize("order", [
    "all at once", "events then songs", "songs then events", "one at a time", "reversed one at a time",
    "interleaved",
])
def test_the_star_schema_does_not_depend_on_the_order_of_batches(make_event, make_song, load_batch, pg_conn, order,
                                                                  warehouse):
    events = [make_event(**e) for e in _events()]
    songs = [make_song(**s) for s in SONGS]
    batches = {
        "all at once": [(events, songs)],
        "events then songs": [(events, []), ([], songs)],
        "songs then events": [([], songs), (events, [])],
        "one at a time": [([e], []) for e in events] + [([], [s]) for s in songs],
        "reversed one at a time": [([], [s]) for s in reversed(songs)] + [([e], []) for e in reversed(events)],
        "interleaved": [([e], [s]) for e, s in zip(events, songs)] + [(events[len(songs):], [])],
    }[order]
    for batch_events, batch_songs in batches:
        load_batch(events=batch_events, songs=batch_songs)
    got = star(pg_conn)
    # the expected state: one load of everything, in a database of its own
    from sparkify.checks import run_checks

    with pg_conn.cursor() as cur:  # (the whole-table checks: the report's tables against songplays too)
        assert [r.name for r in run_checks(cur) if not r.passed] == []
    assert got["report_level_changes"] and got["report_sessions"]  # (the report's tables are not empty)
    with pg_conn.cursor() as cur:
        for t in sql_queries.STAR_TABLES + ("song_records", "etl_runs"):
            cur.execute(f"delete from {t}")
    pg_conn.commit()
    load_batch(events=events, songs=songs)
    assert got == star(pg_conn)
    assert [r[0] for r in got["songplays"] if r[5:7] == (5, 1)] == [T0 + timedelta(seconds=10)]
    assert len(got["time"]) == len({r[0] for r in got["songplays"]})  # no time without a play


def test_a_play_corrected_by_a_later_batch_keeps_its_id_and_leaves_no_orphan_time(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=1, ts=T0 + timedelta(seconds=30), level="paid")])
    (play_id,), = rows(pg_conn, "select songplay_id from songplays")
    report = load_batch(events=[make_event(item=1, ts=T0, level="free")])
    assert rows(pg_conn, "select songplay_id, start_time, level from songplays") == [(play_id, T0, "free")]
    assert rows(pg_conn, "select start_time from time") == [(T0,)]
    assert report.run_counts["songplays_changed"] == 1
    # the later copy of that play, seen again, changes nothing
    report = load_batch(events=[make_event(item=1, ts=T0 + timedelta(seconds=30), level="paid")])
    assert rows(pg_conn, "select songplay_id, start_time, level from songplays") == [(play_id, T0, "free")]
    assert rows(pg_conn, "select start_time from time") == [(T0,)]
    assert report.run_counts["songplays_changed"] == 0


@pytest.mark.parametrize("corruption, count", [
    ("update time set hour = hour + 1", 1),  # a wrong part
    ("insert into time select * from time", 1),  # a start time twice
], ids=["wrong hour", "twice"])
def test_the_gate_checks_the_time_rows_of_the_run_s_plays(make_event, load_batch, pg_conn, corruption, count):
    load_batch(events=[make_event(item=1, ts=T0)])
    with pg_conn.cursor() as cur:
        cur.execute(corruption)
    pg_conn.commit()
    with pytest.raises(CheckError) as failed:
        load_batch(events=[make_event(item=1, ts=T0)])  # the same play again: its start time is the run's
    result = next(r for r in failed.value.failures if r.name == "time.run_start_time_once")
    assert (result.count, result.examples) == (count, [T0])


# A first load's time rows, proved by counts (sql_queries.run_checks.RUN_PLAYS_FIRST_LOAD): plays at T0 (two)
# and T0 + 1 s, and time_first_insert broken four ways. "as many rows, none a play's" and "a duplicate for a
# missing one" give time as many rows as the plays have start times: only the missing start times fail them.
@pytest.mark.parametrize("old, new, count, examples", [
    ("    group by start_time\n", "", 1, [T0]),
    ("date_part('hour', start_time)", "date_part('hour', start_time) + 1", 2, [T0, T0 + timedelta(seconds=1)]),
    ("select start_time\n    from songplays", "select start_time + interval '1 hour' as start_time\n    from songplays",
     2, [T0, T0 + timedelta(seconds=1)]),
    ("    group by start_time\n", "    where item_in_session <> 3\n", 2, [T0, T0 + timedelta(seconds=1)]),
], ids=["a start time twice", "wrong hours", "as many rows, none a play's", "a duplicate for a missing one"])
def test_the_first_load_gate_checks_the_time_rows_of_its_plays(make_event, load_batch, pg_conn, monkeypatch,
                                                                 old, new, count, examples):
    insert = sql_queries.time_first_insert
    assert old in insert.sql
    _replace_merge_statement(monkeypatch, insert, insert.sql.replace(old, new))
    with pytest.raises(CheckError) as failed:
        load_batch(events=[make_event(item=1, ts=T0), make_event(item=2, ts=T0),
                           make_event(item=3, ts=T0 + timedelta(seconds=1))])
    result = next(r for r in failed.value.failures if r.name == "time.run_start_time_once")
    assert (result.count, result.examples) == (count, examples)
    assert rows(pg_conn, "select count(*) from songplays") == [(0,)]


@pytest.mark.parametrize("dropped, check, count, examples", [
    ("user_table_insert", "songplays.run_user_id_in_users", 2, [7, 8]),
    ("song_table_insert", "songplays.run_song_id_in_songs", 1, ["SOAAA"]),
    ("artist_table_insert", "songplays.run_artist_id_in_artists", 1, ["ARAAA"]),
], ids=["users", "songs", "artists"])
def test_the_first_load_gate_counts_the_missing_users_songs_and_artists_distinct(
        make_event, make_song, load_batch, pg_conn, monkeypatch, dropped, check, count, examples):
    _replace_merge_statement(monkeypatch, getattr(sql_queries, dropped), None)
    with pytest.raises(CheckError) as failed:  # four plays of the one song: user 7 three, user 8 one
        load_batch(songs=[make_song()],
                   events=[make_event(item=i, user_id=8 if i == 4 else 7, song="Song A", artist="Artist A",
                                      length=200.5, ts=T0 + timedelta(seconds=i)) for i in range(1, 5)])
    result = next(r for r in failed.value.failures if r.name == check)
    assert (result.count, result.examples) == (count, examples)


def test_the_gate_counts_the_run_s_duplicated_plays_exactly(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in range(4)])
    with pg_conn.cursor() as cur:  # plays 1 and 2 twice, play 3 gone
        cur.execute("insert into songplays (start_time, user_id, session_id, item_in_session) "
                    "select start_time, user_id, session_id, item_in_session from songplays where item_in_session in (1, 2)")
        cur.execute("delete from songplays where item_in_session = 3")
    pg_conn.commit()
    with pytest.raises(CheckError) as failed:
        load_batch(events=[make_event(item=i, ts=T0 + timedelta(seconds=i)) for i in (0, 1, 2)])
    result = next(r for r in failed.value.failures if r.name == "songplays.run_plays_once")
    assert (result.count, result.examples) == (2, [(1, 1), (1, 2)])


def test_a_run_adds_the_missing_time_row_of_its_plays(make_event, load_batch, pg_conn):
    load_batch(events=[make_event(item=1, ts=T0)])
    with pg_conn.cursor() as cur:
        cur.execute("delete from time")
    pg_conn.commit()
    load_batch(events=[make_event(item=1, ts=T0)])
    assert rows(pg_conn, "select start_time from time") == [(T0,)]


def _empty_star(conn) -> None:
    with conn.cursor() as cur:
        for t in sql_queries.STAR_TABLES + sql_queries.REPORT_TABLES + ("song_records", "etl_runs"):
            cur.execute(f"delete from {t}")
    conn.commit()


@pytest.mark.parametrize("first, later", [
    ({"location": None, "lat": None, "lon": None, "year": None},
     {"location": "Berlin", "lat": 52.5, "lon": 13.4, "year": 1999}),
    ({"year": None}, {"year": 1999}),  # only the song's year: every other column the same
    ({"lat": None, "lon": None}, {}),  # only the artist's coordinates
], ids=["a blank record, then a full one", "a year", "coordinates"])
def test_a_later_more_complete_record_fills_in_what_the_first_left_null(make_song, load_batch, pg_conn, first,
                                                                         later):
    """A song file whose only differences from the one loaded before are values where it had NULLs: the more complete
    record wins, as one load of both files gives (a comparison of the two rows that yields NULL for 'NULL against a
    value' used to keep the stored row, negated in `and not (...)`)."""
    load_batch(songs=[make_song(**first)])
    load_batch(songs=[make_song(**later)])
    got = star(pg_conn)
    _empty_star(pg_conn)
    load_batch(songs=[make_song(**first), make_song(**later)])
    assert got == star(pg_conn)
    expected = make_song(**later)
    assert rows(pg_conn, "select year from songs") == [(expected["year"],)]
    assert rows(pg_conn, "select location, latitude, longitude from artists") == [
        (expected["artist_location"], expected["artist_latitude"], expected["artist_longitude"])]


def test_a_correction_that_leaves_a_start_time_to_no_play_removes_it_and_passes_the_checks(make_event, load_batch,
                                                                                          pg_conn):
    """Two plays at two times; a later copy of the first moves it to the second's time. time loses the time no play
    has any more: one row fewer than before the run, which never_shrinks allows (it counts what the run removed for
    good), and the result is one load of both copies'."""
    t1, t2 = T0, T0 + timedelta(seconds=30)
    load_batch(events=[make_event(item=0, ts=t2), make_event(item=1, ts=t1)])
    report = load_batch(events=[make_event(item=0, ts=t1)])
    assert rows(pg_conn, "select start_time from time") == [(t1,)]
    assert next(r for r in report.checks if r.name == "time.never_shrinks").passed
    got = star(pg_conn)
    _empty_star(pg_conn)
    load_batch(events=[make_event(item=0, ts=t2), make_event(item=1, ts=t1), make_event(item=0, ts=t1)])
    assert got == star(pg_conn)



def test_never_shrinks_allows_only_what_the_run_removed_for_good(make_event, load_batch, pg_conn, monkeypatch):
    """A correction removes one time row (t2); a broken statement loses another (t3): the check fails for that one."""
    t1, t2, t3 = T0, T0 + timedelta(seconds=30), T0 + timedelta(seconds=60)
    load_batch(events=[make_event(item=0, ts=t2), make_event(item=1, ts=t1), make_event(session_id=2, ts=t3)])
    _replace_merge_statement(monkeypatch, sql_queries.time_table_insert,
                             f"delete from time where start_time = '{t3.isoformat(sep=' ')}'")
    with pytest.raises(CheckError) as failed:
        load_batch(events=[make_event(item=0, ts=t1)])
    result = next(r for r in failed.value.failures if r.name == "time.never_shrinks")
    assert (result.count, result.examples) == (1, ["3 before, 1 after, 1 removed for good"])
