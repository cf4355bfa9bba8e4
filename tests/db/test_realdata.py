"""The real udacity-dend files (../shared/data/sparkify) through the real pipeline.

Expected values are computed independently here, from the raw files with the json module, and
the headline numbers of the pipeline issue are asserted as well.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import analytics
import create_tables
import etl
from tests.helpers.db import query, run

pytestmark = pytest.mark.realdata
EPOCH = datetime(1970, 1, 1)


def read_events(log_dir: Path, prefix: str = "") -> list[dict]:
    events = []
    for path in sorted(log_dir.rglob("*.json")):
        if str(path).startswith(str(log_dir / prefix)) if prefix else True:
            events += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return events


def read_songs(song_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(song_dir.rglob("*.json"))]


def expected_state(events: list[dict], songs: list[dict]) -> dict:
    """What the star schema must hold after loading these events (all runs so far) and songs."""
    plays = {}
    for e in events:
        if e["page"] == "NextSong":
            plays[(e["sessionId"], e["itemInSession"])] = e
    catalog = {(s["title"], s["artist_name"], s["duration"]) for s in songs}
    latest = {}
    for e in events:
        if e["userId"] != "":
            uid = int(e["userId"])
            if uid not in latest or e["ts"] > latest[uid]["ts"]:
                latest[uid] = e
    return {
        "songplays": len(plays),
        "matched": sum((e["song"], e["artist"], e["length"]) in catalog for e in plays.values()),
        "start_times": {EPOCH + timedelta(milliseconds=e["ts"]) for e in plays.values()},
        "levels": {uid: e["level"] for uid, e in latest.items()},
        "songs": len({s["song_id"] for s in songs}),
        "artists": len({s["artist_id"] for s in songs}),
    }


@pytest.fixture
def real_day_cfg(real_data, config_file):
    def make(log_prefix=""):
        return config_file(log_data=f"{real_data / 'log_data'}{'/2018/11/' + log_prefix if log_prefix else ''}",
                           log_jsonpath=real_data / "log_json_path.json", song_data=real_data / "song_data",
                           name=f"dwh-{log_prefix or 'all'}.cfg")
    return make


def test_full_load_gives_the_published_counts(real_data, real_day_cfg, pg_conn, capsys):
    cfg = real_day_cfg()
    run(create_tables, cfg)
    run(etl, cfg)
    counts = dict(query(pg_conn, """
        select 'staging_events', count(*) from staging_events union all
        select 'staging_songs', count(*) from staging_songs union all
        select 'songplays', count(*) from songplays union all
        select 'users', count(*) from users union all
        select 'songs', count(*) from songs union all
        select 'artists', count(*) from artists union all
        select 'time', count(*) from time"""))
    assert counts == {"staging_events": 8056, "staging_songs": 1943, "songplays": 6820, "users": 97,
                      "songs": 1943, "artists": 1809, "time": 6813}
    assert query(pg_conn, "select count(*) from songplays where song_id is not null") == [(39,)]

    exp = expected_state(read_events(real_data / "log_data"), read_songs(real_data / "song_data"))
    assert (exp["songplays"], exp["matched"], len(exp["start_times"]), exp["songs"], exp["artists"]) == \
        (6820, 39, 6813, 1943, 1809)
    assert {r[0] for r in query(pg_conn, "select start_time from songplays")} == exp["start_times"]
    assert dict(query(pg_conn, "select user_id, level from users")) == exp["levels"]

    capsys.readouterr()
    assert analytics.main(["--config", str(cfg), "--json", "--check"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["checks_passed"] is True
    assert sum(out["plays_by_hour"]) == 6820
    assert sum(out["plays_by_level"].values()) == 6820
    top_user, top_plays = out["top_users"][0]
    plays_per_user = Counter(int(e["userId"]) for e in read_events(real_data / "log_data") if e["page"] == "NextSong")
    assert top_plays == max(plays_per_user.values()) and plays_per_user[top_user] == top_plays


def test_incremental_loads_in_any_order(real_data, real_day_cfg, pg_conn):
    """Days 1-9, then all days, then days 1-9 again, then all again: exact state after each step. Each run
    stages only the objects it had not loaded (tests/db/test_incremental.py covers the ledger itself)."""
    songs = read_songs(real_data / "song_data")
    all_events = read_events(real_data / "log_data")
    days_1_9 = read_events(real_data / "log_data", "2018/11/2018-11-0")
    assert 0 < len(days_1_9) < len(all_events)
    run(create_tables, real_day_cfg())
    loaded: list[dict] = []
    previous_ids = {}
    for prefix, batch, new_events in [("2018-11-0", days_1_9, len(days_1_9)),
                                      ("", all_events, len(all_events) - len(days_1_9)),
                                      ("2018-11-0", days_1_9, 0), ("", all_events, 0)]:
        run(etl, real_day_cfg(prefix))
        loaded += batch
        exp = expected_state(loaded, songs)
        assert query(pg_conn, "select count(*), count(song_id) from songplays") == [(exp["songplays"],
                                                                                      exp["matched"])]
        assert query(pg_conn, "select count(*) from staging_events") == [(new_events,)]
        assert {r[0] for r in query(pg_conn, "select start_time from time")} == exp["start_times"]
        assert dict(query(pg_conn, "select user_id, level from users")) == exp["levels"]
        assert query(pg_conn, "select count(*) from songs") == [(exp["songs"],)]
        assert query(pg_conn, "select count(*) from artists") == [(exp["artists"],)]
        # a play keeps its songplay_id forever
        ids = {(s, i): pid for pid, s, i in
               query(pg_conn, "select songplay_id, session_id, item_in_session from songplays")}
        assert {k: ids[k] for k in previous_ids} == previous_ids
        previous_ids = ids
    levels_after_days_1_9 = expected_state(days_1_9, songs)["levels"]
    changed = {u for u, lvl in levels_after_days_1_9.items() if exp["levels"][u] != lvl}
    assert changed, "the real data has users whose level changes after day 9: the order test needs them"
