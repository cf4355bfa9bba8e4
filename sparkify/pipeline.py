"""The two jobs behind create_tables.py and etl.py, as ordered plans of steps.

create_tables: DROP then CREATE every table, in one transaction.
run_etl: one transaction that
  1. takes the ETL lock (a second run waits, bounded, then fails clearly) and numbers the run;
  2. lists the source prefixes and reads the load ledger: only new or changed objects are COPYed
     (sparkify.ledger; every object again with `reload`), into emptied staging tables, and recorded
     in the ledger;
  3. merges what was staged into the star schema (sql_queries.song_merge_queries when song records were
     staged, event_merge_queries when events were), analyzes the tables it changed, counts them;
  4. runs the data-quality checks on the keys the run touched (sql_queries.RUN_CHECKS) plus the
     never-shrinks invariant, and records the run in etl_runs;
and commits only if every step succeeded: a failure at any point (a killed process included) leaves the
warehouse, its ledger included, as it was.

Each job is a plan (create_tables_plan(), etl_plan()): a tuple of steps in execution order, built from
sql_queries' ordered lists. The executor (`execute_plan`) walks it against a warehouse; the dry run
(sparkify.dryrun) walks the same tuple and asks each step for the Redshift statements it sends
(`Step.redshift_statements(state)`), so the order printed by `--dry-run` is the order that runs. What a
step sends may depend on the run's RunState (which objects are new, which staging tables were loaded):
the dry run computes the same state first (listing and ledger, read only). On Redshift the steps execute
exactly those statements (tests/redshift/test_dryrun_is_what_runs.py records a run and compares).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sql_queries
from sparkify import checks, ledger
from sparkify.config import Config
from sparkify.copy.spec import CopySpec, CopyTemplate
from sparkify.errors import LoadError
from sparkify.warehouse import ANALYZE_THRESHOLD, Warehouse, count_query, fetch_counts, lock_statements, summarize

log = logging.getLogger(__name__)

EVENTS, SONGS = "staging_events", "staging_songs"
# The tables a run changes when it staged events / song records.
CHANGED_BY = {EVENTS: ("songplays", "users", "time"), SONGS: ("songs", "artists", "songplays", "song_records")}
# The statements whose rows (cursor.rowcount) change each table, for the PostgreSQL ANALYZE threshold.
WRITES = {
    "songplays": ("songplay_rematch", "songplay_conflict_update", "songplay_table_insert"),
    "users": ("user_table_delete", "user_table_insert"),
    "songs": ("song_table_delete", "song_table_insert"),
    "artists": ("artist_table_delete", "artist_table_insert"),
    "time": ("time_table_insert", "time_orphans_delete"),
    "song_records": ("song_records_insert",),
}


@dataclass
class EtlReport:
    staged: dict[str, int] = field(default_factory=dict)  # staging table -> rows loaded
    rejected: dict[str, int] = field(default_factory=dict)  # staging table -> records skipped (MAXERROR)
    objects: dict[str, ledger.TablePlan] = field(default_factory=dict)  # staging table -> objects of the run
    run_counts: dict[str, object] = field(default_factory=dict)  # the run's etl_runs row
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    checks: list = field(default_factory=list)


@dataclass
class RunState:
    """What decides a run's statements: the dry run builds one the same way (read only)."""

    config: Config
    reload: bool = False
    run_id: int | None = None
    previous_totals: dict[str, int] = field(default_factory=dict)  # star table -> rows after the last run
    tables: dict[str, ledger.TablePlan] = field(default_factory=dict)  # staging table -> objects to load
    loaded: set[str] = field(default_factory=set)  # staging tables this run loaded
    rows: dict[str, int] = field(default_factory=dict)  # statement id -> rows it wrote (known while running)
    manifests: dict[str, str] = field(default_factory=dict)  # staging table -> the run's manifest (s3:// sources)
    loaded_at: datetime | None = None  # when the run's objects count as loaded (ledger rows)
    counts_before: dict[str, int] = field(default_factory=dict)  # changed star tables' rows before the merge
    specs: dict[str, CopySpec] = field(default_factory=dict)  # staging table -> its COPY this run (CopyStep.spec)

    @property
    def is_redshift(self) -> bool:
        return self.config.engine == "redshift"

    def changed(self) -> set[str]:
        """The tables this run changes (from what it loaded)."""
        return {t for s in self.loaded for t in CHANGED_BY[s]}

    def was_empty(self, table: str) -> bool:
        """Whether `table` had no rows before the run's merge: counted then (CountsBeforeStep); the dry run,
        which counts nothing, goes by the previous run's totals (none: a first load)."""
        return self.counts_before.get(table, self.previous_totals.get(table, 0)) == 0


