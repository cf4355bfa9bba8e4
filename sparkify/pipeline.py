"""The two jobs behind create_tables.py and etl.py.

create_tables: DROP then CREATE every table, in one transaction.
run_etl: one transaction that
  1. takes the ETL lock (a second run waits, bounded, then fails clearly),
  2. empties staging and COPYs the configured S3 (or local) prefixes into it,
  3. merges staging into the five star tables (sql_queries.insert_table_queries),
  4. runs the data-quality checks, and records the run in etl_runs,
and commits only if every step succeeded: a failure at any point leaves the warehouse as it was.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sql_queries
from sparkify import checks
from sparkify.config import Config
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError
from sparkify.warehouse import Warehouse, fetch_counts

log = logging.getLogger(__name__)


@dataclass
class EtlReport:
    staged: dict[str, int] = field(default_factory=dict)  # staging table -> rows loaded
    rejected: dict[str, int] = field(default_factory=dict)  # staging table -> records skipped (MAXERROR)
    run_counts: dict[str, int] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    checks: list = field(default_factory=list)


def create_tables(config: Config) -> dict[str, int]:
    """Drop and recreate every table. Returns the row counts (all zero) as a proof of life."""
    wh = Warehouse(config)
    log.info("creating tables in the %s", wh.describe())
    with wh.transaction() as conn, conn.cursor() as cur:
        wh.run_statements(cur, sql_queries.drop_table_queries, what="drop")
        wh.run_statements(cur, sql_queries.create_table_queries, what="create")
        counts = fetch_counts(cur, sql_queries.ALL_TABLES)
    log.info("created %d tables: %s", len(counts), ", ".join(counts))
    return counts


@contextmanager
def _timed(report: EtlReport, name: str):
    t0 = time.monotonic()
    try:
        yield
    finally:
        report.timings[name] = time.monotonic() - t0


def copy_specs(config: Config) -> list[CopySpec]:
    return [template.bind(config) for template in sql_queries.copy_table_queries]


def ensure_sources(config: Config) -> None:
    """With the built-in default, generate the sample data on first use."""
    if config.sample_dir is None:
        return
    from sparkify import sample

    if not (config.sample_dir / "SAMPLE.json").exists():
        log.info("no sample data yet: generating it in %s", config.sample_dir)
    sample.ensure_sample(config.sample_dir)


def run_etl(config: Config, *, show_progress: bool = True) -> EtlReport:
    """Load staging from the sources and merge it into the star schema, atomically."""
    ensure_sources(config)
    wh = Warehouse(config)
    report = EtlReport()
    started = time.monotonic()
    log.info("loading into the %s", wh.describe())
    with wh.transaction() as conn:
        with _timed(report, "lock"):
            wh.acquire_etl_lock(conn, config.lock_timeout)
        with conn.cursor() as cur:
            wh.run_statements(cur, sql_queries.clear_staging_queries, what="clear")
        for spec in copy_specs(config):
            with _timed(report, f"copy {spec.table}"):
                loaded, rejected = _copy(wh, conn, spec, show_progress)
            report.staged[spec.table] = loaded
            report.rejected[spec.table] = rejected
        merge_staging(wh, conn, report)
    report.timings["total"] = time.monotonic() - started
    log.info("etl done in %.1f s: %s", report.timings["total"],
             ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items() if k != "total"))
    return report


def merge_staging(wh: Warehouse, conn, report: EtlReport | None = None) -> EtlReport:
    """Merge the staged batch into the star tables, check the result and record the run (in conn's transaction).

    Raises CheckError (and the caller rolls back) when a data-quality check fails.
    """
    report = report if report is not None else EtlReport()
    with conn.cursor() as cur:
        with _timed(report, "transform"):
            wh.run_statements(cur, sql_queries.insert_table_queries, what="transform")
        with _timed(report, "checks"):
            report.checks = checks.run_checks(cur)
        checks.raise_on_failures(report.checks)
        cur.execute(sql_queries.etl_run_insert, {"finished_at": datetime.now(timezone.utc).replace(tzinfo=None)})
        cur.execute(sql_queries.latest_etl_run)
        report.run_counts = dict(zip(RUN_COUNT_NAMES, cur.fetchone()))
        report.row_counts = fetch_counts(cur, sql_queries.ALL_TABLES)
    return report


RUN_COUNT_NAMES = ("staged_events", "staged_songs", "songplays_of_run", "users_merged", "songs_merged",
                   "artists_merged", "time_of_run")  # the columns of sql_queries.latest_etl_run


def _copy(wh: Warehouse, conn, spec: CopySpec, show_progress: bool) -> tuple[int, int]:
    """COPY one staging table: the real COPY on Redshift, the emulation elsewhere. Returns (loaded, rejected)."""
    if wh.is_redshift:
        from sparkify.copy import redshift

        statement = redshift.render_copy(spec)
        log.info("%s: COPY from %s", spec.table, spec.source)
        with conn.cursor() as cur:
            cur.execute("savepoint copy_start")
            try:
                cur.execute(statement)
            except Exception as exc:
                import psycopg2

                if not isinstance(exc, psycopg2.Error):
                    raise
                cur.execute("rollback to savepoint copy_start")
                cur.execute(redshift.LOAD_ERRORS_QUERY)
                cols = [d[0] for d in cur.description]
                rows = [dict(zip(cols, r)) for r in cur.fetchall()]
                raise LoadError(
                    redshift.format_load_errors(spec.table, rows, spec.maxerror) if rows
                    else f"{spec.table}: COPY failed: {str(exc).strip().splitlines()[0]}",
                    table=spec.table, rejected=rows,
                ) from None
            cur.execute(f"select count(*) from {spec.table}")
            loaded = cur.fetchone()[0]
        return loaded, 0

    from sparkify.copy import emulator

    progress = _ProgressLog(spec.table) if show_progress else None
    result = emulator.emulate_copy(
        conn, spec, error_conn_factory=lambda: wh.connect(autocommit=True), progress=progress
    )
    if result.rejected:
        log.warning("%s: %d records rejected (MAXERROR %d); see the stl_load_errors table",
                    spec.table, result.rejected, spec.maxerror)
    log.info("%s: %d rows from %d files in %.1f s", spec.table, result.loaded, result.files, result.seconds)
    return result.loaded, result.rejected


class _ProgressLog:
    """Turns the emulator's progress callbacks into a log line every few seconds."""

    def __init__(self, table: str, every_s: float = 3.0):
        self.table = table
        self.every_s = every_s
        self.t0 = time.monotonic()
        self.last = self.t0

    def __call__(self, p: dict) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        self.last = now
        rate = p.get("records", 0) / max(now - self.t0, 1e-9)
        log.info("%s: %s/%s files, %s records (%.0f/s), %s rejected", self.table, p.get("files_done"),
                 p.get("files_total", "?"), p.get("records"), rate, p.get("rejected", 0))
