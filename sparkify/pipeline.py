"""The two jobs behind create_tables.py and etl.py, as ordered plans of steps.

create_tables: DROP then CREATE every table, in one transaction.
run_etl: one transaction that
  1. takes the ETL lock (a second run waits, bounded, then fails clearly),
  2. empties staging and COPYs the configured S3 (or local) prefixes into it,
  3. merges staging into the five star tables (sql_queries.insert_table_queries; on the PostgreSQL
     engines after the transaction's SET LOCAL settings, Warehouse.etl_settings_statements),
  4. runs the data-quality checks, and records the run in etl_runs,
and commits only if every step succeeded: a failure at any point leaves the warehouse as it was.

Each job is a plan (create_tables_plan(), etl_plan()): a tuple of steps in execution order, built
from sql_queries' ordered lists when the job starts. The executor (`execute_plan`) walks it against
a warehouse; the dry run (sparkify.dryrun) walks the same tuple and asks each step for the Redshift
statements it sends (`Step.redshift_statements`), so the order printed by `--dry-run` is the order
that runs. On Redshift the steps execute exactly those statements
(tests/redshift/test_dryrun_is_what_runs.py records a run and compares).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sql_queries
from sparkify import checks
from sparkify.config import Config
from sparkify.copy.spec import CopySpec, CopyTemplate
from sparkify.errors import LoadError
from sparkify.warehouse import Warehouse, count_query, fetch_counts, lock_statements, summarize

log = logging.getLogger(__name__)


@dataclass
class EtlReport:
    staged: dict[str, int] = field(default_factory=dict)  # staging table -> rows loaded
    rejected: dict[str, int] = field(default_factory=dict)  # staging table -> records skipped (MAXERROR)
    run_counts: dict[str, int] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    checks: list = field(default_factory=list)


RUN_COUNT_NAMES = ("staged_events", "staged_songs", "songplays_of_run", "users_merged", "songs_merged",
                   "artists_merged", "time_of_run")  # the columns of sql_queries.latest_etl_run


# --------------------------------------------------------------------------------------------------
# Steps


@dataclass(frozen=True)
class Statement:
    """One statement as Redshift receives it: `id` names it (the sql_queries variable where there is one)."""

    id: str
    sql: str


@dataclass
class RunContext:
    """What a step needs while it runs: the warehouse, the open transaction's connection, the report."""

    wh: Warehouse
    conn: object
    report: EtlReport
    show_progress: bool = True
    prepared: dict = field(default_factory=dict)  # table -> emulator.PreparedCopy (see execute_steps)

    @property
    def config(self) -> Config:
        return self.wh.config


class Step:
    """One step of a plan. Subclasses define what runs (`run`) and what Redshift receives (`redshift_statements`)."""

    # Every step has `id` (a name for logs and the dry run) and `timing` (the EtlReport.timings key its
    # duration is added to, or None); they are dataclass fields or properties of the subclasses.

    def redshift_statements(self, config: Config) -> list[Statement]:
        raise NotImplementedError

    def run(self, ctx: RunContext) -> None:
        raise NotImplementedError


