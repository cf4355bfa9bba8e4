"""The steps of etl.py that load staging: which objects each COPY loads (the listing of its prefix against the
load ledger), the COPYs (Redshift's, or the emulation on the PostgreSQL engines), and the ledger's new rows.

Redshift receives exactly what each step's `sends` says; the PostgreSQL engines run the emulated COPY
(sparkify.copy.emulator) and send the ledger's rows with COPY FROM STDIN.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import sql_queries
from sparkify import ledger
from sparkify.copy.spec import CopySpec, bind, prefix_not_found, setting_of
from sparkify.errors import LoadError
from sparkify.pipeline.state import RunState
from sparkify.pipeline.steps import RunContext, Send, StatementStep, Step, statement_chunks, values_insert
from sparkify.warehouse import Session
from sql_queries import Copy, Result, RowCounts, Values

log = logging.getLogger("sparkify.pipeline")

PROGRESS_LOG_EVERY = 3.0  # seconds between two progress lines of a COPY


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


def ledger_reader(session: Session) -> Callable[[str], list]:
    """fetch_ledger for plan_objects: sql_queries.loaded_objects_select of one staging table on `session`."""
    select = sql_queries.loaded_objects_select

    def fetch(table: str) -> list:
        return session.execute(select.sql, {"table_name": table}, name=f"{select.name} {table}").fetchall()

    return fetch


@dataclass(frozen=True)
class ObjectsStep(StatementStep):
    """Which objects each COPY loads: the ledger of its staging table (sql_queries.loaded_objects_select)
    against the listing of its prefix."""

    def run(self, ctx: RunContext) -> None:
        state = ctx.state
        plan_objects(state, ledger_reader(ctx.session))
        ctx.result.objects = dict(state.tables)
        settings = {copy.table: setting_of(copy) for copy in sql_queries.copy_table_queries}
        for plan in state.tables.values():
            if not plan.listed:  # as Redshift's COPY: a prefix that matches nothing is an error, not a no-op
                gone = f" ({len(plan.missing)} object(s) loaded before are gone)" if plan.missing else ""
                raise LoadError(f"{plan.table}: no object to COPY: "
                                f"{prefix_not_found(plan.prefix, settings.get(plan.table, ''), gone)}",
                                table=plan.table)
            log.info("%s: %s under %s", plan.table, plan.summary(), plan.prefix)
            if plan.missing:
                shown = ", ".join(plan.missing[:3]) + (", …" if len(plan.missing) > 3 else "")
                log.warning("%s: %d object(s) loaded before are gone from %s (their rows stay in the warehouse): %s",
                            plan.table, len(plan.missing), plan.prefix, shown)
        if ctx.wh.is_redshift and not ctx.config.s3.manifest_prefix:
            waiting = [p for p in state.tables.values() if p.to_load and p.unchanged]
            if waiting:
                log.warning("[S3] MANIFEST_PREFIX is not set: COPY reads the whole prefix again for %s, unchanged "
                            "objects included; set it to an s3:// location the cluster's role can read to load only "
                            "the new objects", ", ".join(f"{p.table} ({p.summary()})" for p in waiting))


@dataclass(frozen=True)
class CopyStep(Step):
    """COPY one staging table's new objects (sql_queries.Copy), then the statements of its `then`: the real COPY
    on Redshift, the emulation on the PostgreSQL engines. Skipped when the table has nothing new."""

    statement: Copy

    def spec(self, state: RunState) -> CopySpec:
        """The COPY this run sends: from the run's manifest, else (Redshift) the whole prefix, else (emulated)
        the list of the new objects (ledger.ListedObject has what the emulator reads of a source file: url,
        key, size). Made once per run."""
        table = self.statement.table
        if table in state.specs:
            return state.specs[table]
        spec = bind(self.statement, state.config)
        manifest = state.manifests.get(table)
        plan = state.tables[table]
        if manifest:
            spec = replace(spec, source=manifest, manifest=True)
        elif not (state.is_redshift or plan.listing_error is not None):
            spec = replace(spec, files=tuple(plan.to_load))
        state.specs[table] = spec
        return spec

    def sends(self, state: RunState) -> list[Send]:
        from sparkify.copy.redshift import render_copy

        s = self.statement
        if not self.applies(state):
            return []
        if s.table in state.manifests:
            source = (f"the run's manifest of its {len(state.tables[s.table].to_load)} new or changed objects "
                      "(written to S3 first)")
        elif state.config.s3.manifest_prefix:  # (the prefix could not be listed: no manifest to write)
            source = "the whole prefix (its objects could not be listed, so the run has no manifest of the new ones)"
        else:
            source = "the whole prefix ([S3] MANIFEST_PREFIX is not set, so unchanged objects are read again too)"
        out = [Send(s, s.name, render_copy(self.spec(state)), note=s.note.format(table=s.table, source=source))]
        for then in s.then:
            if isinstance(then, RowCounts):
                out.append(Send(then, f"{then.name} {s.table}", then.sql.format(table=sql_queries.quote_ident(s.table))))
            else:
                out.append(Send(then, then.name, then.sql))
        return out

    def other_sends(self, state: RunState) -> list[Send]:
        return [Send(f, f.name, f.sql) for f in self.statement.on_failure]

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
        ctx.result.staged[spec.table] = loaded
        ctx.result.rejected[spec.table] = rejected

    def _redshift_copy(self, ctx: RunContext, spec: CopySpec) -> tuple[int, int]:
        """Send what `sends` shows. A failed COPY aborts Redshift's transaction (and Redshift has no SAVEPOINT):
        roll it back, then read the load errors (on_failure) in the same session."""
        import psycopg2

        from sparkify.copy.redshift import format_load_errors

        copy, *then = self.sends(ctx.state)
        session = ctx.session
        log.info("%s: COPY from %s", spec.table, spec.source)
        try:
            session.execute(copy.sql, name=copy.label)
        except psycopg2.Error as exc:
            session.rollback()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            rows: list[dict] = []
            for failure in self.statement.on_failure:
                try:
                    session.execute(failure.sql, name=failure.name)
                    if failure.result is Result.LOAD_ERRORS:
                        cols = [d[0] for d in session.description]
                        rows = [dict(zip(cols, r)) for r in session.fetchall()]
                except psycopg2.Error:
                    session.rollback()
            raise LoadError(
                format_load_errors(spec.table, rows, spec.maxerror) if rows
                else f"{spec.table}: COPY failed: {first}",
                table=spec.table, rejected=rows,
            ) from None
        loaded = rejected = 0
        for send in then:
            value = session.execute(send.sql, name=send.label).fetchone()[0]
            if send.statement.result is Result.REJECTED:
                rejected = value
            elif isinstance(send.statement, RowCounts):
                loaded = value
        if rejected:
            log.warning("%s: COPY skipped %d records (MAXERROR %d); see %s", spec.table, rejected,
                        spec.maxerror, sql_queries.LOAD_ERRORS_VIEW)
        return loaded, rejected

    def _emulated_copy(self, ctx: RunContext, spec: CopySpec) -> tuple[int, int]:
        from sparkify.copy import emulator

        progress = ProgressLog(spec.table) if ctx.show_progress else None
        result = emulator.emulate_copy(
            ctx.session.conn, spec, error_conn_factory=lambda: ctx.wh.connect(autocommit=True), progress=progress,
            prepared=ctx.prepared.pop(spec.table, None), ahead=ctx.copy_ahead,
        )
        if result.rejected:
            log.warning("%s: %d records rejected (MAXERROR %d); see the %s table",
                        spec.table, result.rejected, spec.maxerror, sql_queries.LOAD_ERRORS_VIEW)
        log.info("%s: %d rows from %d files in %.1f s", spec.table, result.loaded, result.files, result.seconds)
        return result.loaded, result.rejected


def write_manifest(state: RunState, table: str, url: str) -> None:
    """Write the run's manifest of `table` (its new objects) to `url` on S3."""
    from sparkify.copy.sources import s3_client

    config = state.config
    document = ledger.manifest_document(state.tables[table].to_load)
    ledger.write_manifest(s3_client(config.s3.endpoint_url, config.s3.region), url, document)
    log.info("%s: wrote the COPY manifest %s (%d objects)", table, url, len(state.tables[table].to_load))


@dataclass(frozen=True)
class LedgerInsertStep(Step):
    """The ledger's rows for the objects the run loaded (sql_queries.loaded_objects_insert), in the run's
    transaction: multi-row INSERTs on Redshift, its `postgres` statement (COPY FROM STDIN) elsewhere."""

    statement: Values

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        return [Send(s, s.name, *values_insert(s.sql, chunk), note=s.note)
                for plan in state.tables.values() if plan.to_load
                for chunk in statement_chunks(state, ledger.ledger_rows(plan, state.run_id or 0, state.ledger_time()),
                                              s.rows_per_statement, lambda rows: values_insert(s.sql, rows))]

    def run(self, ctx: RunContext) -> None:
        s, state = self.statement, ctx.state
        if ctx.wh.is_redshift or s.postgres is None:
            super().run(ctx)
            return
        from sparkify.copy.streaming import ChunkReader

        for plan in state.tables.values():
            if plan.to_load:
                chunks = ledger.ledger_copy_chunks(plan, state.run_id or 0, state.ledger_time())
                ctx.session.copy_in(s.postgres.sql, ChunkReader(chunks))
                log.debug("%s: %d objects recorded in loaded_objects", plan.table, len(plan.to_load))


class ProgressLog:
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
