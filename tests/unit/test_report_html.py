"""The HTML page of a report built by hand (no database): the sparse cases a real warehouse can produce render
every chart without error: one day, no level logged, no catalog match, no level change, no song to rank."""

from __future__ import annotations

import re
from datetime import date

import pytest

import sql_queries
from sparkify import report_html
from sparkify.reports import AnalystsReport


def sparse_report() -> AnalystsReport:
    r = AnalystsReport(row_counts={"songplays": 2}, source="postgres warehouse, database test")
    rows = {
        "most_played_songs": (["title", "artist", "plays"], []),
        "most_played_artists": (["artist", "plays"], []),
        "plays_by_hour": (["hour", "plays"], [(5, 2)]),
        "plays_by_level": (["level", "plays"], [(None, 2)]),
        "most_active_users": (["user_id", "first_name", "last_name", "level", "plays"], [(1, None, None, None, 2)]),
        "plays_by_day": (["day", "level", "plays", "listeners"], [(date(2018, 11, 5), None, 2, 1)]),
        "level_summary": (["level", "plays", "listeners", "users"], [(None, 2, 1, 1)]),
        "level_changes_by_day": (["day", "upgrades", "downgrades"], []),
        "session_summary": (["sessions", "listeners", "plays_per_session", "most_plays", "average_minutes",
                             "longest_minutes"], [(1, 1, 2.0, 2, 0.0, 0.0)]),
        "sessions_by_plays": (["plays_from", "plays_to", "sessions"], [(2, 5, 1)]),
        "sessions_by_length": (["minutes_from", "minutes_to", "sessions"], [(0, 10, 1)]),
        "top_locations": (["location", "listeners", "plays"], [("(unknown)", 1, 2)]),
        "listeners_by_browser": (["browser", "listeners", "plays"], [("other", 1, 2)]),
        "listeners_by_os": (["os", "listeners", "plays"], [("other", 1, 2)]),
        "catalog_match": (["plays", "matched_plays", "unmatched_plays"], [(2, 0, 2)]),
    }
    assert set(rows) == set(sql_queries.analytics_queries), "a query of the report is missing here"
    r.queries.update(rows)
    return r


def test_a_sparse_report_renders_every_chart():
    page, count = report_html.render_html(sparse_report())
    assert count == 14
    charts = dict(re.findall(r'<figure class="chart" id="([^"]+)">(.*?)</figure>', page, re.DOTALL))
    assert all("<svg" in html for html in charts.values())
    assert charts["chart-top-songs"].count('aria-roledescription="bar"') == 0
    assert charts["chart-level-changes"].count('aria-roledescription="bar"') == 0
    assert charts["chart-catalog-match"].count('aria-roledescription="bar"') == 1
    assert "<td>(unknown)</td><td class=\"num\">2</td><td class=\"num\">100.0%</td>" in charts["chart-level-summary"]
    assert "2018-11-05 to 2018-11-05 (UTC)" in page and "postgres warehouse, database test" in page


def test_every_chart_is_valid_vega_lite(monkeypatch):
    """The report renders its charts without validating them (charts.VALIDATE is off: a third of a second a
    report): here each is checked against Vega-Lite's JSON schema, which refuses an invalid one."""
    import altair as alt

    from sparkify import charts

    monkeypatch.setattr(charts, "VALIDATE", True)
    rendered = []
    to_svg = charts.to_svg
    monkeypatch.setattr(charts, "to_svg", lambda chart: rendered.append(chart) or to_svg(chart))
    _, count = report_html.render_html(sparse_report())
    assert len(rendered) == count == 14
    invalid = alt.Chart(alt.Data(values=[{"a": 1}])).mark_bar().encode(x=alt.X("a:Q", bin="yes"))
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        to_svg(invalid)
