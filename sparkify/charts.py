"""The report's charts: Vega-Lite specifications built with altair, rendered to static SVG by vl-convert.

vl-convert bundles the Vega and Vega-Lite JavaScript libraries (and a JavaScript engine), so rendering needs no
network and no browser; it is told to fetch nothing (allowed_base_urls=[]). Every chart takes the records of
one query of sql_queries.analytics_queries (sparkify.reports.AnalystsReport.records), already aggregated by the
warehouse; nothing is computed here but labels.

Readable in black and white: the two levels, and upgrades/downgrades, are a light and a dark colour (their
grey values differ by more than half the scale, see tests), every bar has a thin dark outline, and the
lines of the two levels differ in dash as well as colour. Days and hours are UTC (the charts use UTC time
units, so the renderer's time zone does not matter).

Every text of a chart (the data's labels: titles, artists, locations, levels...) is made visible before it is
rendered (sparkify.text): vl-convert aborts the whole process, uncatchably, on a character XML cannot hold
(U+0001, ESC, U+FFFF...), and a terminal-control sequence has no business in a report either.

altair and vl_convert are imported when the first chart is built, not with this module: the text and JSON
outputs of analytics.py do not pay for them. A page names its charts by builder (render, CHARTS) and asks a
renderer for them: InProcess here, or the chart worker process of `analytics.py --html`
(sparkify.chart_worker), which starts altair and vl-convert while the report's queries run.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Protocol

from sparkify.text import visible

log = logging.getLogger(__name__)

WIDTH = 620  # px: fits an A4 page in portrait with 12 mm margins (about 700 px) with room for the y axis
HEIGHT = 220
RANKED_WIDTH = 260  # px: the plot of a ranked bar chart, whose labels take up to LABEL_LIMIT beside it
LABEL_LIMIT = 240
BAR = "#3b6ea5"      # single-series bars
FREE = "#a6cee3"     # light
PAID = "#08306b"     # dark
UNKNOWN = "#bdbdbd"
UPGRADE = PAID
DOWNGRADE = "#fdbf6f"
MATCHED = PAID
UNMATCHED = "#d9d9d9"
OUTLINE = "#333333"

CONFIG = {
    "background": "white",
    # Liberation Sans is the font vl-convert measures text with (it bundles it); Arial has the same metrics,
    # so labels fit as laid out wherever one of the two is installed (Windows, macOS, most Linux desktops).
    "font": "Liberation Sans, Arial, Helvetica, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal", "gridColor": "#e4e4e4",
             "labelColor": "#222", "titleColor": "#222", "domainColor": "#555", "tickColor": "#555"},
    "legend": {"orient": "top", "labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal"},
    "bar": {"stroke": OUTLINE, "strokeWidth": 0.5},
    "concat": {"spacing": 36},
}


def _alt():
    import altair

    return altair


def level_scale(levels):
    """free light, paid dark, anything else grey, in a fixed order (free, paid, then the others)."""
    alt = _alt()
    known = {"free": FREE, "paid": PAID}
    domain = [lv for lv in known if lv in levels] + sorted(lv for lv in set(levels) if lv not in known)
    return alt.Scale(domain=domain, range=[known.get(lv, UNKNOWN) for lv in domain])


def level_label(value) -> str:
    """A level as shown: NULL (no level logged) as '(unknown)'."""
    return "(unknown)" if value is None else str(value)


def _day_axis(days: list[str], *, center: bool = False):
    """The x encoding shared by the daily charts: UTC days from the first to the last day of the report
    (`center`: points in the middle of their day, where the bars of the other charts are)."""
    alt = _alt()
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    end = last + timedelta(days=1)
    domain = [{"year": d.year, "month": d.month, "date": d.day, "utc": True} for d in (first, end)]
    ticks = {"interval": "day", "step": max(1, -(-(end - first).days // 16))}  # whole days, at most ~16 labels
    extra = {"bandPosition": 0.5} if center else {}
    return alt.X("day:T", timeUnit="utcyearmonthdate", title="day (UTC)",
                 scale=alt.Scale(type="utc", domain=domain),
                 axis=alt.Axis(format="%b %d", labelAngle=-45, labelOverlap=True, tickCount=ticks), **extra)


# --------------------------------------------------------------------------------------------------
# When


def plays_by_day(rows: list[dict]):
    """Stacked bars: plays per UTC day, one segment per level. One bar mark per row."""
    alt = _alt()
    data = [{"day": r["day"], "level": level_label(r["level"]), "plays": r["plays"]} for r in rows]
    return alt.Chart(alt.Data(values=data), width=WIDTH, height=HEIGHT).mark_bar().encode(
        x=_day_axis([r["day"] for r in data]),
        y=alt.Y("plays:Q", title="plays (count)", stack="zero"),
        color=alt.Color("level:N", title="level at the time of the play",
                        scale=level_scale([r["level"] for r in data])),
        order=alt.Order("level:N"),
    )


def plays_by_hour(hours: list[int]):
    """Bars: plays in each hour of the day, 0-23 UTC (24 bar marks)."""
    alt = _alt()
    data = [{"hour": h, "plays": n} for h, n in enumerate(hours)]
    return alt.Chart(alt.Data(values=data), width=WIDTH, height=HEIGHT).mark_bar(color=BAR).encode(
        x=alt.X("hour:O", title="hour of day (UTC, 0-23)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("plays:Q", title="plays (count)"),
    )


# --------------------------------------------------------------------------------------------------
# Free vs paid


def level_summary(rows: list[dict]):
    """Three small bar charts side by side: plays, listeners and current users per level (3 x levels bars)."""
    alt = _alt()
    data = [{**r, "level": level_label(r["level"])} for r in rows]
    scale = level_scale([r["level"] for r in data])

    def one(field: str, title: str):
        return alt.Chart(alt.Data(values=data), width=150, height=HEIGHT).mark_bar().encode(
            x=alt.X("level:N", title="level", sort=scale.domain, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{field}:Q", title=title),
            color=alt.Color("level:N", scale=scale, legend=None),
        )

    return alt.hconcat(one("plays", "plays (count)"), one("listeners", "listeners (users who played)"),
                       one("users", "users (by current level)"))


def listeners_by_day(rows: list[dict]):
    """Lines with points: listeners (distinct users) per UTC day and level. One point mark per row."""
    alt = _alt()
    data = [{"day": r["day"], "level": level_label(r["level"]), "listeners": r["listeners"]} for r in rows]
    scale = level_scale([r["level"] for r in data])
    dashes = alt.Scale(domain=scale.domain, range=[[4, 3] if lv == "free" else [1, 0] for lv in scale.domain])
    return alt.Chart(alt.Data(values=data), width=WIDTH, height=HEIGHT).mark_line(
        point=alt.OverlayMarkDef(filled=True, size=28), strokeWidth=2,
    ).encode(
        x=_day_axis([r["day"] for r in data], center=True),
        y=alt.Y("listeners:Q", title="listeners (distinct users)"),
        color=alt.Color("level:N", title="level", scale=scale),
        strokeDash=alt.StrokeDash("level:N", title="level", scale=dashes),
        shape=alt.Shape("level:N", title="level", scale=alt.Scale(domain=scale.domain)),
    )


def level_changes_by_day(rows: list[dict], days: list[str]):
    """Diverging bars per UTC day: upgrades above the axis, downgrades below. One bar mark per non-zero count.

    `days` (the report's days with plays) sets the x range, so the chart lines up with the other daily ones."""
    alt = _alt()
    data = []
    for r in rows:
        if r["upgrades"]:
            data.append({"day": r["day"], "change": "upgrade (free to paid)", "users": r["upgrades"]})
        if r["downgrades"]:
            data.append({"day": r["day"], "change": "downgrade (paid to free)", "users": -r["downgrades"]})
    return alt.Chart(alt.Data(values=data), width=WIDTH, height=160).mark_bar().encode(
        x=_day_axis(days or [r["day"] for r in rows] or [date.today().isoformat()]),
        y=alt.Y("users:Q", title="level changes (count)",
                axis=alt.Axis(tickMinStep=1, labelExpr="abs(datum.value)")),
        color=alt.Color("change:N", title="change", scale=alt.Scale(
            domain=["upgrade (free to paid)", "downgrade (paid to free)"], range=[UPGRADE, DOWNGRADE])),
    )


# --------------------------------------------------------------------------------------------------
# What and who


def ranked_bars(labels: list[str], values: list[int], *, x_title: str, y_title: str):
    """Horizontal bars in the given order (most first), one per label; labels are prefixed with their rank."""
    alt = _alt()
    data = [{"label": f"{i}. {label}", "rank": i, "value": v} for i, (label, v) in enumerate(zip(labels, values), 1)]
    return alt.Chart(alt.Data(values=data), width=RANKED_WIDTH, height=alt.Step(20)).mark_bar(color=BAR).encode(
        x=alt.X("value:Q", title=x_title, axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("label:N", title=y_title, sort=alt.EncodingSortField("rank", order="ascending"),
                # the axis title above the labels, right-aligned to the axis: beside them it would have to sit
                # left of the longest label, far from the rest
                axis=alt.Axis(labelLimit=LABEL_LIMIT, titleAngle=0, titleAlign="right", titleBaseline="bottom",
                              titleX=-6, titleY=-6)),
    )


# --------------------------------------------------------------------------------------------------
# Sessions


def bucket_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def bucket_bars(rows: list[dict], low: str, high: str, *, x_title: str, y_title: str = "sessions (count)"):
    """Vertical bars over ordered buckets (low..high; high None = open-ended). One bar mark per row."""
    alt = _alt()
    data = [{"bucket": bucket_label(r[low], r[high]), "order": r[low], "sessions": r["sessions"]} for r in rows]
    return alt.Chart(alt.Data(values=data), width=WIDTH, height=HEIGHT).mark_bar(color=BAR).encode(
        x=alt.X("bucket:N", title=x_title, sort=alt.EncodingSortField("order", order="ascending"),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("sessions:Q", title=y_title),
    )


# --------------------------------------------------------------------------------------------------
# The catalog


def catalog_match(match: dict):
    """One horizontal bar split into matched / unmatched shares of all plays (two bar marks when both exist)."""
    alt = _alt()
    plays = match.get("plays") or 0
    data = [{"part": part, "plays": n, "share": 100.0 * n / plays}
            for part, n in (("matched to a catalog song", match.get("matched_plays") or 0),
                            ("not matched", match.get("unmatched_plays") or 0)) if n]
    return alt.Chart(alt.Data(values=data), width=WIDTH, height=44).mark_bar().encode(
        x=alt.X("share:Q", title="share of all plays (%)", stack="zero", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("part:N", title="plays", scale=alt.Scale(
            domain=["matched to a catalog song", "not matched"], range=[MATCHED, UNMATCHED])),
        order=alt.Order("part:N"),
    )


# --------------------------------------------------------------------------------------------------
# Rendering


def vegalite_version() -> str:
    """The Vega-Lite version altair writes ('6.4' for altair's v6.4.1 schema), which vl-convert renders with."""
    major, minor = _alt().SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"{major}.{minor}"


# Whether to_svg checks each chart's spec against Vega-Lite's JSON schema first (a third of a second for the
# report's 14 charts: the tests do it, tests/unit/test_report_html.py; a report run need not).
VALIDATE = False


def to_svg(chart) -> str:
    """The chart as a standalone <svg> element (no external references: vl-convert may fetch nothing)."""
    import vl_convert

    spec = safe_text(chart.to_dict(validate=VALIDATE))
    spec.pop("$schema", None)
    return vl_convert.vegalite_to_svg(spec, vl_version=vegalite_version(), config=CONFIG, allowed_base_urls=[])


def safe_text(spec):
    """`spec` (a chart's dict) with every string in it, keys included, made visible (sparkify.text): the data's
    labels and anything else that would reach the SVG. The chart's own titles and field names are unchanged."""
    if isinstance(spec, str):
        return visible(spec)
    if isinstance(spec, dict):
        return {safe_text(k): safe_text(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [safe_text(v) for v in spec]
    return spec


# --------------------------------------------------------------------------------------------------
# Renderers: a chart asked for by name, with plain (JSON) arguments


# The chart builders a page asks a renderer for (sparkify.chart_worker renders no other name).
CHARTS = ("plays_by_day", "plays_by_hour", "level_summary", "listeners_by_day", "level_changes_by_day",
          "ranked_bars", "bucket_bars", "catalog_match")


def render(name: str, *args, **kwargs) -> str:
    """The SVG of the chart builder `name` (one of CHARTS) called with these arguments."""
    if name not in CHARTS:
        raise ValueError(f"no chart builder named {name!r}: the charts are {', '.join(CHARTS)}")
    return to_svg(globals()[name](*args, **kwargs))


def warm_up() -> None:
    """Render one small chart the way the report's are rendered, so that the renderer has started: altair's
    import (0.3 s on the 2-core development machine) and vl-convert's first chart (0.5 s: its JavaScript
    engine and the Vega-Lite library; later charts take 0.02-0.05 s) cost the same for any report."""
    render("ranked_bars", ["warm-up"], [1], x_title="plays", y_title="song")


class Renderer(Protocol):
    """What a page asks of a renderer: a chart by name (CHARTS), and the Vega-Lite version it renders with."""

    def svg(self, name: str, *args, **kwargs) -> str: ...

    def vegalite_version(self) -> str: ...


class InProcess:
    """A renderer in this process: the page's charts rendered one after another where they are asked for."""

    def svg(self, name: str, *args, **kwargs) -> str:
        return render(name, *args, **kwargs)

    def vegalite_version(self) -> str:
        return vegalite_version()