def utcnow() -> datetime:
    """The client's UTC clock, naive (TIMESTAMP columns have no time zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def sql_literal(value) -> str:
    """The literal psycopg2 sends for a parameter (datetime, number, string in UTF-8, None, tuple of those).
    A datetime becomes `'2018-11-30T12:00:00.123456'::timestamp`."""
    from psycopg2.extensions import QuotedString, adapt

    if isinstance(value, str):
        quoted = QuotedString(value)
        quoted.encoding = "utf8"
        return quoted.getquoted().decode()
    if isinstance(value, tuple):
        return "(" + ", ".join(sql_literal(v) for v in value) + ")"
    return adapt(value).getquoted().decode()


def render_params(sql: str, params: dict | Sequence | None) -> str:
    """`sql` with psycopg2-style parameters (%(name)s with a dict, %s with a sequence) replaced by the literals
    psycopg2 would send. Only values that need no connection to quote are supported (sql_literal); that is
    what the plans pass."""
    if not params:
        return sql
    if isinstance(params, dict):
        return sql % {k: sql_literal(v) for k, v in params.items()}
    return sql % tuple(sql_literal(v) for v in params)


# --------------------------------------------------------------------------------------------------
# Steps


@dataclass(frozen=True)
class Statement:
    """One statement as Redshift receives it: `id` names it (the sql_queries variable where there is one)."""

    id: str
    sql: str


@dataclass
class RunContext:
    """What a step needs while it runs: the warehouse, the open transaction's connection, the report, the state."""

    wh: Warehouse
    conn: object
    report: EtlReport
    state: RunState
    show_progress: bool = True
    prepared: dict = field(default_factory=dict)  # table -> emulator.PreparedCopy (see execute_steps)

    @property
    def config(self) -> Config:
        return self.wh.config


class Step:
    """One step of a plan. Subclasses define what runs (`run`) and what Redshift receives (`redshift_statements`)."""

    # Every step has `id` (a name for logs and the dry run) and `timing` (the EtlReport.timings key its
    # duration is added to, or None); they are dataclass fields or properties of the subclasses.

    def redshift_statements(self, state: RunState) -> list[Statement]:
        raise NotImplementedError

    def run(self, ctx: RunContext) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class SqlStep(Step):
    """One statement of sql_queries.py, run as is on Redshift (translated on the PostgreSQL engines).

    `when(state)`: the step runs (and the dry run shows it) only if this is true. The rows the statement
    wrote are kept in state.rows under its id."""

    id: str
    sql: str
    timing: str | None = None
    params: Callable[[RunState], dict] | None = None  # called at run (and render) time
    on_result: Callable[[object, RunContext], None] | None = None  # reads the cursor after execution
    when: Callable[[RunState], bool] | None = None

    def applies(self, state: RunState) -> bool:
        return self.when is None or self.when(state)

    def redshift_statements(self, state: RunState) -> list[Statement]:
        if not self.applies(state):
            return []
        return [Statement(self.id, render_params(self.sql, self.params(state) if self.params else None).strip())]

    def run(self, ctx: RunContext) -> None:
        if not self.applies(ctx.state):
            return
        with ctx.conn.cursor() as cur:
            t0 = time.monotonic()
            cur.execute(ctx.wh.prepare(self.sql), self.params(ctx.state) if self.params else None)
            rowcount = getattr(cur, "rowcount", -1)
            if isinstance(rowcount, int) and rowcount >= 0 and not getattr(cur, "description", None):
                ctx.state.rows[self.id] = rowcount
            log.debug("%s done in %.2f s: %s", self.id, time.monotonic() - t0, summarize(self.sql))
            if self.on_result is not None:
                self.on_result(cur, ctx)


@dataclass(frozen=True)
class EtlSettingsStep(Step):
    """PostgreSQL engines only: the ETL transaction's SET LOCAL settings (Warehouse.etl_settings_statements).

    Redshift receives nothing from this step, so the dry run shows nothing for it."""

    id: str = "etl_settings"
    timing: str | None = "transform"

    def redshift_statements(self, state: RunState) -> list[Statement]:
        return []

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            for statement in ctx.wh.etl_settings_statements():
                cur.execute(statement)


