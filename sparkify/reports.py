"""The analysts' report: row counts, the analysts' queries of sql_queries and the quality checks.

build_report runs sql_queries.analytics_job (the queries of the report's tables, which etl.py keeps up to
date: every aggregate is computed by the warehouse, only small results are fetched, and the transaction is
rolled back at the end) and returns an AnalystsReport; format_report renders it as text tables,
AnalystsReport.as_json as one JSON object, and sparkify.report_html as the self-contained HTML page of
`analytics.py --html`. The text tables show the data's control characters escaped (sparkify.text), so a title
or a location can never drive the terminal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import psycopg2.errors

import sql_queries
from sparkify import checks
from sparkify.config import Config
from sparkify.errors import WarehouseError
from sparkify.pipeline.executor import execute_steps
from sparkify.pipeline.plans import analytics_plan
from sparkify.pipeline.state import RunState
from sparkify.pipeline.steps import RunContext
from sparkify.schema import create_fix
from sparkify.text import visible, visible_lines
from sparkify.warehouse import Warehouse, missing_table

log = logging.getLogger(__name__)

# The report's queries whose result is one row: as_json gives them as one object, not a list.
SINGLE_ROW = ("session_summary", "catalog_match")
# The report's queries as lists of records in the JSON (the five older ones keep their own shapes).
RECORD_QUERIES = ("plays_by_day", "level_summary", "level_changes_by_day", "sessions_by_plays",
                  "sessions_by_length", "top_locations", "listeners_by_browser", "listeners_by_os")


def plain(value):
    """A database value as JSON-ready Python: Decimal -> int (whole) or float, date/datetime -> ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


@dataclass
class AnalystsReport:
    """What analytics.py shows: the tables' row counts, each analysts' query's rows, the checks."""

    row_counts: dict[str, int] = field(default_factory=dict)
    queries: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)  # name -> (columns, rows)
    checks: list[checks.CheckResult] = field(default_factory=list)  # whole tables (with_checks)
    # the checks the latest etl.py run passed before it committed (without with_checks): (run_id, finished_at)
    last_run: tuple | None = None
    last_run_checks: list[checks.CheckResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "queries", "checks"
    source: str = ""  # which warehouse, for the report's header (never a host, user or password)

    def records(self, name: str) -> list[dict]:
        """The rows of one query as dicts of plain values (see `plain`)."""
        columns, rows = self.queries[name]
        return [{c: plain(v) for c, v in zip(columns, row)} for row in rows]

    def record(self, name: str) -> dict:
        """The one row of a single-row query (SINGLE_ROW); zeros/None if it returned none."""
        rows = self.records(name)
        return rows[0] if rows else {c: None for c in self.queries[name][0]}

    @property
    def plays_by_hour(self) -> list[int]:
        """24 integers: plays in each UTC hour 0..23 (hours without plays count 0)."""
        hours = [0] * 24
        for hour, plays in self.queries["plays_by_hour"][1]:
            hours[int(hour)] = int(plays)
        return hours

    @property
    def plays_by_level(self) -> dict[str, int]:
        return {str(level): int(plays) for level, plays in self.queries["plays_by_level"][1]}

    @property
    def top_users(self) -> list[list[int]]:
        return [[int(row[0]), int(row[-1])] for row in self.queries["most_active_users"][1]]

    def as_json(self) -> dict:
        out = {
            "row_counts": self.row_counts,
            "plays_by_hour": self.plays_by_hour,
            "plays_by_level": self.plays_by_level,
            "top_users": self.top_users,
            "most_played_songs": [[r[0], r[1], int(r[2])] for r in self.queries["most_played_songs"][1]],
            "most_played_artists": [[r[0], int(r[1])] for r in self.queries["most_played_artists"][1]],
            "most_active_users": self.records("most_active_users"),
        }
        for name in RECORD_QUERIES:
            out[name] = self.records(name)
        for name in SINGLE_ROW:
            out[name] = self.record(name)
        if self.checks:
            out["checks"] = [c.as_dict() for c in self.checks]
            out["checks_passed"] = all(c.passed for c in self.checks)
        if self.last_run is not None:
            out["last_run_checks"] = {"run_id": self.last_run[0], "finished_at": plain(self.last_run[1]),
                                      "checks": [c.as_dict() for c in self.last_run_checks]}
        return out


def source_label(config: Config) -> str:
    """'local warehouse, database sparkify' / 'redshift warehouse, database dev'."""
    database = config.local_db_name if config.engine == "local" else config.cluster.db_name
    return f"{config.engine} warehouse, database {database}"


def build_report(config: Config, *, with_checks: bool = False) -> AnalystsReport:
    """Run analytics.py's job (sql_queries.analytics_job) in one transaction, rolled back at the end."""
    wh = Warehouse(config)
    report = AnalystsReport(source=source_label(config))
    state = RunState(config, checks_asked=with_checks, result=report)
    conn = wh.connect()
    try:
        execute_steps(RunContext(wh, wh.session(conn), state), analytics_plan())
    except psycopg2.errors.UndefinedTable as exc:
        raise WarehouseError(f"the {wh.engine} warehouse has no table {missing_table(exc)}: {create_fix()}") from None
    finally:
        conn.rollback()
        conn.close()
    log.info("analytics: row counts and %d queries in %.1f s", len(sql_queries.analytics_queries),
             report.timings.get("queries", 0.0))
    if with_checks:
        log.info("analytics: %d data-quality checks in %.1f s", len(report.checks), report.timings.get("checks", 0.0))
    return report


def format_table(columns: list[str], rows: list[tuple]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float, Decimal)) or row[i] is None for row in rows) and rows
               for i in range(len(columns))]

    def fmt(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    lines = [fmt(columns), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def _text(value) -> str:
    """A cell as shown: floats with one decimal, control characters escaped."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return visible(plain(value))


TITLES = {
    "most_played_songs": "Most played songs",
    "most_played_artists": "Most played artists",
    "plays_by_hour": "Plays by hour of day (UTC)",
    "plays_by_level": "Plays by subscription level",
    "most_active_users": "Most active users",
    "plays_by_day": "Plays and listeners per day (UTC) and level",
    "level_summary": "Free vs paid: plays, listeners, users by current level",
    "level_changes_by_day": "Upgrades and downgrades per day (UTC)",
    "session_summary": "Sessions",
    "sessions_by_plays": "Sessions by plays per session",
    "sessions_by_length": "Sessions by length (minutes, first to last play)",
    "top_locations": "Top locations (by listeners)",
    "listeners_by_browser": "Browsers (from the user agent)",
    "listeners_by_os": "Operating systems (from the user agent)",
    "catalog_match": "Plays matched to the song catalog",
}


def format_report(report: AnalystsReport) -> str:
    parts = ["Row counts", format_table(["table", "rows"], list(report.row_counts.items()))]
    for name, (columns, rows) in report.queries.items():
        parts += ["", TITLES.get(name, name)]
        parts.append(format_table(columns, rows) if rows else "(no rows)")
    if report.checks:
        parts += ["", "Data-quality checks"] + [c.line() for c in report.checks]
    elif report.last_run is not None:
        run_id, finished = report.last_run
        parts += ["", (f"Data-quality checks the latest load passed (etl.py run {run_id}, finished "
                       f"{finished:%Y-%m-%d %H:%M} UTC; --check runs those of whole tables)")]
        parts += [c.line() for c in report.last_run_checks]
    else:
        parts += ["", "Data-quality checks: no etl.py run has loaded anything yet (--check runs those of whole tables)"]
    return visible_lines("\n".join(parts))  # (the checks' example keys are data too)
