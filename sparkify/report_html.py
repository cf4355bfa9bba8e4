"""`analytics.py --html PATH`: the analysts' report as one self-contained HTML page.

The page is a single file with nothing to fetch: the charts are inline SVG (sparkify.charts), the style is
inline, there is no script, no font, no image and no link to anything outside it; its Content-Security-Policy
(`default-src 'none'`) makes any browser refuse a request all the same. It opens from disk in any browser,
needs no JavaScript, and prints: every chart with its table stays on one page, and the colours are chosen
to read in black and white.

Text from the data (titles, artists, locations, names, check examples) is shown escaped twice over: its
control characters as visible escapes (sparkify.text: `\x1b`), then HTML's special characters as entities, so
a value can neither add markup nor break the page; the charts' text is made safe in sparkify.charts.

Every chart has a title, axis titles with units, and its numbers in a small table under it (the daily
charts share one table, "Per day"). The numbers are the warehouse's aggregates (sparkify.reports), shown
as they are: nothing is re-computed here except shares and labels.
"""

from __future__ import annotations

import html
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sparkify import charts
from sparkify.errors import ReportError
from sparkify.files import atomic_write
from sparkify.reports import AnalystsReport
from sparkify.text import visible

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    caption: str
    svg: str
    table: str = ""


@dataclass(frozen=True)
class Written:
    path: Path
    size: int
    charts: int
    seconds: float


# --------------------------------------------------------------------------------------------------
# Small HTML helpers


def esc(value) -> str:
    """Text for the page: control characters shown escaped (sparkify.text), then HTML-escaped."""
    return html.escape(visible(value), quote=True)


def number(value, decimals: int = 0) -> str:
    """1,229 / 8.8; an empty cell for None."""
    if value is None:
        return ""
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):,.{decimals}f}"


def percent(part, whole, decimals: int = 1) -> str:
    return f"{100.0 * part / whole:.{decimals}f}%" if whole else "n/a"


def table(columns: list[str], rows: list[list], *, numeric: set[int] = frozenset(), css: str = "numbers") -> str:
    """A table of already formatted cells (escaped here); `numeric` column indexes are right-aligned."""
    def cell(tag, i, value):
        cls = ' class="num"' if i in numeric else ""
        return f"<{tag}{cls}>{esc(value)}</{tag}>"

    head = "".join(cell("th", i, c) for i, c in enumerate(columns))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def figure(f: Figure) -> str:
    return (f'<figure class="chart" id="{esc(f.id)}">'
            f'<h3>{esc(f.title)}</h3><figcaption>{esc(f.caption)}</figcaption>'
            f'<div class="body"><div class="svg">{f.svg}</div>{f.table}</div></figure>')


# --------------------------------------------------------------------------------------------------
# The page


