"""The analysts' report on PostgreSQL: its aggregates on a small hand-made batch whose answers are worked out
below, the user-agent parsing, and the HTML page (self-contained, every chart there with the right number of
marks and its numbers). The real browser and the real data: test_report_browser.py."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import analytics
import sql_queries

N_CHECKS = sum(len(group.checks) for group in sql_queries.CHECKS)  # the checks of whole tables (--check)
# the checks a first load into an empty warehouse passes (shown without --check): its groups, plays in their
# first-load form, and one never_shrinks per star table
N_FIRST_LOAD_CHECKS = (sum(len((sql_queries.RUN_PLAYS_FIRST_LOAD if g.name == "run plays" else g).checks)
                           for g in sql_queries.RUN_CHECKS) + len(sql_queries.STAR_TABLES))
D5 = datetime(2018, 11, 5)
D6 = datetime(2018, 11, 6)
D7 = datetime(2018, 11, 7)
CHROME_WINDOWS = ('"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) '
                  'Chrome/36.0.1985.143 Safari/537.36"')
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0")
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0"
SAFARI_IPHONE = ('"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) '
                 'Version/7.0 Mobile/11D257 Safari/9537.53"')


def known_batch(make_event, make_song):
    """Three users, five sessions over three UTC days (see the expected values in test_json_report_...)."""
    def play(user, session, item, ts, level, agent, location="London", **kw):
        e = make_event(user_id=user, session_id=session, item=item, ts=ts, level=level, **kw)
        e.update(user_agent=agent, location=location)
        return e

    song = {"song": "Song A", "artist": "Artist A", "length": 200.5}
    events = [
        # user 7, free, session 1 on Nov 5: 3 plays over 20 minutes (two match the catalog)
        play(7, 1, 0, D5 + timedelta(hours=10, seconds=0.123), "free", CHROME_WINDOWS, **song),
        play(7, 1, 1, D5 + timedelta(hours=10, minutes=5), "free", CHROME_WINDOWS, **song),
        play(7, 1, 2, D5 + timedelta(hours=10, minutes=20, seconds=0.123), "free", CHROME_WINDOWS),
        # user 7 upgrades: session 2 on Nov 6, 2 paid plays exactly 10 minutes apart
        play(7, 2, 0, D6 + timedelta(hours=23, minutes=30), "paid", CHROME_WINDOWS),
        play(7, 2, 1, D6 + timedelta(hours=23, minutes=40), "paid", CHROME_WINDOWS),
        # user 7 downgrades: session 3 on Nov 7, one free play from Edge, no location
        play(7, 3, 0, D7 + timedelta(minutes=10), "free", EDGE_WINDOWS, location=None),
        # user 9, paid, from Paris: two plays on Nov 5, the second in its last millisecond (9 min 59.999 s later)
        play(9, 4, 0, D5 + timedelta(hours=23, minutes=50), "paid", FIREFOX_MAC, location="Paris"),
        play(9, 4, 1, D5 + timedelta(hours=23, minutes=59, seconds=59.999), "paid", FIREFOX_MAC, location="Paris"),
        # user 11: 12 free plays on Nov 6, 3 minutes apart (33 minutes), then a paid Home page (not a play)
        *[play(11, 5, i, D6 + timedelta(hours=8, minutes=3 * i), "free", SAFARI_IPHONE) for i in range(12)],
        play(11, 5, 12, D6 + timedelta(hours=9), "paid", SAFARI_IPHONE, page="Home"),
    ]
    return events, [make_song()]


EXPECTED = {
    "plays_by_day": [
        {"day": "2018-11-05", "level": "free", "plays": 3, "listeners": 1},
        {"day": "2018-11-05", "level": "paid", "plays": 2, "listeners": 1},
        {"day": "2018-11-06", "level": "free", "plays": 12, "listeners": 1},
        {"day": "2018-11-06", "level": "paid", "plays": 2, "listeners": 1},
        {"day": "2018-11-07", "level": "free", "plays": 1, "listeners": 1},
    ],
    # users by current level: 7 free (latest event Nov 7), 9 paid, 11 paid (the Home page is the latest event)
    "level_summary": [{"level": "free", "plays": 16, "listeners": 2, "users": 1},
                      {"level": "paid", "plays": 4, "listeners": 2, "users": 2}],
    # between plays only: user 11's paid Home page is not a play, so it is no upgrade
    "level_changes_by_day": [{"day": "2018-11-06", "upgrades": 1, "downgrades": 0},
                             {"day": "2018-11-07", "upgrades": 0, "downgrades": 1}],
    # sessions: 3 plays in 1,200 s, 2 in 600 s, 1 in 0 s, 2 in 599 s (whole seconds), 12 in 1,980 s
    "session_summary": {"sessions": 5, "listeners": 3, "plays_per_session": 4.0, "most_plays": 12,
                        "average_minutes": round(4379 / 5 / 60, 6), "longest_minutes": 33.0},
    "sessions_by_plays": [{"plays_from": 1, "plays_to": 1, "sessions": 1},
                          {"plays_from": 2, "plays_to": 5, "sessions": 3},
                          {"plays_from": 11, "plays_to": 25, "sessions": 1}],
    # exactly 10 minutes falls in 10-30, 9 min 59.999 s in 0-10
    "sessions_by_length": [{"minutes_from": 0, "minutes_to": 10, "sessions": 2},
                           {"minutes_from": 10, "minutes_to": 30, "sessions": 2},
                           {"minutes_from": 30, "minutes_to": 60, "sessions": 1}],
    "top_locations": [{"location": "London", "listeners": 2, "plays": 17},
                      {"location": "Paris", "listeners": 1, "plays": 2},
                      {"location": "(unknown)", "listeners": 1, "plays": 1}],
    # user 7 used Chrome and Edge: a listener of each
    "listeners_by_browser": [{"browser": "Safari", "listeners": 1, "plays": 12},
                             {"browser": "Chrome", "listeners": 1, "plays": 5},
                             {"browser": "Firefox", "listeners": 1, "plays": 2},
                             {"browser": "Edge", "listeners": 1, "plays": 1}],
    "listeners_by_os": [{"os": "iOS", "listeners": 1, "plays": 12},
                        {"os": "Windows", "listeners": 1, "plays": 6},
                        {"os": "macOS", "listeners": 1, "plays": 2}],
    "catalog_match": {"plays": 20, "matched_plays": 2, "unmatched_plays": 18},
}


@pytest.fixture
def known(make_event, make_song, load_batch, config_file):
    events, songs = known_batch(make_event, make_song)
    load_batch(events=events, songs=songs)
    return config_file()


def test_json_report_has_the_aggregates_of_a_known_batch(known, capsys):
    assert analytics.main(["--config", str(known), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {name: out[name] for name in EXPECTED}
    for name in ("session_summary",):
        got[name] = {k: round(v, 6) if isinstance(v, float) else v for k, v in got[name].items()}
    assert got == EXPECTED
    hours = [0] * 24
    hours[10], hours[23], hours[0], hours[8] = 3, 4, 1, 12
    assert out["plays_by_hour"] == hours
    assert out["plays_by_level"] == {"free": 16, "paid": 4}
    assert "checks" not in out  # whole tables only with --check
    last = out["last_run_checks"]["checks"]
    assert len(last) == N_FIRST_LOAD_CHECKS and all(c["passed"] for c in last)


UA_CASES = [
    (CHROME_WINDOWS, "Chrome", "Windows"),
    (EDGE_WINDOWS, "Edge", "Windows"),
    (FIREFOX_MAC, "Firefox", "macOS"),
    (SAFARI_IPHONE, "Safari", "iOS"),
    (('"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) Version/7.0.6 '
      'Safari/537.78.2"'), "Safari", "macOS"),
    (('"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/36.0.1985.125 '
      'Chrome/36.0.1985.125 Safari/537.36"'), "Chromium", "Linux"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0", "Firefox", "Linux"),
    ("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)", "Internet Explorer", "Windows"),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer", "Windows"),
    (("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile "
      "Safari/537.36"), "Chrome", "Android"),
    (("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 "
      "Mobile/15E148 Safari/604.1"), "Chrome", "iOS"),
    (("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Safari/537.36 OPR/106.0.0.0"), "Opera", "Windows"),
    (("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Safari/537.36"), "Chrome", "Chrome OS"),
    ("curl/8.4.0", "other", "other"),
    ("", "(unknown)", "(unknown)"),
    (None, "(unknown)", "(unknown)"),
]


def test_user_agents_are_parsed_in_sql(pg_conn):
    with pg_conn.cursor() as cur:
        cur.execute("create temp table agents (n integer, user_agent varchar(512))")
        cur.executemany("insert into agents values (%s, %s)", [(i, ua) for i, (ua, _, _) in enumerate(UA_CASES)])
        cur.execute(f"select n, {sql_queries.user_agent_browser}, {sql_queries.user_agent_os} from agents order by n")
        got = [(UA_CASES[n][0], browser, os) for n, browser, os in cur.fetchall()]
    assert got == UA_CASES


def marks(svg: str, role: str = "bar") -> int:
    return svg.count(f'aria-roledescription="{role}"')


def figures(page: str) -> dict[str, str]:
    """figure id -> its HTML, for the chart figures of the page."""
    return dict(re.findall(r'<figure class="chart" id="([^"]+)">(.*?)</figure>', page, re.DOTALL))


def test_html_report_of_a_known_batch(known, tmp_path, capsys):
    path = tmp_path / "report.html"
    assert analytics.main(["--config", str(known), "--html", str(path), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {path}: 14 charts")
    page = path.read_text(encoding="utf-8")

    # self-contained: nothing to fetch, no script; the CSP would refuse a request anyway
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*(?!["']?(?:data:|#))""", page, re.IGNORECASE), "a link to another resource"
    assert not re.search(r"url\((?!#)|@import", page, re.IGNORECASE)
    assert not re.search(r"https?://(?!www\.w3\.org/(?:2000/svg|1999/xlink))", page), "a URL in the page"
    assert "default-src 'none'" in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate element ids (inline SVGs must not share ids)"

    charts = figures(page)
    assert list(charts) == ["chart-plays-by-day", "chart-plays-by-hour", "chart-level-summary",
                            "chart-listeners-by-day", "chart-level-changes", "chart-top-songs", "chart-top-artists",
                            "chart-top-users", "chart-session-plays", "chart-session-length", "chart-top-locations",
                            "chart-browsers", "chart-os", "chart-catalog-match"]
    expected_marks = {
        "chart-plays-by-day": 5, "chart-plays-by-hour": 24, "chart-level-summary": 6, "chart-level-changes": 2,
        "chart-top-songs": 1, "chart-top-artists": 1, "chart-top-users": 3, "chart-session-plays": 3,
        "chart-session-length": 3, "chart-top-locations": 3, "chart-browsers": 4, "chart-os": 3,
        "chart-catalog-match": 2,
    }
    assert {k: marks(v) for k, v in charts.items() if k in expected_marks} == expected_marks
    assert marks(charts["chart-listeners-by-day"], "point") == 5
    assert marks(charts["chart-listeners-by-day"], "line mark") == 2
    for name, html in charts.items():
        assert re.search(r"<h3>[^<]+</h3>", html), f"{name}: no title"
        assert html.count("role-axis-title") >= 2 or name == "chart-catalog-match", f"{name}: axis titles"
    # axis titles name their units
    assert "plays (count)" in charts["chart-plays-by-day"] and "day (UTC)" in charts["chart-plays-by-day"]
    assert "hour of day (UTC, 0-23)" in charts["chart-plays-by-hour"]
    assert "share of all plays (%)" in charts["chart-catalog-match"]
    assert "session length, first to last play (minutes)" in charts["chart-session-length"]

    # the numbers, in the tables under the charts
    assert "<td>free</td><td class=\"num\">16</td><td class=\"num\">80.0%</td>" in charts["chart-level-summary"]
    assert re.search(r"<td>London</td><td class=\"num\">2</td><td class=\"num\">17</td>", charts["chart-top-locations"])
    assert "<td>2-5</td><td class=\"num\">3</td>" in charts["chart-session-plays"]
    assert "<td>10-30 min</td><td class=\"num\">2</td>" in charts["chart-session-length"]
    assert '<td class="num">10.0%</td>' in charts["chart-catalog-match"]
    per_day = re.search(r'<figure class="table-only" id="per-day">(.*?)</figure>', page, re.DOTALL).group(1)
    assert ("<tr><td>2018-11-06</td><td class=\"num\">12</td><td class=\"num\">2</td><td class=\"num\">1</td>"
            "<td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td></tr>") in per_day
    assert f"<b>{N_FIRST_LOAD_CHECKS} of {N_FIRST_LOAD_CHECKS}</b>" in page and "\u2713 pass" in page
    assert "FAIL" not in page and f"The last load passed its {N_FIRST_LOAD_CHECKS} checks." in page


