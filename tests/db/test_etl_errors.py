"""etl.py with bad input: one clear line, nothing half-loaded; with enough MAXERROR, the good records load."""

from __future__ import annotations

import json
import shutil

import pytest

import etl


@pytest.fixture
def copied_sources(real_data, tmp_path):
    """Two real log days and a few real song files, copied into a writable tree in the bucket's layout."""
    log_dir = tmp_path / "src" / "log_data" / "2018" / "11"
    log_dir.mkdir(parents=True)
    for day in ("2018-11-04-events.json", "2018-11-05-events.json"):
        shutil.copy(real_data / "log_data" / "2018" / "11" / day, log_dir / day)
    song_dir = tmp_path / "src" / "song_data"
    shutil.copytree(real_data / "song_data" / "A" / "A" / "A", song_dir / "A" / "A" / "A")
    shutil.copy(real_data / "log_json_path.json", tmp_path / "src" / "log_json_path.json")
    return tmp_path / "src"


def corrupt_line(path, line_number, **changes):
    lines = path.read_text().splitlines()
    record = json.loads(lines[line_number - 1])
    record.update(changes)
    lines[line_number - 1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


def counts(conn):
    with conn.cursor() as cur:
        cur.execute("select (select count(*) from staging_events), (select count(*) from songplays), "
                    "(select count(*) from users)")
        out = cur.fetchone()
    conn.rollback()
    return out


def test_bad_record_fails_the_run_with_one_line_and_changes_nothing(schema, copied_sources, config_file, pg_conn, capsys):
    good = config_file(log_data=copied_sources / "log_data", log_jsonpath=copied_sources / "log_json_path.json",
                       song_data=copied_sources / "song_data")
    assert etl.main(["--config", str(good), "-q"]) == 0
    before = counts(pg_conn)
    day5 = copied_sources / "log_data" / "2018" / "11" / "2018-11-05-events.json"
    corrupt_line(day5, 17, userId="abc")
    capsys.readouterr()
    assert etl.main(["--config", str(good), "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("etl.py: staging_events: COPY rejected 1 record (MAXERROR 0); first: "
                             "log_data/2018/11/2018-11-05-events.json line 17, column user_id: ")
    assert err[0].endswith("Invalid digit, Value 'a', Pos 0, Type: Integer (see sys_load_error_detail)")
    assert counts(pg_conn) == before  # staging and star tables exactly as before
    with pg_conn.cursor() as cur:
        cur.execute("select file_name, line_number, column_name, error_code from sys_load_error_detail")
        rows = cur.fetchall()
    pg_conn.rollback()
    assert [(r[0].endswith("2018-11-05-events.json"), r[1], r[2].strip(), r[3]) for r in rows] == \
        [(True, 17, "user_id", 1207)]


def test_maxerror_loads_the_good_records_and_says_how_many_were_rejected(schema, copied_sources, config_file, pg_conn, capsys):
    day5 = copied_sources / "log_data" / "2018" / "11" / "2018-11-05-events.json"
    total = len(day5.read_text().splitlines()) + len(
        (copied_sources / "log_data" / "2018" / "11" / "2018-11-04-events.json").read_text().splitlines())
    corrupt_line(day5, 17, userId="abc")
    corrupt_line(day5, 20, sessionId="x")
    cfg = config_file(log_data=copied_sources / "log_data", log_jsonpath=copied_sources / "log_json_path.json",
                      song_data=copied_sources / "song_data", maxerror=2)
    assert etl.main(["--config", str(cfg), "-q"]) == 0
    out = capsys.readouterr().out
    assert f"staging_events {total - 2}" in out and "2 records rejected (see sys_load_error_detail)" in out
    assert counts(pg_conn)[0] == total - 2


def test_a_failing_check_prints_its_fail_line_and_one_error_line(schema, copied_sources, config_file, pg_conn,
                                                                 capsys):
    """As analytics.py --check: each failing check's FAIL line is the result on stdout; stderr has one line, naming
    the first; the run changes nothing."""
    cfg = config_file(log_data=copied_sources / "log_data", log_jsonpath=copied_sources / "log_json_path.json",
                      song_data=copied_sources / "song_data")
    assert etl.main(["--config", str(cfg), "-q"]) == 0
    with pg_conn.cursor() as cur:  # a user every run that loads the logs again touches, stored twice
        cur.execute("insert into users select * from users where user_id = (select min(user_id) from users)")
    pg_conn.commit()
    before = counts(pg_conn)
    capsys.readouterr()
    assert etl.main(["--config", str(cfg), "-q", "--reload"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("FAIL  users.run_user_id_once: 1 offending (users of this run not in users exactly once)")
    assert all(line.startswith("FAIL  ") for line in out.splitlines())
    assert err.count("\n") == 1
    assert err.startswith("etl.py: data-quality check users.run_user_id_once failed: 1 offending rows")
    assert counts(pg_conn) == before


def test_a_ts_in_microseconds_fails_naming_the_statement_and_the_fix(schema, copied_sources, config_file, pg_conn,
                                                                     capsys):
    """A NextSong event's ts in microseconds loads (a timestamp reaches the year 294276), then does not fit time.year
    (a SMALLINT): one line naming the statement, the server's words and the fix, and nothing of the run stays."""
    cfg = config_file(log_data=copied_sources / "log_data", log_jsonpath=copied_sources / "log_json_path.json",
                      song_data=copied_sources / "song_data")
    day5 = copied_sources / "log_data" / "2018" / "11" / "2018-11-05-events.json"
    line = next(i for i, text in enumerate(day5.read_text().splitlines(), 1) if '"NextSong"' in text)
    corrupt_line(day5, line, ts=1541105830796000)
    assert etl.main(["--config", str(cfg), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("etl.py: time_first_insert: smallint out of range (a play's start time does not fit time's "
                          "columns (year is a SMALLINT, up to 32767): check the events' ts, which must be epoch "
                          "milliseconds")
    assert err.endswith("the run rolled back: nothing of it stays)\n")
    assert counts(pg_conn) == (0, 0, 0)