def build_figures(report: AnalystsReport, renderer: charts.Renderer) -> dict[str, list[Figure]]:
    """The charts of each section, rendered by `renderer`. Sections without data get no figures."""
    if not report.row_counts.get("songplays"):
        return {}
    svg = renderer.svg
    by_day = report.records("plays_by_day")
    days = sorted({r["day"] for r in by_day})
    changes = report.records("level_changes_by_day")
    levels = report.records("level_summary")
    hours = report.plays_by_hour
    songs = report.records("most_played_songs")
    artists = report.records("most_played_artists")
    users = report.records("most_active_users")
    by_plays = report.records("sessions_by_plays")
    by_length = report.records("sessions_by_length")
    locations = report.records("top_locations")
    browsers = report.records("listeners_by_browser")
    systems = report.records("listeners_by_os")
    match = report.record("catalog_match")

    def bucket_rows(rows, low, high, unit):
        return [[charts.bucket_label(r[low], r[high]) + unit, number(r["sessions"])] for r in rows]

    def ranked(rows, label):
        return [[i, *label(r)] for i, r in enumerate(rows, 1)]

    return {
        "when": [
            Figure("chart-plays-by-day", "Plays per day",
                   "Plays per UTC day, stacked by the listener's level at the time of the play "
                   "(numbers: the table \u201cPer day\u201d below).",
                   svg("plays_by_day", by_day)),
            Figure("chart-plays-by-hour", "Plays by hour of day",
                   "All plays by the hour of the day they started, UTC.",
                   svg("plays_by_hour", hours),
                   # three short tables side by side (hours 0-7, 8-15, 16-23): narrow enough for a printed page
                   '<div class="tables">' + "".join(
                       table(["hour (UTC)", "plays"], [[h, number(hours[h])] for h in range(first, first + 8)],
                             numeric={0, 1}) for first in (0, 8, 16)) + "</div>"),
        ],
        "levels": [
            Figure("chart-level-summary", "Free and paid",
                   "Plays at each level; listeners who played at that level (a user who changed level counts "
                   "at both); users by their current level (from their latest event).",
                   svg("level_summary", levels),
                   table(["level", "plays", "share of plays", "listeners", "users (current level)"],
                         [[charts.level_label(r["level"]), number(r["plays"]),
                           percent(r["plays"], sum(x["plays"] for x in levels)),
                           number(r["listeners"]), number(r["users"])] for r in levels], numeric={1, 2, 3, 4})),
            Figure("chart-listeners-by-day", "Listeners per day",
                   "Distinct users who played at least once that UTC day, by their level at the time "
                   "(numbers: the table \u201cPer day\u201d).",
                   svg("listeners_by_day", by_day)),
            Figure("chart-level-changes", "Upgrades and downgrades",
                   "Plays whose level differs from the same user's previous play, per UTC day: upgrades "
                   "(free to paid) above the axis, downgrades (paid to free) below "
                   f"({number(sum(r['upgrades'] for r in changes))} upgrades and "
                   f"{number(sum(r['downgrades'] for r in changes))} downgrades in all).",
                   svg("level_changes_by_day", changes, days)),
        ],
        "what": [
            Figure("chart-top-songs", "Top songs",
                   "The most played catalog songs (plays matched to the catalog only).",
                   svg("ranked_bars", [f"{r['title']} \u2014 {r['artist'] or '?'}" for r in songs],
                       [r["plays"] for r in songs], x_title="plays (count)", y_title="song"),
                   table(["#", "song", "artist", "plays"],
                         ranked(songs, lambda r: [r["title"], r["artist"], number(r["plays"])]), numeric={0, 3})),
            Figure("chart-top-artists", "Top artists",
                   "The most played artists (plays matched to the catalog only).",
                   svg("ranked_bars", [str(r["artist"]) for r in artists], [r["plays"] for r in artists],
                       x_title="plays (count)", y_title="artist"),
                   table(["#", "artist", "plays"], ranked(artists, lambda r: [r["artist"], number(r["plays"])]),
                         numeric={0, 2})),
            Figure("chart-top-users", "Most active users",
                   "The users with the most plays, with their current level.",
                   svg("ranked_bars", [f"user {r['user_id']}" for r in users], [r["plays"] for r in users],
                       x_title="plays (count)", y_title="user"),
                   table(["#", "user id", "name", "current level", "plays"],
                         ranked(users, lambda r: [r["user_id"], f"{r['first_name'] or ''} {r['last_name'] or ''}",
                                                  r["level"], number(r["plays"])]), numeric={0, 1, 4})),
        ],
        "sessions": [
            Figure("chart-session-plays", "Plays per session",
                   "How many sessions had how many plays (a session: one user's session id).",
                   svg("bucket_bars", by_plays, "plays_from", "plays_to", x_title="plays per session (count)"),
                   table(["plays per session", "sessions"], bucket_rows(by_plays, "plays_from", "plays_to", ""),
                         numeric={1})),
            Figure("chart-session-length", "Session length",
                   "Minutes from a session's first play to the start of its last play (a one-play session "
                   "lasts 0 minutes).",
                   svg("bucket_bars", by_length, "minutes_from", "minutes_to",
                       x_title="session length, first to last play (minutes)"),
                   table(["length", "sessions"], bucket_rows(by_length, "minutes_from", "minutes_to", " min"),
                         numeric={1})),
        ],
        "where": [
            Figure("chart-top-locations", "Where listeners are",
                   "The locations with the most listeners (distinct users), as the app logged them with each play.",
                   svg("ranked_bars", [r["location"] for r in locations], [r["listeners"] for r in locations],
                       x_title="listeners (distinct users)", y_title="location"),
                   table(["#", "location", "listeners", "plays"],
                         ranked(locations, lambda r: [r["location"], number(r["listeners"]), number(r["plays"])]),
                         numeric={0, 2, 3})),
            Figure("chart-browsers", "Browsers",
                   "Listeners by browser, parsed from the user agent of their plays (a user with several "
                   "browsers counts once for each).",
                   svg("ranked_bars", [r["browser"] for r in browsers], [r["listeners"] for r in browsers],
                       x_title="listeners (distinct users)", y_title="browser"),
                   table(["browser", "listeners", "plays"],
                         [[r["browser"], number(r["listeners"]), number(r["plays"])] for r in browsers],
                         numeric={1, 2})),
            Figure("chart-os", "Operating systems",
                   "Listeners by operating system, parsed from the user agent of their plays.",
                   svg("ranked_bars", [r["os"] for r in systems], [r["listeners"] for r in systems],
                       x_title="listeners (distinct users)", y_title="operating system"),
                   table(["operating system", "listeners", "plays"],
                         [[r["os"], number(r["listeners"]), number(r["plays"])] for r in systems], numeric={1, 2})),
        ],
        "catalog": [
            Figure("chart-catalog-match", "Plays matched to the song catalog",
                   "A play matches when a catalog song has the same title, artist name and duration.",
                   svg("catalog_match", match),
                   table(["plays", "matched", "not matched", "matched share"],
                         [[number(match["plays"]), number(match["matched_plays"]), number(match["unmatched_plays"]),
                           percent(match["matched_plays"] or 0, match["plays"])]], numeric={0, 1, 2, 3})),
        ],
    }