def test_html_with_json_leaves_stdout_to_the_json(known, tmp_path, capsys):
    """--html PATH --json: stdout is one JSON document; the page's line is logged (INFO: -q silences it)."""
    path = tmp_path / "report.html"
    assert analytics.main(["--config", str(known), "--html", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["catalog_match"] == EXPECTED["catalog_match"]
    assert re.search(rf"^\S+ INFO wrote {re.escape(str(path))}: 14 charts, ", err, re.MULTILINE), err
    assert analytics.main(["--config", str(known), "--html", str(path), "--json", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["row_counts"] and err == ""


def test_html_report_of_an_empty_warehouse_with_a_failing_check(warehouse, config_file, tmp_path, pg_conn, capsys):
    """No plays: no charts, a page that says so; a failing check is shown, the file still written, exit 1."""
    with pg_conn.cursor() as cur:
        cur.execute("insert into users (user_id, level, last_event_at) values (9, 'free', '2018-11-05'), "
                    "(9, 'paid', '2018-11-06')")
    pg_conn.commit()
    path = tmp_path / "empty.html"
    assert analytics.main(["--config", str(config_file()), "--html", str(path), "--check", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"wrote {path}: 0 charts")
    assert "users.user_id_unique: 1 offending" in captured.err
    page = path.read_text(encoding="utf-8")
    assert "No plays loaded yet" in page and "<svg" not in page
    assert "\u2717 FAIL" in page and f"1 of {N_CHECKS} checks FAILED" in page
    assert f"<b>{N_CHECKS - 1} of {N_CHECKS}</b>" in page


def children() -> set[int]:
    """The processes this one started that still exist (running, or ended and not waited for)."""
    return {int(pid) for f in Path("/proc/self/task").glob("*/children") for pid in f.read_text().split()}


def test_html_report_from_its_chart_worker_is_the_page_rendered_here_and_the_worker_stops(known, tmp_path):
    """The worker that renders the charts (sparkify.chart_worker) is started before the queries, and gone,
    waited for, when analytics.py returns; its page is the one this process renders from the same report."""
    from sparkify.config import load_config
    from sparkify.report_html import render_html
    from sparkify.reports import build_report

    before = children()
    path = tmp_path / "report.html"
    assert analytics.main(["--config", str(known), "--html", str(path), "--quiet"]) == 0
    assert children() == before
    here, count = render_html(build_report(load_config(known)))
    stamp = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert count == 14 and stamp.sub("", path.read_text(encoding="utf-8")) == stamp.sub("", here)


def test_html_report_whose_queries_fail_stops_its_chart_worker(config_file, tmp_path, capsys):
    """This database has no tables: the queries fail while the worker is still starting."""
    before = children()
    assert analytics.main(["--config", str(config_file()), "--html", str(tmp_path / "none.html"), "--quiet"]) == 1
    assert "has none of the toolkit's tables" in capsys.readouterr().err
    assert children() == before and not (tmp_path / "none.html").exists()


def test_html_report_to_a_missing_directory_fails_first_in_one_line(config_file, tmp_path, capsys):
    """Before any query: this database has no tables, which would be the error otherwise."""
    path = tmp_path / "no" / "such" / "report.html"
    assert analytics.main(["--config", str(config_file()), "--html", str(path), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [(f"analytics.py: cannot write the report to {path}: No such file or "
                                          "directory: give a path in an existing, writable directory")]
    assert not (tmp_path / "no").exists()
