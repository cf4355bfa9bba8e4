"""analytics.py on a small warehouse: tables, --json, --check."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

import analytics

T0 = datetime(2018, 11, 5, 10, 0, 0)


@pytest.fixture
def loaded(make_event, make_song, load_batch, config_file):
    # user 7 plays 3 times (hours 10, 10, 13) as free then paid; user 9 plays once at 23h
    load_batch(
        songs=[make_song()],
        events=[
            make_event(item=1, ts=T0, song="Song A", artist="Artist A", length=200.5),
            make_event(item=2, ts=T0 + timedelta(minutes=5), song="Song A", artist="Artist A", length=200.5),
            make_event(item=3, ts=T0 + timedelta(hours=3), level="paid"),
            make_event(user_id=9, session_id=2, item=0, ts=T0 + timedelta(hours=13)),
        ],
    )
    return config_file()


def test_json_report(loaded, capsys):
    assert analytics.main(["--config", str(loaded), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["row_counts"] == {"staging_events": 4, "staging_songs": 1, "songplays": 4, "users": 2, "songs": 1,
                                 "artists": 1, "time": 4}
    expected_hours = [0] * 24
    expected_hours[10], expected_hours[13], expected_hours[23] = 2, 1, 1
    assert out["plays_by_hour"] == expected_hours
    assert out["plays_by_level"] == {"free": 3, "paid": 1}
    assert out["top_users"] == [[7, 3], [9, 1]]
    assert out["most_played_songs"] == [["Song A", "Artist A", 2]]
    # without --check: the checks the load passed (recorded by etl.py), not a re-run over whole tables
    assert "checks" not in out
    last = out["last_run_checks"]
    assert last["run_id"] >= 1 and datetime.fromisoformat(last["finished_at"])
    names = {c["name"] for c in last["checks"]}
    assert {"songplays.run_plays_once", "users.run_user_id_once", "songs.run_song_id_once"} <= names, names
    assert all(c["passed"] and c["count"] == 0 for c in last["checks"])


def test_json_report_with_check(loaded, capsys):
    assert analytics.main(["--config", str(loaded), "--json", "--check"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["checks_passed"] is True and len(out["checks"]) > 10


def test_text_report_names_the_load_checks(loaded, capsys):
    assert analytics.main(["--config", str(loaded)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Data-quality checks the latest load passed \(etl.py run \d+, finished ", out, re.MULTILINE), out
    assert re.search(r"^ok    users.run_user_id_once$", out, re.MULTILINE)


def test_text_report(loaded, capsys):
    assert analytics.main(["--config", str(loaded)]) == 0
    out = capsys.readouterr().out
    assert "Row counts" in out and "Plays by hour of day (UTC)" in out
    assert re.search(r"^songplays\s+4$", out, re.MULTILINE)
    assert re.search(r"^\s*10\s+2$", out, re.MULTILINE)  # plays_by_hour: hour 10 has 2 plays


def test_check_fails_on_a_corrupted_table(loaded, capsys, pg_conn):
    assert analytics.main(["--config", str(loaded), "--check"]) == 0
    with pg_conn.cursor() as cur:
        cur.execute("insert into users select * from users where user_id = 9")
    pg_conn.commit()
    capsys.readouterr()
    assert analytics.main(["--config", str(loaded), "--check", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "\nFAIL  users.user_id_unique: 1 offending" in captured.out  # the result, beside the ok lines
    err = captured.err.splitlines()
    assert len(err) == 1  # only the error line
    assert err[0].startswith("analytics.py: 1 data-quality check(s) failed; first: users.user_id_unique")
    assert "e.g. 9" in err[0]


@pytest.mark.parametrize("corruption, check, offenders", [
    ("update report_hours set plays = plays + 1 where hour = 13", "report_hours.matches_songplays", 2),
    ("insert into report_users select * from report_users where user_id = 9", "report_users.matches_songplays", 2),
    ("delete from report_level_changes", "report_level_changes.matches_songplays", 1),
    ("update report_sessions set last_play = first_play where plays > 1", "report_sessions.matches_songplays", 2),
    ("update report_user_days set level = 'paid ' where level = 'paid'", "report_user_days.matches_songplays", 2),
], ids=["a count", "a row twice", "a missing row", "a session's end", "trailing space"])
def test_check_compares_the_report_tables_with_songplays(loaded, capsys, pg_conn, corruption, check, offenders):
    """The report reads tables etl.py keeps; --check computes each from songplays again: a row that differs is
    counted on both sides (the stored one, the computed one), as is a row held twice (its copies are compared),
    a missing row once."""
    assert analytics.main(["--config", str(loaded), "--check", "--json"]) == 0
    assert all(c["passed"] for c in json.loads(capsys.readouterr().out)["checks"] if c["name"] == check)
    with pg_conn.cursor() as cur:
        cur.execute(corruption)
        assert cur.rowcount >= 1
    pg_conn.commit()
    assert analytics.main(["--config", str(loaded), "--check", "--json"]) == 1
    failed = {c["name"]: c["count"] for c in json.loads(capsys.readouterr().out)["checks"] if not c["passed"]}
    assert failed == {check: offenders}


def test_missing_tables_is_one_line(config_file, capsys):
    assert analytics.main(["--config", str(config_file())]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("analytics.py: the postgres at ")
    assert err[0].endswith(" has none of the toolkit's tables: run create_tables.py, then etl.py")



def test_a_warehouse_without_a_load_says_so_instead_of_checks(warehouse, config_file, capsys):
    assert analytics.main(["--config", str(config_file())]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("Data-quality checks: no etl.py run has loaded anything yet "
                                 "(--check runs those of whole tables)")
    assert analytics.main(["--config", str(config_file()), "--json"]) == 0
    assert "last_run_checks" not in json.loads(capsys.readouterr().out)