@dataclass(frozen=True)
class LockStep(Step):
    id: str = "etl_lock"
    timing: str | None = "lock"

    def redshift_statements(self, state: RunState) -> list[Statement]:
        ids = ("etl_lock_timeout_set", "etl_lock", "etl_lock_timeout_reset")
        return [Statement(i, s) for i, s in zip(ids, lock_statements())]

    def run(self, ctx: RunContext) -> None:
        ctx.wh.acquire_etl_lock(ctx.conn, ctx.config.lock_timeout)


def read_run_start(cur, state: RunState) -> None:
    """Execute sql_queries.etl_start_queries on `cur`: the run's id and the previous run's totals."""
    next_id, totals = sql_queries.etl_start_queries
    cur.execute(next_id)
    state.run_id = int(cur.fetchone()[0] or 1)
    cur.execute(totals)
    row = cur.fetchone() if getattr(cur, "description", None) else None
    state.previous_totals = dict(zip(sql_queries.STAR_TABLES, (int(v or 0) for v in row))) if row else {}


@dataclass(frozen=True)
class RunStartStep(Step):
    """The run's id (previous + 1, under the lock) and the star tables' row counts after the previous run."""

    id: str = "etl_start"
    timing: str | None = "lock"

    def redshift_statements(self, state: RunState) -> list[Statement]:
        return [Statement("etl_run_next_id", sql_queries.etl_run_next_id),
                Statement("latest_etl_totals", sql_queries.latest_etl_totals.strip())]

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            read_run_start(cur, ctx.state)


def _ledger_select_params(table: str) -> dict:
    return {"table_name": table}


def plan_objects(state: RunState, fetch_ledger: Callable[[str], list], *, client_factory=None,
                 on_list_error: Callable[[str, Exception], None] | None = None) -> None:
    """List every COPY's prefix, compare it with its ledger rows (`fetch_ledger(table)`) and set state.tables
    and state.manifests (sparkify.ledger). A listing error raises, unless `on_list_error` takes it (the dry
    run: the table's plan is then marked as not listed)."""
    from sparkify.copy.sources import is_s3, s3_client

    config = state.config
    clients: list = []

    def factory():
        if client_factory is not None:
            return client_factory()
        if not clients:
            clients.append(s3_client(config.s3.endpoint_url, config.s3.region))
        return clients[0]

    for template in sql_queries.copy_table_queries:
        table, prefix = template.table, getattr(config.s3, template.source_key)
        rows = ledger.ledger_from_rows(fetch_ledger(table))
        try:
            plan = ledger.plan_table(table, prefix, ledger.list_objects(prefix, factory), rows, reload=state.reload)
        except (LoadError, OSError) as exc:
            if on_list_error is None:
                raise
            on_list_error(table, exc)
            plan = ledger.TablePlan(table, prefix, reload=state.reload, listing_error=str(exc).splitlines()[0])
        state.tables[table] = plan
        if config.s3.manifest_prefix and is_s3(prefix) and plan.to_load:
            state.manifests[table] = ledger.manifest_url(config.s3.manifest_prefix, state.run_id, table)


def ledger_reader(cur) -> Callable[[str], list]:
    """fetch_ledger for plan_objects: sql_queries.loaded_objects_select on `cur`."""

    def fetch(table: str) -> list:
        cur.execute(sql_queries.loaded_objects_select, _ledger_select_params(table))
        return cur.fetchall()

    return fetch


