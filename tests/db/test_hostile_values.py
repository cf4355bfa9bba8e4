"""Hostile values in the data, end to end: escape sequences, control characters, markup, right-to-left overrides,
non-characters, in titles, artists, locations, names, levels and file names.

analytics.py's text tables and every line on the terminal show them escaped (`\\x1b`), ordinary non-ASCII text as
it is; the HTML report renders (vl-convert would abort the process on U+0001, ESC or U+FFFF in a chart), shows
them escaped and HTML-escaped, and a real browser finds no element the data tried to add.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import analytics
from tests.helpers.corpus import jsonpaths as log_jsonpaths
from tests.helpers.staging import T0

ROOT = Path(__file__).resolve().parents[2]
TITLE = 'Crazy <script>alert("x")</script> & \x1b]0;pwned\x07 Love'
ARTIST = 'Tom & "Jerry" \x01\x1b[2J'
ARTIST_2 = "Beyonc\u00e9 \uffff \u6771\u4eac"  # a non-character among ordinary non-ASCII text
LOCATION = "\x1b[31mRed Hook\x1b[0m, NY <img src=x onerror=alert(1)>"
FIRST_NAME = "Zo\u00eb\u202eevil"
LEVEL = "vip\x07"
# What may never reach a terminal or a page raw (a newline between lines is the text's own).
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


@pytest.fixture
def hostile(make_event, make_song, load_batch, config_file):
    """Two users, two catalog songs with hostile titles and artists, hostile locations, names and a level."""
    songs = [make_song(song_id="SOEVIL", title=TITLE, artist_id="AREVIL", artist_name=ARTIST, duration=200.5),
             make_song(song_id="SOTOKYO", title="Tokyo \u00e9t\u00e9", artist_id="ARTOKYO", artist_name=ARTIST_2,
                       duration=180.0)]
    events = []
    for i in range(3):
        e = make_event(user_id=7, session_id=1, item=i, ts=T0 + timedelta(minutes=i), song=TITLE, artist=ARTIST,
                       length=200.5, first_name=FIRST_NAME, last_name="<b>Bold</b>")
        e["location"] = LOCATION
        events.append(e)
    e = make_event(user_id=9, session_id=2, item=0, ts=T0 + timedelta(days=1), song="Tokyo \u00e9t\u00e9",
                   artist=ARTIST_2, length=180.0, level=LEVEL, first_name="\u6771", last_name="\u4eac")
    e["location"] = "\u6771\u4eac, JP"
    e["user_agent"] = "Mozilla/5.0 \x1b[5mblink\u2066"
    events.append(e)
    load_batch(events=events, songs=songs)
    return config_file()


def test_text_tables_show_control_characters_escaped(hostile, capsys):
    assert analytics.main(["--config", str(hostile), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert not RAW.search(out), RAW.search(out)
    assert "\\x1b]0;pwned\\x07" in out and '"Jerry" \\x01\\x1b[2J' in out
    assert "\\x1b[31mRed Hook\\x1b[0m, NY" in out and "Zo\u00eb\\u202eevil" in out and "vip\\x07" in out
    assert "Beyonc\u00e9 \\uffff \u6771\u4eac" in out and "\u6771\u4eac, JP" in out  # ordinary text as it is


def test_json_output_has_no_raw_control_character(hostile, capsys):
    assert analytics.main(["--config", str(hostile), "--json", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert not RAW.search(out) and "\\u001b" in out  # JSON's own escapes


@pytest.fixture
def hostile_page(hostile, tmp_path) -> Path:
    """analytics.py --html of the hostile data, in a child process: a crash of the chart renderer aborts the
    process (exit 134), which must fail this test rather than the test run."""
    path = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "analytics.py", "--config", str(hostile), "--html", str(path), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])
    assert done.stdout.startswith(f"wrote {path}: 14 charts")
    return path


def test_the_report_shows_hostile_values_escaped(hostile_page):
    page = hostile_page.read_text(encoding="utf-8")
    assert not RAW.search(page), RAW.search(page)
    assert page.lower().count("<script") == 0 and "<img" not in page and "<b>Bold" not in page
    # the tables under the charts: control characters as visible escapes, then HTML-escaped
    assert ("<td>Crazy &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; \\x1b]0;pwned\\x07 Love</td>"
            "<td>Tom &amp; &quot;Jerry&quot; \\x01\\x1b[2J</td>") in page
    assert "<td>\\x1b[31mRed Hook\\x1b[0m, NY &lt;img src=x onerror=alert(1)&gt;</td>" in page
    assert "<td>Zo\u00eb\\u202eevil &lt;b&gt;Bold&lt;/b&gt;</td>" in page
    assert "<td>vip\\x07</td>" in page
    assert "Beyonc\u00e9 \\uffff \u6771\u4eac" in page and "\u6771\u4eac, JP" in page
    # the charts: the same visible text, XML-escaped by the renderer
    assert "Red Hook\\x1b[0m, NY &lt;img" in page and "&lt;script&gt;" in re.sub(r"<td>.*?</td>", "", page)


def test_a_browser_finds_only_the_report_s_own_elements(hostile_page, browser):
    page = browser.new_page()
    try:
        page.goto(hostile_page.as_uri())
        found = page.evaluate("""() => ({
            scripts: document.querySelectorAll('script').length,
            images: document.querySelectorAll('img').length,
            bold: [...document.querySelectorAll('b')].map(b => b.closest('.kpis') !== null),
            cells: [...document.querySelectorAll('#chart-top-locations td')].map(td => td.textContent),
            labels: [...document.querySelectorAll('#chart-top-songs svg text')].map(t => t.textContent),
        })""")
    finally:
        page.close()
    assert found["scripts"] == 0 and found["images"] == 0 and all(found["bold"])
    assert "\\x1b[31mRed Hook\\x1b[0m, NY <img src=x onerror=alert(1)>" in found["cells"]
    assert any(label.startswith("1. Crazy <script>") for label in found["labels"]), found["labels"]


def test_an_error_line_quoting_a_rejected_value_shows_it_escaped(schema, config_file, tmp_path, pg_conn, capsys):
    """A COPY that rejects a value holding escape sequences: the one error line shows them escaped."""
    import etl

    logs, songs = tmp_path / "log_data", tmp_path / "song_data"
    logs.mkdir()
    songs.mkdir()
    (logs / "day.json").write_text(json.dumps({"userId": "\x1b[2J\x1b]0;owned\x07", "page": "NextSong"}) + "\n")
    (songs / "s.json").write_text('{"song_id": "S1", "title": "t", "artist_id": "A1", "duration": 1.0}')
    jsonpaths = tmp_path / "paths.json"
    jsonpaths.write_text(json.dumps(log_jsonpaths()))
    cfg = config_file(log_data=logs, song_data=songs, log_jsonpath=jsonpaths)
    capsys.readouterr()
    assert etl.main(["--config", str(cfg), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not RAW.search(err), err
    # the view's error_message quotes the first invalid character (SYS_LOAD_ERROR_DETAIL keeps no raw value)
    assert "column user_id: Invalid digit, Value '\\x1b', Pos 0, Type: Integer" in err