def daily_table(report: AnalystsReport) -> str:
    """One row per UTC day: plays and listeners per level, upgrades, downgrades (the daily charts' numbers)."""
    by_day = report.records("plays_by_day")
    label = charts.level_label
    levels = sorted({label(r["level"]) for r in by_day}, key=lambda lv: ({"free": 0, "paid": 1}.get(lv, 2), lv))
    cells: dict[str, dict] = {}
    for r in by_day:
        cells.setdefault(r["day"], {})[label(r["level"])] = r
    changes = {r["day"]: r for r in report.records("level_changes_by_day")}
    columns = ["day (UTC)", *[f"{lv} plays" for lv in levels], *[f"{lv} listeners" for lv in levels],
               "upgrades", "downgrades"]
    rows = []
    for day in sorted(cells):
        row = [day]
        row += [number(cells[day].get(lv, {}).get("plays", 0)) for lv in levels]
        row += [number(cells[day].get(lv, {}).get("listeners", 0)) for lv in levels]
        row += [number(changes.get(day, {}).get("upgrades", 0)), number(changes.get(day, {}).get("downgrades", 0))]
        rows.append(row)
    return table(columns, rows, numeric=set(range(1, len(columns))), css="numbers daily")


def kpis(report: AnalystsReport) -> list[tuple[str, str]]:
    plays = report.row_counts.get("songplays", 0)
    sessions = report.record("session_summary")
    match = report.record("catalog_match")
    by_level = report.plays_by_level
    shown = report.checks or report.last_run_checks
    passed = sum(c.passed for c in shown)
    return [
        ("plays", number(plays)),
        ("listeners", number(sessions.get("listeners") or 0)),
        ("sessions", number(sessions.get("sessions") or 0)),
        ("plays per session", number(sessions.get("plays_per_session") or 0, 1)),
        ("paid share of plays", percent(by_level.get("paid", 0), plays)),
        ("matched to the catalog", percent(match.get("matched_plays") or 0, plays)),
        ("data-quality checks passed", f"{passed} of {len(shown)}"),
    ]