@dataclass(frozen=True)
class ObjectsStep(Step):
    """Which objects each COPY loads: the listing of its prefix against the load ledger."""

    id: str = "objects"
    timing: str | None = "objects"

    def redshift_statements(self, state: RunState) -> list[Statement]:
        return [Statement(f"loaded_objects_select {t.table}",
                          render_params(sql_queries.loaded_objects_select, _ledger_select_params(t.table)).strip())
                for t in sql_queries.copy_table_queries]

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            plan_objects(ctx.state, ledger_reader(cur))
        ctx.report.objects = dict(ctx.state.tables)
        for plan in ctx.state.tables.values():
            if not plan.listed:  # as Redshift's COPY: a prefix that matches nothing is an error, not a no-op
                gone = f" ({len(plan.missing)} object(s) loaded before are gone)" if plan.missing else ""
                raise LoadError(f"{plan.table}: no object to COPY: the specified S3 prefix '{plan.prefix}' does not "
                                f"exist{gone} (the FROM value is a key prefix: check [S3] in the configuration)",
                                table=plan.table)
            log.info("%s: %s under %s", plan.table, plan.summary(), plan.prefix)
            if plan.missing:
                shown = ", ".join(plan.missing[:3]) + (", …" if len(plan.missing) > 3 else "")
                log.warning("%s: %d object(s) loaded before are gone from %s (their rows stay in the warehouse): %s",
                            plan.table, len(plan.missing), plan.prefix, shown)
        if ctx.wh.is_redshift and not ctx.config.s3.manifest_prefix:
            waiting = [p for p in ctx.state.tables.values() if p.to_load and p.unchanged]
            if waiting:
                log.warning("[S3] MANIFEST_PREFIX is not set: COPY reads the whole prefix again for %s, unchanged "
                            "objects included; set it to an s3:// location the cluster's role can read to load only "
                            "the new objects", ", ".join(f"{p.table} ({p.summary()})" for p in waiting))


def _template_name(template: CopyTemplate) -> str:
    return next((n for n, v in vars(sql_queries).items() if v is template), f"{template.table}_copy")


@dataclass(frozen=True)
class CopyStep(Step):
    """COPY one staging table's new objects: the real COPY on Redshift, the emulation on the PostgreSQL engines.
    Skipped when the table has nothing new (its staging table stays empty)."""

    template: CopyTemplate

    @property
    def id(self) -> str:  # type: ignore[override]
        return _template_name(self.template)

    @property
    def timing(self) -> str:  # type: ignore[override]
        return f"copy {self.template.table}"

    def applies(self, state: RunState) -> bool:
        plan = state.tables.get(self.template.table)
        return plan is not None and (bool(plan.to_load) or plan.listing_error is not None)

    def spec(self, state: RunState) -> CopySpec:
        """The COPY this run sends: from the run's manifest, else (Redshift) the whole prefix, else (emulated)
        the list of the new objects (ledger.ListedObject has what the emulator reads of a source file: url,
        key, size). Made once per run."""
        from dataclasses import replace

        table = self.template.table
        if table in state.specs:
            return state.specs[table]
        spec = self.template.bind(state.config)
        manifest = state.manifests.get(table)
        plan = state.tables[table]
        if manifest:
            spec = replace(spec, source=manifest, manifest=True)
        elif not (state.is_redshift or plan.listing_error is not None):
            spec = replace(spec, files=tuple(plan.to_load))
        state.specs[table] = spec
        return spec

    def redshift_statements(self, state: RunState) -> list[Statement]:
        from sparkify.copy import redshift

        if not self.applies(state):
            return []
        spec = self.spec(state)
        return [Statement(self.id, redshift.render_copy(spec)),
                Statement("copy_rejected_count", sql_queries.copy_rejected_count),
                Statement(f"loaded {spec.table}", count_query(spec.table))]

    def run(self, ctx: RunContext) -> None:
        if not self.applies(ctx.state):
            return
        spec = self.spec(ctx.state)
        if spec.manifest:
            write_manifest(ctx.state, spec.table, spec.source)
        if ctx.wh.is_redshift:
            loaded, rejected = self._redshift_copy(ctx, spec)
        else:
            loaded, rejected = self._emulated_copy(ctx, spec)
        ctx.state.loaded.add(spec.table)
        ctx.report.staged[spec.table] = loaded
        ctx.report.rejected[spec.table] = rejected

    def _redshift_copy(self, ctx: RunContext, spec: CopySpec) -> tuple[int, int]:
        """Run the statements redshift_statements shows. A failed COPY aborts Redshift's transaction (and
        Redshift has no SAVEPOINT): roll it back, then read stl_load_errors in the same session."""
        import psycopg2

        from sparkify.copy import redshift

        copy, rejected_count, count = self.redshift_statements(ctx.state)
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


def write_manifest(state: RunState, table: str, url: str) -> None:
    """Write the run's manifest of `table` (its new objects) to `url` on S3."""
    from sparkify.copy.sources import s3_client

    config = state.config
    document = ledger.manifest_document(state.tables[table].to_load)
    ledger.write_manifest(s3_client(config.s3.endpoint_url, config.s3.region), url, document)
    log.info("%s: wrote the COPY manifest %s (%d objects)", table, url, len(state.tables[table].to_load))


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _values_insert(template: str, rows: Sequence[tuple]) -> tuple[str, tuple]:
    """(statement, parameters) of one multi-row INSERT: `template`'s {rows} becomes one (%s, ...) group per row."""
    group = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    return template.format(rows=", ".join([group] * len(rows))), tuple(v for row in rows for v in row)


