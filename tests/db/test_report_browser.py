"""The HTML report of the real data (../shared/data/sparkify, loaded through the pipeline), opened from disk
in headless Chromium: no console error, no request but the file itself, every chart drawn with the number of
marks the data calls for (worked out here from the raw files), the key numbers on the page, and a print
layout where no chart is cut across pages (A4 or Letter)."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest

import analytics
import create_tables
import etl
import sql_queries

pytestmark = pytest.mark.realdata
EPOCH = datetime(1970, 1, 1)
# The page box a printed chart must fit in, in CSS pixels (96 per inch): A4's width and US Letter's height
# (the narrower and the shorter of the two), less the report's 12 mm margins.
PRINTABLE = (round((210 - 24) / 25.4 * 96), round((279.4 - 24) / 25.4 * 96))


def raw_plays(real_data) -> list[dict]:
    events = []
    for path in sorted((real_data / "log_data").rglob("*.json")):
        events += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e for e in events if e["page"] == "NextSong"]


def expected_marks(plays: list[dict]) -> dict[str, int]:
    """Bars (points for the listeners) each chart must draw for these plays, from the raw events."""
    day = {id(e): (EPOCH + timedelta(milliseconds=e["ts"])).date() for e in plays}
    changes = Counter()
    by_user = defaultdict(list)
    for e in plays:
        by_user[e["userId"]].append(e)
    for user_plays in by_user.values():
        user_plays.sort(key=lambda e: (e["ts"], e["sessionId"], e["itemInSession"]))
        for before, after in itertools.pairwise(user_plays):
            if before["level"] != after["level"]:
                changes[(day[id(after)], after["level"])] += 1
    sessions = defaultdict(list)
    for e in plays:
        sessions[(e["userId"], e["sessionId"])].append(e["ts"] // 1000)
    play_tops = (1, 5, 10, 25, 50, 100, 10**9)  # plays per session: 1, 2-5, 6-10, ... 101+
    minute_tops = (10, 30, 60, 120, 240, 480, 10**9)  # minutes from first to last play: <10, 10-30, ... 480+
    play_buckets = {next(i for i, top in enumerate(play_tops) if len(s) <= top) for s in sessions.values()}
    length_buckets = {next(i for i, top in enumerate(minute_tops) if max(s) - min(s) < top * 60)
                      for s in sessions.values()}
    day_levels = {(day[id(e)], e["level"]) for e in plays}
    return {
        "chart-plays-by-day": len(day_levels),
        "chart-plays-by-hour": 24,
        "chart-level-summary": 3 * len({e["level"] for e in plays}),
        "chart-listeners-by-day": len(day_levels),  # points
        "chart-level-changes": len(changes),
        "chart-top-songs": 10, "chart-top-artists": 10, "chart-top-users": 10, "chart-top-locations": 10,
        "chart-session-plays": len(play_buckets),
        "chart-session-length": len(length_buckets),
        "chart-catalog-match": 2,
    }


FIGURES_JS = """() => [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : null;
    const rows = [...f.querySelectorAll('table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent));
    return {id: f.id, title: f.querySelector('h3').textContent, width: box && box.width, height: box && box.height,
            bars: f.querySelectorAll('svg [aria-roledescription="bar"]').length,
            points: f.querySelectorAll('svg [aria-roledescription="point"]').length,
            lines: f.querySelectorAll('svg [aria-roledescription="line mark"]').length,
            axisTitles: [...f.querySelectorAll('svg .role-axis-title text')].map(t => t.textContent),
            labels: [...f.querySelectorAll('svg [aria-roledescription="bar"]')].map(b => b.getAttribute('aria-label')),
            rows};
})"""

PRINT_JS = """() => [...document.querySelectorAll('figure.chart')].map(f => {
    const box = f.getBoundingClientRect();
    const right = Math.max(...[...f.querySelectorAll('svg, table')].map(e => e.getBoundingClientRect().right));
    return {id: f.id, breakInside: getComputedStyle(f).breakInside, height: box.height, overflow: right - box.right};
})"""


def test_real_data_report_in_chromium(real_data, config_file, tmp_path, browser):
    cfg = config_file(log_data=real_data / "log_data", log_jsonpath=real_data / "log_json_path.json",
                      song_data=real_data / "song_data")
    for script in (create_tables, etl):
        assert script.main(["--config", str(cfg), "--quiet"]) == 0
    path = tmp_path / "report.html"
    assert analytics.main(["--config", str(cfg), "--html", str(path), "--quiet"]) == 0

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requests, console, errors = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        figures = {f["id"]: f for f in page.evaluate(FIGURES_JS)}
        text = page.inner_text("body")
        page.emulate_media(media="print")
        page.set_viewport_size({"width": PRINTABLE[0], "height": PRINTABLE[1]})
        printed = page.evaluate(PRINT_JS)
    finally:
        page.close()

    assert requests == [path.as_uri()], "the page loaded something besides itself"
    assert [m for m in console if m.startswith("error")] == [] and errors == []

    # every chart is drawn, with a title, two axis titles, and as many marks as the data calls for
    assert len(figures) == 14
    for f in figures.values():
        assert f["width"] > 300 and f["height"] > 40, f"{f['id']}: not drawn"
        assert f["title"] and (len(f["axisTitles"]) >= 2 or f["id"] == "chart-catalog-match"), f["id"]
    plays = raw_plays(real_data)
    expected = expected_marks(plays)
    got = {k: (figures[k]["points"] if k == "chart-listeners-by-day" else figures[k]["bars"]) for k in expected}
    assert got == expected
    assert figures["chart-listeners-by-day"]["lines"] == 2  # free and paid
    # the charts whose categories come from parsing: one bar per row of the table under the chart
    for name in ("chart-browsers", "chart-os"):
        assert figures[name]["bars"] == len(figures[name]["rows"]) > 0
    assert {r[0] for r in figures["chart-browsers"]["rows"]} == {"Chrome", "Safari", "Firefox", "Internet Explorer",
                                                                  "Chromium"}

    # key numbers: user 49 on top with 689 plays; free 1,229 / paid 5,591 plays
    top_users = figures["chart-top-users"]
    assert top_users["rows"][0][1:] == ["49", "Chloe Cuevas", "paid", "689"]
    assert "689" in top_users["labels"][0] and "user 49" in top_users["labels"][0]
    levels = {r[0]: r[1] for r in figures["chart-level-summary"]["rows"]}
    assert levels == {"free": "1,229", "paid": "5,591"}
    hours = Counter((EPOCH + timedelta(milliseconds=e["ts"])).hour for e in plays)
    assert figures["chart-plays-by-hour"]["rows"] == [[str(h), f"{hours[h]:,}"] for h in range(24)]
    # the checks the load passed (the report runs no checks of whole tables without --check): a first load's
    # groups, plays in their first-load form, and one never_shrinks per star table
    n_checks = (sum(len((sql_queries.RUN_PLAYS_FIRST_LOAD if g.name == "run plays" else g).checks)
                    for g in sql_queries.RUN_CHECKS) + len(sql_queries.STAR_TABLES))
    assert "6,820\nplays" in text and f"{n_checks} of {n_checks}\ndata-quality checks passed" in text

    # printed on A4 or Letter: no chart may be split across pages, and none is wider than the page
    for f in printed:
        assert f["breakInside"] == "avoid", f["id"]
        assert f["height"] <= PRINTABLE[1], f"{f['id']}: taller than a printed page"
        assert f["overflow"] <= 0.5, f"{f['id']}: wider than a printed page"
