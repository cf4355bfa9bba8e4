"""The analysts' view: row counts, the analytic queries of sql_queries.py and the quality checks."""

from __future__ import annotations

import logging

import psycopg2.errors
from dataclasses import dataclass, field

import sql_queries
from sparkify import checks
from sparkify.config import Config
from sparkify.errors import WarehouseError
from sparkify.warehouse import Warehouse, fetch_counts

log = logging.getLogger(__name__)


@dataclass
class Report:
    row_counts: dict[str, int] = field(default_factory=dict)
    queries: dict[str, tuple[list[str], list[tuple]]] = field(default_factory=dict)  # name -> (columns, rows)
    checks: list[checks.CheckResult] = field(default_factory=list)

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
        }
        if self.checks:
            out["checks"] = [c.as_dict() for c in self.checks]
            out["checks_passed"] = all(c.passed for c in self.checks)
        return out


def build_report(config: Config, *, with_checks: bool = False) -> Report:
    wh = Warehouse(config)
    report = Report()
    conn = wh.connect()
    try:
        with conn.cursor() as cur:
            report.row_counts = fetch_counts(cur, sql_queries.ALL_TABLES)
            for name, query in sql_queries.analytics_queries.items():
                cur.execute(wh.prepare(query))
                report.queries[name] = ([d[0] for d in cur.description], cur.fetchall())
            if with_checks:
                report.checks = checks.run_checks(cur)
    except psycopg2.errors.UndefinedTable as exc:
        missing = str(exc).split('"')[1] if '"' in str(exc) else "?"
        raise WarehouseError(f"the {wh.engine} warehouse has no table {missing}: run create_tables.py, then etl.py"
                             ) from None
    finally:
        conn.rollback()
        conn.close()
    return report


def format_table(columns: list[str], rows: list[tuple]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and rows
               for i in range(len(columns))]

    def fmt(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    lines = [fmt(columns), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


TITLES = {
    "most_played_songs": "Most played songs",
    "most_played_artists": "Most played artists",
    "plays_by_hour": "Plays by hour of day (UTC)",
    "plays_by_level": "Plays by subscription level",
    "most_active_users": "Most active users",
}


def format_report(report: Report) -> str:
    parts = ["Row counts", format_table(["table", "rows"], list(report.row_counts.items()))]
    for name, (columns, rows) in report.queries.items():
        parts += ["", TITLES.get(name, name)]
        parts.append(format_table(columns, rows) if rows else "(no rows)")
    if report.checks:
        parts += ["", "Data-quality checks"] + [c.line() for c in report.checks]
    return "\n".join(parts)