@dataclass(frozen=True)
class LedgerStep(Step):
    """Record the objects the run loaded in loaded_objects (a reloaded object's row is replaced), in the
    run's transaction: a run that fails or is killed leaves the ledger as it was."""

    id: str = "ledger"
    timing: str | None = "ledger"

    @staticmethod
    def _work(state: RunState) -> list[tuple[str, list[str], ledger.TablePlan]]:
        """(table, urls whose ledger rows are replaced, plan) of every table that loads objects."""
        return [(table, sorted(o.url for o in plan.reloaded), plan)
                for table, plan in state.tables.items() if plan.to_load]

    @staticmethod
    def _deletes(table: str, replaced: list[str]) -> list[dict]:
        return [{"table_name": table, "object_urls": tuple(chunk)}
                for chunk in _chunks(replaced, sql_queries.LEDGER_ROWS_PER_INSERT)]

    @staticmethod
    def _inserts(rows: list[tuple]) -> list[tuple[str, tuple]]:
        """(statement, parameters) of the multi-row INSERTs that write `rows` (Redshift)."""
        return [_values_insert(sql_queries.loaded_objects_insert, chunk)
                for chunk in _chunks(rows, sql_queries.LEDGER_ROWS_PER_INSERT)]

    def redshift_statements(self, state: RunState) -> list[Statement]:
        out = []
        for table, replaced, plan in self._work(state):
            out += [Statement("loaded_objects_delete", render_params(sql_queries.loaded_objects_delete, p).strip())
                    for p in self._deletes(table, replaced)]
            rows = ledger.ledger_rows(plan, state.run_id or 0, _ledger_time(state))
            out += [Statement("loaded_objects_insert", render_params(sql, params).strip())
                    for sql, params in self._inserts(rows)]
        return out

    def run(self, ctx: RunContext) -> None:
        state = ctx.state
        with ctx.conn.cursor() as cur:
            for table, replaced, plan in self._work(state):
                for params in self._deletes(table, replaced):
                    cur.execute(sql_queries.loaded_objects_delete, params)
                if ctx.wh.is_redshift:
                    for sql, params in self._inserts(ledger.ledger_rows(plan, state.run_id or 0, _ledger_time(state))):
                        cur.execute(sql, params)
                else:
                    text = ledger.ledger_copy_text(plan, state.run_id or 0, _ledger_time(state))
                    cur.copy_expert(sql_queries.loaded_objects_copy, io.StringIO(text))
                log.debug("%s: %d objects recorded in loaded_objects", table, len(plan.to_load))


def _ledger_time(state: RunState) -> datetime:
    """When the run's objects count as loaded: one instant per run (taken the first time it is asked for)."""
    if state.loaded_at is None:
        state.loaded_at = utcnow()
    return state.loaded_at


def _when_loaded(table: str) -> Callable[[RunState], bool]:
    return lambda state: table in state.loaded


@dataclass(frozen=True)
class AnalyzeStep(Step):
    """ANALYZE a table the run changed. Redshift skips one that changed by less than 10 % itself; the PostgreSQL
    engines apply the same threshold here (Warehouse docstring), from the rows the run's statements wrote."""

    table: str
    timing: str | None = "transform"
    when: Callable[[RunState], bool] | None = None  # (as SqlStep.when) the step's section ran

    @property
    def id(self) -> str:  # type: ignore[override]
        return f"analyze_{self.table}"

    def applies(self, state: RunState) -> bool:
        return self.table in state.changed() and (self.when is None or self.when(state))

    def redshift_statements(self, state: RunState) -> list[Statement]:
        if not self.applies(state):
            return []
        return [Statement(self.id, sql_queries.analyze_star_queries[self.table])]

    def run(self, ctx: RunContext) -> None:
        state = ctx.state
        if not self.applies(state):
            return
        if not ctx.wh.is_redshift:
            before = state.previous_totals.get(self.table)
            written = sum(state.rows.get(s, 0) for s in WRITES[self.table])
            if before and written < ANALYZE_THRESHOLD * before:
                log.debug("analyze %s skipped: %d rows written, %d before", self.table, written, before)
                return
        with ctx.conn.cursor() as cur:
            t0 = time.monotonic()
            cur.execute(sql_queries.analyze_star_queries[self.table])
            log.debug("%s done in %.2f s", self.id, time.monotonic() - t0)