def utcnow() -> datetime:
    """The client's UTC clock, naive (etl_runs.finished_at is a TIMESTAMP without time zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def render_params(sql: str, params: dict | None) -> str:
    """`sql` with psycopg2-style %(name)s parameters replaced by the literals psycopg2 would send.

    Only values that need no connection to quote are supported (datetime, numbers, None); that is what
    the plans pass. A datetime becomes `'2018-11-30T12:00:00.123456'::timestamp`, as psycopg2 sends it.
    """
    if not params:
        return sql
    from psycopg2.extensions import adapt

    return sql % {k: adapt(v).getquoted().decode() for k, v in params.items()}


@dataclass(frozen=True)
class SqlStep(Step):
    """One statement of sql_queries.py, run as is on Redshift (translated on the PostgreSQL engines)."""

    id: str
    sql: str
    timing: str | None = None
    params: Callable[[], dict] | None = None  # called at run (and render) time
    on_result: Callable[[object, EtlReport], None] | None = None  # reads the cursor after execution

    def redshift_statements(self, config: Config) -> list[Statement]:
        return [Statement(self.id, render_params(self.sql, self.params() if self.params else None).strip())]

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            t0 = time.monotonic()
            cur.execute(ctx.wh.prepare(self.sql), self.params() if self.params else None)
            log.debug("%s done in %.2f s: %s", self.id, time.monotonic() - t0, summarize(self.sql))
            if self.on_result is not None:
                self.on_result(cur, ctx.report)


@dataclass(frozen=True)
class EtlSettingsStep(Step):
    """PostgreSQL engines only: the ETL transaction's SET LOCAL settings (Warehouse.etl_settings_statements).

    Redshift receives nothing from this step, so the dry run shows nothing for it."""

    id: str = "etl_settings"
    timing: str | None = "transform"

    def redshift_statements(self, config: Config) -> list[Statement]:
        return []

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            for statement in ctx.wh.etl_settings_statements():
                cur.execute(statement)


@dataclass(frozen=True)
class LockStep(Step):
    id: str = "etl_lock"
    timing: str | None = "lock"

    def redshift_statements(self, config: Config) -> list[Statement]:
        ids = ("lock.statement_timeout", "etl_lock", "lock.statement_timeout_reset")
        return [Statement(i, s) for i, s in zip(ids, lock_statements())]

    def run(self, ctx: RunContext) -> None:
        ctx.wh.acquire_etl_lock(ctx.conn, ctx.config.lock_timeout)


def _template_name(template: CopyTemplate) -> str:
    return next((n for n, v in vars(sql_queries).items() if v is template), f"{template.table}_copy")


@dataclass(frozen=True)
class CopyStep(Step):
    """COPY one staging table: the real COPY on Redshift, the emulation on the PostgreSQL engines."""

    template: CopyTemplate

    @property
    def id(self) -> str:  # type: ignore[override]
        return _template_name(self.template)

    @property
    def timing(self) -> str:  # type: ignore[override]
        return f"copy {self.template.table}"

    def spec(self, config: Config) -> CopySpec:
        return self.template.bind(config)

    def redshift_statements(self, config: Config) -> list[Statement]:
        from sparkify.copy import redshift

        spec = self.spec(config)
        return [Statement(self.id, redshift.render_copy(spec)),
                Statement("copy_rejected_count", sql_queries.copy_rejected_count),
                Statement(f"loaded {spec.table}", count_query(spec.table))]

    def run(self, ctx: RunContext) -> None:
        spec = self.spec(ctx.config)
        if ctx.wh.is_redshift:
            loaded, rejected = self._redshift_copy(ctx, spec)
        else:
            loaded, rejected = self._emulated_copy(ctx, spec)
        ctx.report.staged[spec.table] = loaded
        ctx.report.rejected[spec.table] = rejected

    def _redshift_copy(self, ctx: RunContext, spec: CopySpec) -> tuple[int, int]:
        """Run the statements redshift_statements shows. A failed COPY aborts Redshift's transaction (and
        Redshift has no SAVEPOINT): roll it back, then read stl_load_errors in the same session."""
        import psycopg2

        from sparkify.copy import redshift

        copy, rejected_count, count = self.redshift_statements(ctx.config)
        log.info("%s: COPY from %s", spec.table, spec.source)
        with ctx.conn.cursor() as cur:
            try:
                cur.execute(copy.sql)
            except psycopg2.Error as exc:
                ctx.conn.rollback()
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                try:
                    cur.execute(redshift.LOAD_ERRORS_QUERY)
                    cols = [d[0] for d in cur.description]
                    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
                except psycopg2.Error:
                    ctx.conn.rollback()
                    rows = []
                raise LoadError(
                    redshift.format_load_errors(spec.table, rows, spec.maxerror) if rows
                    else f"{spec.table}: COPY failed: {first}",
                    table=spec.table, rejected=rows,
                ) from None
            cur.execute(rejected_count.sql)
            rejected = cur.fetchone()[0]
            cur.execute(count.sql)
            loaded = cur.fetchone()[0]
        if rejected:
            log.warning("%s: COPY skipped %d records (MAXERROR %d); see stl_load_errors", spec.table, rejected,
                        spec.maxerror)
        return loaded, rejected

    def _emulated_copy(self, ctx: RunContext, spec: CopySpec) -> tuple[int, int]:
        from sparkify.copy import emulator

        progress = _ProgressLog(spec.table) if ctx.show_progress else None
        result = emulator.emulate_copy(
            ctx.conn, spec, error_conn_factory=lambda: ctx.wh.connect(autocommit=True), progress=progress,
            prepared=ctx.prepared.pop(spec.table, None),
        )
        if result.rejected:
            log.warning("%s: %d records rejected (MAXERROR %d); see the stl_load_errors table",
                        spec.table, result.rejected, spec.maxerror)
        log.info("%s: %d rows from %d files in %.1f s", spec.table, result.loaded, result.files, result.seconds)
        return result.loaded, result.rejected


@dataclass(frozen=True)
class ChecksStep(Step):
    """The data-quality checks (sparkify.checks.CHECKS); a failure raises CheckError and the run rolls back."""

    id: str = "checks"
    timing: str | None = "checks"

    def redshift_statements(self, config: Config) -> list[Statement]:
        return [Statement(f"check {c.name}", checks.count_query(c)) for c in checks.CHECKS]

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            ctx.report.checks = checks.run_checks(cur)
        checks.raise_on_failures(ctx.report.checks)


@dataclass(frozen=True)
class CountsStep(Step):
    """Row counts of `tables` into the report (the proof of life at the end of both jobs)."""

    tables: tuple[str, ...] = sql_queries.ALL_TABLES
    id: str = "row_counts"
    timing: str | None = None

    def redshift_statements(self, config: Config) -> list[Statement]:
        return [Statement(f"count {t}", count_query(t)) for t in self.tables]

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            ctx.report.row_counts = fetch_counts(cur, self.tables)


# --------------------------------------------------------------------------------------------------
# Plans


def _name_of(statement: str) -> str:
    """The sql_queries variable holding `statement` (or `list_name[i]` for a member of a list), for ids;
    a statement that is not in sql_queries (tests inject some) is named by its first words."""
    for name, value in vars(sql_queries).items():
        if value is statement:
            return name
    for name, value in vars(sql_queries).items():
        if isinstance(value, list) and not name.endswith("_queries"):
            for i, member in enumerate(value):
                if member is statement:
                    return f"{name}[{i}]"
    return summarize(statement, 40)


def _sql_steps(statements: Sequence[str], timing: str | None = None) -> tuple[SqlStep, ...]:
    return tuple(SqlStep(_name_of(s), s, timing) for s in statements)


def _store_run_counts(cur, report: EtlReport) -> None:
    report.run_counts = dict(zip(RUN_COUNT_NAMES, cur.fetchone()))


def create_tables_plan() -> tuple[Step, ...]:
    """create_tables.py: drop, create, count."""
    return (
        *_sql_steps(sql_queries.drop_table_queries),
        *_sql_steps(sql_queries.create_table_queries),
        CountsStep(),
    )


def merge_plan() -> tuple[Step, ...]:
    """The merge of a staged batch, inside the caller's transaction (merge_staging; the end of etl_plan)."""
    return (
        EtlSettingsStep(),
        *_sql_steps(sql_queries.analyze_staging_queries, timing="transform"),
        *_sql_steps(sql_queries.insert_table_queries, timing="transform"),
        *_sql_steps(sql_queries.analyze_star_queries, timing="transform"),
        ChecksStep(),
        SqlStep("etl_run_insert", sql_queries.etl_run_insert, params=lambda: {"finished_at": utcnow()}),
        SqlStep("latest_etl_run", sql_queries.latest_etl_run, on_result=_store_run_counts),
        CountsStep(),
    )