def warehouse_section(report: AnalystsReport) -> str:
    counts = table(["table", "rows"], [[t, number(n)] for t, n in report.row_counts.items()], numeric={1})
    shown = report.checks or report.last_run_checks
    rows = []
    for c in shown:
        examples = ", ".join(str(k) for k in c.examples) if c.examples else ""
        rows.append(["\u2713 pass" if c.passed else "\u2717 FAIL", c.name, c.description, number(c.count), examples])
    checks = table(["result", "check", "what it checks", "offending rows", "e.g."], rows, numeric={3},
                   css="numbers checks")
    failed = sum(not c.passed for c in shown)
    verdict = (f"All {len(shown)} checks passed." if not failed
               else f"{failed} of {len(shown)} checks FAILED: the numbers above may be wrong.")
    if report.checks:
        about = ("The checks of whole tables (analytics.py --check), run for this report; every etl.py load "
                 "checks the rows it touches before it commits.")
    elif report.last_run is not None:
        run_id, finished = report.last_run
        about = (f"The checks of the last load (etl.py run {run_id}, finished {finished:%Y-%m-%d %H:%M} UTC) on "
                 "the rows it touched, which it passed before it committed (a failing check rolls a load back). "
                 "analytics.py --html PATH --check adds the checks of whole tables.")
        verdict = f"The last load passed its {len(shown)} checks."
    else:
        about = "No etl.py run is recorded yet; analytics.py --html PATH --check runs the checks of whole tables."
        verdict = "No checks to show."
    return (f'<figure class="table-only" id="row-counts"><h3>Row counts</h3>'
            f"<figcaption>Rows in each table of the warehouse.</figcaption>{counts}</figure>"
            f'<figure class="table-only" id="checks"><h3>Data-quality checks</h3>'
            f"<figcaption>{esc(verdict)} {esc(about)}</figcaption>{checks}</figure>")