@dataclass(frozen=True)
class CountsBeforeStep(Step):
    """The row counts of the star tables the run is about to change (for checks.never_shrinks)."""

    id: str = "counts_before"
    timing: str | None = "counts"

    @staticmethod
    def _counted(state: RunState) -> tuple[str, ...]:
        return tuple(t for t in sql_queries.STAR_TABLES if t in state.changed())

    def redshift_statements(self, state: RunState) -> list[Statement]:
        return [Statement(f"count {t} before", count_query(t)) for t in self._counted(state)]

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            ctx.state.counts_before = fetch_counts(cur, self._counted(ctx.state))


@dataclass(frozen=True)
class CountsStep(Step):
    """Row counts into the report: the tables the run changed are counted, the others come from the previous
    run's totals (etl_runs); staging from what the run loaded. With `tables`, those tables are counted."""

    tables: tuple[str, ...] | None = None
    id: str = "row_counts"
    timing: str | None = "counts"

    def _counted(self, state: RunState) -> tuple[str, ...]:
        if self.tables is not None:
            return self.tables
        changed = state.changed() | state.loaded
        return tuple(t for t in sql_queries.ALL_TABLES if t in changed or
                     (t in sql_queries.STAR_TABLES and t not in state.previous_totals))

    def redshift_statements(self, state: RunState) -> list[Statement]:
        return [Statement(f"count {t}", count_query(t)) for t in self._counted(state)]

    def run(self, ctx: RunContext) -> None:
        counted = self._counted(ctx.state)
        with ctx.conn.cursor() as cur:
            counts = fetch_counts(cur, counted)
        if self.tables is not None:
            ctx.report.row_counts = counts
            return
        ctx.report.row_counts = {t: counts[t] if t in counts else
                                 ctx.state.previous_totals.get(t, ctx.report.staged.get(t, 0))
                                 for t in sql_queries.ALL_TABLES}


@dataclass(frozen=True)
class ChecksStep(Step):
    """The data-quality gate: RUN_CHECKS for what the run loaded, plus checks.never_shrinks; a failure raises
    CheckError and the run rolls back."""

    id: str = "checks"
    timing: str | None = "checks"

    @staticmethod
    def groups(state: RunState) -> list:
        """The RUN_CHECKS groups for what the run loaded; the plays' first-load form when songplays was empty
        before the merge (counted then; the dry run goes by the previous run's totals)."""
        wanted = {"run plays": EVENTS, "run users": EVENTS, "run songs": SONGS}
        groups = [g for g in sql_queries.RUN_CHECKS if wanted[g.name] in state.loaded]
        if state.was_empty("songplays"):
            groups = [sql_queries.RUN_PLAYS_FIRST_LOAD if g.name == "run plays" else g for g in groups]
        return groups

    def redshift_statements(self, state: RunState) -> list[Statement]:
        return [Statement(f"check {g.name}", checks.count_query(g)) for g in self.groups(state)]

    def run(self, ctx: RunContext) -> None:
        with ctx.conn.cursor() as cur:
            results = checks.run_checks(cur, self.groups(ctx.state))
        results += checks.never_shrinks(ctx.state.counts_before, ctx.report.row_counts)
        ctx.report.checks = results
        checks.raise_on_failures(results)


def _run_row(state: RunState, report: EtlReport | None = None) -> dict:
    """The values of the run's etl_runs row (sql_queries.ETL_RUN_COLUMNS)."""
    rows = state.rows
    plans = state.tables.values()
    counts = report.row_counts if report is not None else {}
    staged = report.staged if report is not None else {}
    return {
        "run_id": state.run_id or 0,
        "finished_at": utcnow(),
        "objects_loaded": sum(len(p.to_load) for p in plans),
        "objects_skipped": sum(p.unchanged for p in plans),
        "objects_missing": sum(len(p.missing) for p in plans),
        "staged_events": staged.get(EVENTS, counts.get(EVENTS, 0)) if EVENTS in state.loaded else 0,
        "staged_songs": staged.get(SONGS, counts.get(SONGS, 0)) if SONGS in state.loaded else 0,
        "songplays_added": rows.get("songplay_table_insert", 0),
        "songplays_changed": rows.get("songplay_rematch", 0) + rows.get("songplay_conflict_update", 0),
        "users_merged": rows.get("user_table_insert", 0),
        "songs_merged": rows.get("song_table_insert", 0),
        "artists_merged": rows.get("artist_table_insert", 0),
        "time_added": rows.get("time_table_insert", 0),
        **{f"{t}_rows": counts.get(t, state.previous_totals.get(t, 0)) for t in sql_queries.STAR_TABLES},
    }