def etl_plan() -> tuple[Step, ...]:
    """etl.py: lock, empty staging, COPY, merge."""
    return (
        LockStep(),
        *_sql_steps(sql_queries.clear_staging_queries),
        *(CopyStep(t) for t in sql_queries.copy_table_queries),
        *merge_plan(),
    )


def execute_steps(ctx: RunContext, steps: Sequence[Step]) -> None:
    """Run steps in order in ctx's transaction, adding each one's duration to its timing.

    Emulated COPYs that follow each other overlap: when the first starts, the next ones are prepared
    (sparkify.copy.emulator.prepare_copy), so their files are read and converted while the server ingests
    the first table; each still runs, reports and fails in its own turn."""
    try:
        for i, step in enumerate(steps):
            if isinstance(step, CopyStep) and not ctx.wh.is_redshift and not ctx.prepared:
                _prepare_following_copies(ctx, steps[i + 1:])
            t0 = time.monotonic()
            try:
                step.run(ctx)
            finally:
                if step.timing:
                    ctx.report.timings[step.timing] = ctx.report.timings.get(step.timing, 0.0) + time.monotonic() - t0
    finally:
        for prepared in ctx.prepared.values():  # (a step failed before their turn)
            prepared.close()
        ctx.prepared.clear()


def _prepare_following_copies(ctx: RunContext, rest: Sequence[Step]) -> None:
    from sparkify.copy import emulator

    for step in rest:
        if not isinstance(step, CopyStep):
            break
        spec = step.spec(ctx.config)
        ctx.prepared[spec.table] = emulator.prepare_copy(ctx.conn, spec)