SECTIONS = [
    ("when", "When people listen"),
    ("levels", "Free and paid"),
    ("what", "What they play, and who plays most"),
    ("sessions", "Sessions"),
    ("where", "Where listeners are, and what they use"),
    ("catalog", "The song catalog"),
]

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1a1a1a; background: #f4f5f7; }
header, main, footer { max-width: 980px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #1a1a1a; }
h3 { font-size: 15px; margin: 0 0 2px; }
.meta { color: #444; margin: 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 10px; margin: 18px 0 0;
        padding: 0; list-style: none; }
.kpis li { background: #fff; border: 1px solid #c9ccd1; border-radius: 6px; padding: 8px 10px; }
.kpis b { display: block; font-size: 21px; font-variant-numeric: tabular-nums; }
.kpis span { color: #444; font-size: 12px; }
figure { background: #fff; border: 1px solid #c9ccd1; border-radius: 6px; margin: 0 0 14px; padding: 14px 16px; }
figcaption { color: #444; font-size: 12.5px; margin-bottom: 8px; }
.body { display: flex; flex-wrap: wrap; gap: 6px 28px; align-items: flex-start; }
.svg { max-width: 100%; }
.tables { display: flex; flex-wrap: wrap; gap: 0 24px; align-items: flex-start; }
.svg svg { display: block; max-width: 100%; height: auto; }
table.numbers { border-collapse: collapse; margin-top: 10px; font-size: 12px; font-variant-numeric: tabular-nums; }
table.numbers th, table.numbers td { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left;
                                    vertical-align: top; }
table.numbers th { border-bottom: 1px solid #888; font-weight: 600; }
table.numbers .num { text-align: right; }
table.checks td:nth-child(3) { color: #444; }
table.checks td:first-child { white-space: nowrap; }
.empty { background: #fff; border: 1px solid #c9ccd1; border-radius: 6px; padding: 14px 16px; }
footer { color: #555; font-size: 12px; padding-top: 10px; padding-bottom: 30px; }
@page { margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  header, main, footer { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  figure, .kpis li { border-color: #999; break-inside: avoid; page-break-inside: avoid; }
  figure.table-only { break-inside: auto; page-break-inside: auto; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 18px; }
  h3, figcaption { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_html(report: AnalystsReport, *, generated_at: datetime | None = None,
                renderer: charts.Renderer | None = None) -> tuple[str, int]:
    """(the page, the number of charts in it), its charts rendered by `renderer` (by default in this process)."""
    generated_at = generated_at or datetime.now(UTC)
    renderer = renderer or charts.InProcess()
    figures = build_figures(report, renderer)
    by_day = report.records("plays_by_day")
    days = sorted({r["day"] for r in by_day})
    period = f"{days[0]} to {days[-1]} (UTC)" if days else "no plays loaded"
    title = f"Sparkify listening report: {period}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        (f"<header><h1>Sparkify listening report</h1><p class=\"meta\">{esc(period)} \u00b7 "
         f"{esc(report.source)} \u00b7 generated {esc(generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</p>"),
        '<ul class="kpis">' + "".join(f"<li><b>{esc(v)}</b><span>{esc(k)}</span></li>" for k, v in kpis(report))
        + "</ul></header><main>",
    ]
    if not figures:
        parts.append('<p class="empty">No plays loaded yet: run etl.py, then this report again.</p>')
    for key, heading in SECTIONS:
        if key not in figures:
            continue
        parts.append(f'<section id="{key}"><h2>{esc(heading)}</h2>')
        if key == "sessions":
            s = report.record("session_summary")
            parts.append(f'<p class="meta">{number(s["sessions"])} sessions by {number(s["listeners"])} listeners: '
                         f"{number(s['plays_per_session'], 1)} plays per session on average (at most "
                         f"{number(s['most_plays'])}); {number(s['average_minutes'], 1)} minutes on average from "
                         f"first to last play, the longest {number(s['longest_minutes'], 0)} minutes.</p>")
        parts += [figure(f) for f in figures[key]]
        if key == "levels":
            parts.append('<figure class="table-only" id="per-day"><h3>Per day</h3><figcaption>The numbers of '
                         "the daily charts: plays and listeners per level, upgrades and downgrades, per UTC day."
                         f"</figcaption>{daily_table(report)}</figure>")
        parts.append("</section>")
    parts.append(f'<section id="warehouse"><h2>The warehouse</h2>{warehouse_section(report)}</section>')
    parts.append(
        "</main><footer>Every number was computed by the warehouse with the analytics queries of "
        "sql_queries (the same ones analytics.py prints as tables and --json); charts rendered with "
        f"Vega-Lite {esc(renderer.vegalite_version())}. This file has no scripts and loads nothing from "
        "elsewhere.</footer></body></html>")
    count = sum(len(v) for v in figures.values())
    return "\n".join(parts) + "\n", count


def check_destination(path: Path | str) -> None:
    """Fail before any query runs if the report cannot be written where asked."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ReportError(f"cannot write the report to {path}: it is a directory: give a file name, "
                          f"e.g. {path / 'report.html'}")
    if not directory.is_dir():
        raise ReportError(f"cannot write the report to {path}: No such file or directory: "
                          "give a path in an existing, writable directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write the report to {path}: {directory} is not writable: "
                          "give a path in an existing, writable directory")


def write_html(report: AnalystsReport, path: Path | str, *, renderer: charts.Renderer | None = None) -> Written:
    """Render the report (its charts by `renderer`, by default in this process) and write it to `path`
    atomically (a failed run leaves any previous file as it was)."""
    path = Path(path)
    started = time.perf_counter()
    page, count = render_html(report, renderer=renderer)
    data = page.encode("utf-8")
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {path}: {exc.strerror or exc}: "
                          "give a path in an existing, writable directory") from None
    seconds = time.perf_counter() - started
    log.info("analytics: %d charts rendered and written in %.1f s", count, seconds)
    return Written(path, len(data), count, seconds)