def _expected_checks(state: RunState) -> list[checks.CheckResult]:
    """The checks a run passes when it commits (the dry run's rows of etl_run_checks)."""
    results = [checks.CheckResult(c.name, c.description, True, 0, [])
               for g in ChecksStep.groups(state) for c in g.checks]
    return results + checks.never_shrinks({t: 0 for t in CountsBeforeStep._counted(state)}, {})


@dataclass(frozen=True)
class RunChecksRecordStep(Step):
    """Record the checks the run passed in etl_run_checks (the report shows the latest run's)."""

    id: str = "etl_run_checks_insert"
    timing: str | None = None

    @staticmethod
    def _statement(state: RunState, results: list) -> tuple[str, tuple] | None:
        if not results:
            return None
        return _values_insert(sql_queries.etl_run_checks_insert,
                              [(state.run_id or 0, r.name, r.description[:512], r.count) for r in results])

    def redshift_statements(self, state: RunState) -> list[Statement]:
        statement = self._statement(state, _expected_checks(state))
        return [Statement(self.id, render_params(*statement).strip())] if statement else []

    def run(self, ctx: RunContext) -> None:
        statement = self._statement(ctx.state, ctx.report.checks)
        if statement:
            with ctx.conn.cursor() as cur:
                cur.execute(*statement)


@dataclass(frozen=True)
class EtlRunStep(Step):
    """Record the run in etl_runs (its counts are parameters; finished_at is the client's UTC clock)."""

    id: str = "etl_run_insert"
    timing: str | None = None

    def redshift_statements(self, state: RunState) -> list[Statement]:
        return [Statement(self.id, render_params(sql_queries.etl_run_insert, _run_row(state)).strip())]

    def run(self, ctx: RunContext) -> None:
        row = _run_row(ctx.state, ctx.report)
        with ctx.conn.cursor() as cur:
            cur.execute(sql_queries.etl_run_insert, row)
        ctx.report.run_counts = row


# --------------------------------------------------------------------------------------------------
# Plans


def _name_of(statement: str) -> str:
    """The sql_queries variable holding `statement` (or `list_name[i]` for a member of a list), for ids;
    a statement that is not in sql_queries (tests inject some) is named by its first words."""
    for name, value in vars(sql_queries).items():
        if value is statement and not name.startswith("_"):
            return name
    return summarize(statement, 40)


def _plays_stored(state: RunState) -> bool:
    return not state.was_empty("songplays")


def _plays_seen_again(state: RunState) -> bool:
    """Whether the run staged plays that songplays has already (batch_stored_keys_create's row count)."""
    return state.rows.get("batch_stored_keys_create", 0) > 0


# Statements that can only change plays loaded before: skipped when there are none to change.
_NEED_STORED_PLAYS = {id(sql_queries.songplay_rematch): _plays_stored,
                      id(sql_queries.songplay_conflict_update): _plays_seen_again}


def _sql_steps(statements: Sequence[str], timing: str | None = None,
               when: Callable[[RunState], bool] | None = None) -> tuple[Step, ...]:
    """Steps for statements of sql_queries: the star tables' ANALYZE become AnalyzeSteps (the 10 % rule);
    the statements that correct stored plays run only when there are some."""
    analyze = {sql: table for table, sql in sql_queries.analyze_star_queries.items()}

    def condition(statement: str) -> Callable[[RunState], bool] | None:
        needs = _NEED_STORED_PLAYS.get(id(statement))
        if needs is None:
            return when
        return needs if when is None else (lambda state: when(state) and needs(state))

    return tuple(AnalyzeStep(analyze[s], timing or "transform", when) if s in analyze else
                 SqlStep(_name_of(s), s, timing, when=condition(s)) for s in statements)


def create_tables_plan() -> tuple[Step, ...]:
    """create_tables.py: drop, create, count."""
    return (
        *_sql_steps(sql_queries.drop_table_queries),
        *_sql_steps(sql_queries.create_table_queries),
        CountsStep(tables=sql_queries.ALL_TABLES + sql_queries.BOOKKEEPING_TABLES),
    )