def execute_plan(wh: Warehouse, steps: Sequence[Step], *, show_progress: bool = True) -> EtlReport:
    """Run a plan in one transaction: commit if every step succeeded, else roll back and re-raise."""
    report = EtlReport()
    with wh.transaction() as conn:
        execute_steps(RunContext(wh, conn, report, show_progress), steps)
    return report


# --------------------------------------------------------------------------------------------------
# The jobs


def create_tables(config: Config) -> dict[str, int]:
    """Drop and recreate every table. Returns the row counts (all zero) as a proof of life."""
    wh = Warehouse(config)
    log.info("creating tables in the %s", wh.describe())
    counts = execute_plan(wh, create_tables_plan()).row_counts
    log.info("created %d tables: %s and etl_runs", len(sql_queries.create_table_queries), ", ".join(counts))
    return counts


def run_etl(config: Config, *, show_progress: bool = True) -> EtlReport:
    """Load staging from the sources and merge it into the star schema, atomically (etl_plan). The sources
    must exist: nothing is generated here (etl.py generates the sample data for the built-in default)."""
    wh = Warehouse(config)
    started = time.monotonic()
    log.info("loading into the %s", wh.describe())
    report = execute_plan(wh, etl_plan(), show_progress=show_progress)
    report.timings["total"] = time.monotonic() - started
    log.info("etl done in %.1f s: %s", report.timings["total"],
             ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items() if k != "total"))
    return report


def merge_staging(wh: Warehouse, conn, report: EtlReport | None = None) -> EtlReport:
    """Merge the staged batch into the star tables, check the result and record the run (in conn's transaction).

    Raises CheckError (and the caller rolls back) when a data-quality check fails.
    """
    report = report if report is not None else EtlReport()
    execute_steps(RunContext(wh, conn, report), merge_plan())
    return report


PROGRESS_LOG_EVERY = 3.0  # seconds between two progress lines of a COPY


class _ProgressLog:
    """Turns the emulator's progress callbacks into a log line every PROGRESS_LOG_EVERY seconds."""

    def __init__(self, table: str, every_s: float | None = None):
        self.table = table
        self.every_s = PROGRESS_LOG_EVERY if every_s is None else every_s
        self.t0 = time.monotonic()
        self.last = self.t0

    def __call__(self, p: dict) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        self.last = now
        rate = p.get("records", 0) / max(now - self.t0, 1e-9)
        log.info("%s: %s/%s files, %s records (%.0f/s), %s rejected", self.table, p.get("files_done"),
                 p.get("files_total") or "?", p.get("records"), rate, p.get("rejected", 0))