def _conflicts_moved_plays(state: RunState) -> bool:
    return state.rows.get("songplay_conflict_update", 0) > 0


def merge_plan() -> tuple[Step, ...]:
    """The merge of what was staged, inside the caller's transaction (the end of etl_plan; merge_staging)."""
    return (
        EtlSettingsStep(),
        CountsBeforeStep(),
        *_sql_steps(sql_queries.song_merge_queries, timing="transform", when=_when_loaded(SONGS)),
        *_sql_steps(sql_queries.event_merge_queries, timing="transform", when=_when_loaded(EVENTS)),
        SqlStep("time_orphans_delete", sql_queries.time_orphans_delete, timing="transform",
                when=_conflicts_moved_plays),
        CountsStep(),
        ChecksStep(),
        EtlRunStep(),
        RunChecksRecordStep(),
    )


def etl_plan() -> tuple[Step, ...]:
    """etl.py: lock and number the run, decide which objects to load, empty staging, COPY, record, merge."""
    return (
        LockStep(),
        RunStartStep(),
        ObjectsStep(),
        *_sql_steps(sql_queries.clear_staging_queries),
        *(CopyStep(t) for t in sql_queries.copy_table_queries),
        LedgerStep(),
        *merge_plan(),
    )


def execute_steps(ctx: RunContext, steps: Sequence[Step]) -> None:
    """Run steps in order in ctx's transaction, adding each one's duration to its timing.

    Emulated COPYs that follow each other overlap: when the first starts, the next ones are prepared
    (sparkify.copy.emulator.prepare_copy), so their files are read and converted while the server ingests
    the first table; each still runs, reports and fails in its own turn."""
    try:
        for i, step in enumerate(steps):
            if isinstance(step, CopyStep) and step.applies(ctx.state) and not ctx.wh.is_redshift \
                    and not ctx.prepared:
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
        if not step.applies(ctx.state):
            continue
        spec = step.spec(ctx.state)
        if spec.manifest:
            continue  # (its manifest is written in its turn)
        ctx.prepared[spec.table] = emulator.prepare_copy(ctx.conn, spec)


def execute_plan(wh: Warehouse, steps: Sequence[Step], *, show_progress: bool = True,
                 state: RunState | None = None) -> EtlReport:
    """Run a plan in one transaction: commit if every step succeeded, else roll back and re-raise."""
    report = EtlReport()
    with wh.transaction() as conn:
        execute_steps(RunContext(wh, conn, report, state or RunState(wh.config), show_progress), steps)
    return report


# --------------------------------------------------------------------------------------------------
# The jobs


def create_tables(config: Config) -> dict[str, int]:
    """Drop and recreate every table. Returns the row counts (all zero) as a proof of life."""
    wh = Warehouse(config)
    log.info("creating tables in the %s", wh.describe())
    counts = execute_plan(wh, create_tables_plan()).row_counts
    log.info("created %d tables: %s", len(sql_queries.create_table_queries), ", ".join(counts))
    return counts


def run_etl(config: Config, *, show_progress: bool = True, reload: bool = False) -> EtlReport:
    """Load the new source objects into staging and merge them into the star schema, atomically (etl_plan).
    `reload`: load every object under the prefixes again, whatever the ledger says. The sources must exist:
    nothing is generated here (etl.py generates the sample data for the built-in default)."""
    wh = Warehouse(config)
    started = time.monotonic()
    log.info("loading into the %s", wh.describe())
    report = execute_plan(wh, etl_plan(), show_progress=show_progress, state=RunState(config, reload=reload))
    report.timings["total"] = time.monotonic() - started
    log.info("etl done in %.1f s: %s", report.timings["total"],
             ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items() if k != "total"))
    return report


def merge_staging(wh: Warehouse, conn, report: EtlReport | None = None) -> EtlReport:
    """Merge whatever staging holds into the star tables, check the result and record the run (in conn's
    transaction), as a run that loaded both staging tables would. Tests stage hand-made batches with it.

    Raises CheckError (and the caller rolls back) when a data-quality check fails.
    """
    report = report if report is not None else EtlReport()
    state = RunState(wh.config, loaded={EVENTS, SONGS})
    ctx = RunContext(wh, conn, report, state)
    with conn.cursor() as cur:
        read_run_start(cur, state)
        report.staged = fetch_counts(cur, sql_queries.STAGING_TABLES)
    execute_steps(ctx, merge_plan())
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
