"""The steps a job's statements become: one per statement of sql_queries' jobs, by its kind.

A step says what the database receives for its statement (`sends(state)`: none, one or several statements
with their parameters, as Redshift receives them) and runs them (`run(ctx)`): on Redshift exactly what
`sends` says, so the dry run, which prints `sends`, shows what runs; on the PostgreSQL engines a few kinds
differ (the settings Redshift is not sent, the ANALYZE threshold; the emulated COPY and the ledger's COPY FROM
STDIN, in sparkify.pipeline.load). `other_sends` are the statements a normal run does not send (a lock held by
another run, a failing COPY or check). What a statement returns, writes or proves goes into the run's state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import sql_queries
from sparkify import checks
from sparkify.config import Config
from sparkify.pipeline.state import RunState
from sparkify.warehouse import ANALYZE_THRESHOLD, Session, Warehouse, lock_statements, render_params, retry_timeout_ms
from sparkify.warehouse import summarize as summarize_sql
from sql_queries import CheckRun, Lock, Params, Result, RowCounts, Scope, Settings, Statement, TruncateEmpty

log = logging.getLogger("sparkify.pipeline")


@dataclass(frozen=True)
class Send:
    """One statement as the database receives it. `label` names it in the dry run (the statement's name, and
    the table or group it is for); `statement` is the declared statement it comes from (None: psycopg2's
    BEGIN, COMMIT, ROLLBACK)."""

    statement: Statement | None
    label: str
    sql: str
    params: dict | tuple | None = None
    note: str = ""  # the dry run's comment before it

    def rendered(self, data_api: bool = False) -> Send:
        """This statement with its parameters as literals, stripped: the dry run's text. psycopg2 sends the
        literals; the Data API sends the statement with named parameters, shown as the literals of their values
        (sparkify.dataapi.params.render_named)."""
        if data_api:
            from sparkify.dataapi.params import render_named

            return replace(self, sql=render_named(self.sql, self.params).strip(), params=None)
        return replace(self, sql=render_params(self.sql, self.params).strip(), params=None)


@dataclass
class RunContext:
    """What a step needs while it runs: the warehouse, the job's session (its one transaction), the run's state."""

    wh: Warehouse
    session: Session
    state: RunState
    show_progress: bool = True
    prepared: dict = field(default_factory=dict)  # staging table -> a COPY converting ahead (sparkify.copy.streaming)
    # set when the running emulated COPY no longer needs the client to itself: the prepared ones then convert
    copy_ahead: threading.Event | None = None

    @property
    def config(self) -> Config:
        return self.wh.config

    @property
    def result(self):
        return self.state.result


def chunks(items: Sequence, size: int) -> list:
    return [items[i:i + size] for i in range(0, len(items), size)]


def statement_chunks(state: RunState, items: Sequence, size: int, statement: Callable[[Sequence], tuple],
                     item_values: Callable[[object], Sequence] = lambda item: item) -> list:
    """`items` cut into the consecutive chunks a statement each: at most `size` items, and over the Data API
    also within its size limit (`statement(chunk)` is the (sql, params) a chunk becomes; `item_values(item)` the
    parameter values one item adds)."""
    if not state.data_api:
        return chunks(items, size)
    from sparkify.dataapi.params import MAX_STATEMENT_BYTES, statement_bytes, values_bytes

    name_length = 16 + len(str(size * 64))  # longer than any name the Data API parameters of a chunk get
    return chunks_within(items, size, lambda chunk: statement_bytes(*statement(chunk)), MAX_STATEMENT_BYTES,
                         estimate=lambda item: values_bytes(item_values(item), name_length))


def chunks_within(items: Sequence, size: int, weight: Callable[[Sequence], int], limit: int,
                  estimate: Callable[[object], int] | None = None) -> list:
    """Consecutive chunks of at most `size` items, each with weight(chunk) at most `limit`. With `estimate` (at
    least what one more item adds to a chunk's weight), a chunk is its first item's weight plus the estimates of
    the next ones, filled in one pass (a little shorter than could be); else each chunk is as long as can be,
    found by bisection. ValueError if one item alone is over the limit."""
    out: list = []
    start = 0
    while start < len(items):
        top = min(size, len(items) - start)
        n = 0
        if estimate is not None and (total := weight(items[start:start + 1])) <= limit:
            n = 1
            while n < top and total + (cost := estimate(items[start + n])) <= limit:
                total, n = total + cost, n + 1
        if not n:
            low, high = 0, top + 1  # the longest chunk that fits is in [low, high)
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if weight(items[start:start + mid]) <= limit else (low, mid)
            n = low
        if n == 0:
            raise ValueError(f"one item weighs {weight(items[start:start + 1]):,}, over the limit of {limit:,}")
        out.append(items[start:start + n])
        start += n
    return out


def values_insert(template: str, rows: Sequence[tuple]) -> tuple[str, tuple]:
    """(statement, parameters) of one multi-row INSERT: `template`'s {rows} becomes one (%s, ...) group per row."""
    group = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    return template.format(rows=", ".join([group] * len(rows))), tuple(v for row in rows for v in row)


def account(state: RunState, statement: Statement, session: Session) -> None:
    """What the statement just executed wrote: rows per table (`writes`), its etl_runs tally, what it proves."""
    rowcount = session.rowcount
    if not isinstance(rowcount, int) or rowcount < 0 or session.description:
        return
    for table in statement.writes:
        state.written[table] = state.written.get(table, 0) + rowcount
    for table in statement.removes:
        state.removed[table] = state.removed.get(table, 0) + rowcount
    if statement.tally:
        state.tallies[statement.tally] = state.tallies.get(statement.tally, 0) + rowcount
    if statement.proves is not None and rowcount > 0:
        state.proven.add(statement.proves)


# The conditions statements prove while a run goes (When.PLAYS_SEEN_AGAIN, ...): the dry run cannot tell them.
PROVEN = {s.proves for s in sql_queries.etl_job if s.proves is not None}


def unforeseeable(statement: Statement) -> bool:
    """Whether the statement runs only under a condition that statements prove while the run goes."""
    return any(c in PROVEN for c in statement.when)


@dataclass(frozen=True)
class Step:
    """One statement of a job. `timing`: the RunResult.timings entry its duration is added to (None: none)."""

    statement: Statement
    timing: str | None = None

    @property
    def name(self) -> str:
        return self.statement.name

    def applies(self, state: RunState) -> bool:
        return state.applies(self.statement)

    def sends(self, state: RunState) -> list[Send]:
        raise NotImplementedError

    def other_sends(self, state: RunState) -> list[Send]:
        """What it sends only on the paths a normal run does not take (none by default)."""
        return []

    def run(self, ctx: RunContext) -> None:
        """Send what `sends` says, keeping what each statement wrote."""
        for send in self.sends(ctx.state):
            self.execute(ctx, send)

    def execute(self, ctx: RunContext, send: Send) -> None:
        t0 = time.monotonic()
        ctx.session.execute(send.sql, send.params, name=send.label)
        account(ctx.state, send.statement, ctx.session)
        log.debug("%s done in %.2f s: %s", send.label, time.monotonic() - t0, summarize_sql(send.sql))


@dataclass(frozen=True)
class StatementStep(Step):
    """A statement sent as written, with what sparkify binds to its parameters (Statement.params), keeping what
    it returns (Statement.result)."""

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        if not self.applies(state):
            return []
        return [Send(s, label, s.sql, params, note) for label, params, note in bindings(s, state)]

    def other_sends(self, state: RunState) -> list[Send]:
        s = self.statement
        return [Send(s, s.name, s.sql)] if unforeseeable(s) else []

    def run(self, ctx: RunContext) -> None:
        for send in self.sends(ctx.state):
            self.execute(ctx, send)
            keep_result(ctx, send)


def bindings(s: Statement, state: RunState) -> list[tuple[str, dict | None, str]]:
    """(label, parameters, note) of each time `s` is sent (Statement.params)."""
    if s.params is None:
        return [(s.name, None, s.note)]
    if s.params is Params.COPY_TABLE:
        out = []
        for copy in sql_queries.copy_table_queries:
            plan = state.tables.get(copy.table)
            note = ""
            if plan is not None:
                gone = (f"; gone since loaded (kept in the warehouse): {', '.join(plan.missing[:3])}"
                        + (", ..." if len(plan.missing) > 3 else "")) if plan.missing else ""
                note = s.note.format(table=plan.table, objects=plan.summary(), prefix=plan.prefix, gone=gone)
            out.append((f"{s.name} {copy.table}", {"table_name": copy.table}, note))
        return out
    if s.params is Params.RELOADED_OBJECTS:
        def params(table: str, urls: Sequence[str]) -> dict:
            return {"table_name": table, "object_urls": tuple(urls)}

        return [(s.name, params(table, chunk), s.note)
                for table, plan in state.tables.items() if plan.to_load
                for chunk in statement_chunks(state, sorted(o.url for o in plan.reloaded),
                                              sql_queries.LEDGER_ROWS_PER_INSERT,
                                              lambda urls, table=table: (s.sql, params(table, urls)),
                                              item_values=lambda url: (url,))]
    if s.params is Params.RUN_ROW:
        return [(s.name, state.run_row(), s.note)]
    raise ValueError(f"{s.name}: its parameters ({s.params}) are bound by its own kind of step")


def keep_result(ctx: RunContext, send: Send) -> None:
    """Keep what the statement returned, as its Statement.result says (and the run row it recorded)."""
    s, session, state = send.statement, ctx.session, ctx.state
    if s.result is Result.RUN_ID:
        state.run_id = int(session.fetchone()[0] or 1)
    elif s.result is Result.PREVIOUS_TOTALS:
        row = session.fetchone() if session.description else None
        state.previous_totals = dict(zip(sql_queries.STAR_TABLES, (int(v or 0) for v in row))) if row else {}
    elif s.result is Result.REPORT_TABLE:
        ctx.result.queries[s.name] = ([d[0] for d in session.description], session.fetchall())
    elif s.result is Result.SCHEMA_VERSION:
        row = session.fetchone()
        state.schema.recorded = int(row[0]) if row and row[0] is not None else None
    elif s.result is Result.LATEST_RUN_CHECKS:
        rows = session.fetchall()
        if rows:
            ctx.result.last_run = (rows[0][0], rows[0][1])
            ctx.result.last_run_checks = [checks.CheckResult(name, description, offenders == 0, offenders, [])
                                          for _, _, name, description, offenders in rows]
    if s.params is Params.RUN_ROW:
        ctx.result.run_counts = send.params


@dataclass(frozen=True)
class LockStep(Step):
    """The ETL lock (sql_queries.Lock): Warehouse.acquire_etl_lock sends the attempt, and once more on a lock
    another run holds."""

    statement: Lock

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        texts = lock_statements(s.first_wait_ms)
        note = s.note.format(first_wait_s=s.first_wait_ms // 1000, retry_ms=retry_timeout_ms(state.config.lock_timeout),
                             lock_timeout=state.config.lock_timeout)
        return [Send(part, part.name, text, note=note if i == 0 else "")
                for i, (part, text) in enumerate(zip(s.attempt, texts))]

    def other_sends(self, state: RunState) -> list[Send]:
        texts = lock_statements(retry_timeout_ms(state.config.lock_timeout))
        return [Send(part, f"{part.name} (retry)", text) for part, text in zip(self.statement.attempt, texts)]

    def run(self, ctx: RunContext) -> None:
        ctx.wh.acquire_etl_lock(ctx.session, ctx.config.lock_timeout, upgrade=ctx.state.upgrade)


@dataclass(frozen=True)
class SettingsStep(Step):
    """Session settings (sql_queries.Settings), one statement each, where their conditions hold."""

    statement: Settings

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        if not self.applies(state):
            return []
        return [Send(s, s.name, s.sql.format(name=name, value=value)) for name, value in s.settings]


@dataclass(frozen=True)
class TruncateEmptyStep(Step):
    """sql_queries.TruncateEmpty, PostgreSQL only: TRUNCATE of those of its tables that hold no rows at this point of
    the run's transaction (each probed first). Redshift is sent nothing, so the dry run shows nothing."""

    statement: TruncateEmpty

    def sends(self, state: RunState) -> list[Send]:
        return []

    def run(self, ctx: RunContext) -> None:
        s = self.statement
        if ctx.wh.is_redshift or not self.applies(ctx.state):
            return
        empty = [table for table in s.tables
                 if ctx.session.execute(s.probe.format(table=sql_queries.quote_ident(table))).fetchone() is None]
        if empty:
            ctx.session.execute(s.sql.format(tables=", ".join(sql_queries.quote_ident(t) for t in empty)))
            log.debug("%s: %s", s.name, ", ".join(empty))


@dataclass(frozen=True)
class AnalyzeStep(Step):
    """ANALYZE a table the run changed. Redshift skips one that changed by less than 10 % itself; the PostgreSQL
    engines apply the same threshold here (sparkify.warehouse), from the rows the run's statements wrote."""

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        return [Send(s, s.name, s.sql, note=s.note)] if self.applies(state) else []

    def run(self, ctx: RunContext) -> None:
        state, table = ctx.state, self.statement.table
        if not ctx.wh.is_redshift and self.applies(state):
            before = state.previous_totals.get(table)
            written = state.written.get(table, 0)
            if before and written < ANALYZE_THRESHOLD * before:
                log.debug("analyze %s skipped: %d rows written, %d before", table, written, before)
                return
        super().run(ctx)


@dataclass(frozen=True)
class CountsStep(Step):
    """Row counts (sql_queries.RowCounts): of its tables, or of those its scope names in this run."""

    statement: RowCounts

    def tables(self, state: RunState) -> tuple[str, ...]:
        s = self.statement
        if s.scope is Scope.BEFORE_MERGE:
            return tuple(t for t in sql_queries.STAR_TABLES if t in state.changed())
        if s.scope is Scope.AFTER_RUN:
            changed = state.changed() | state.loaded
            return tuple(t for t in sql_queries.ALL_TABLES if t in changed or
                         (t in sql_queries.STAR_TABLES and t not in state.previous_totals))
        return s.tables

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        return [Send(s, f"{s.name} {t}", s.sql.format(table=sql_queries.quote_ident(t)), note=s.note if i == 0 else "")
                for i, t in enumerate(self.tables(state))]

    def run(self, ctx: RunContext) -> None:
        state, s = ctx.state, self.statement
        counts = {}
        for table, send in zip(self.tables(state), self.sends(state)):
            counts[table] = ctx.session.execute(send.sql, name=send.label).fetchone()[0]
        if s.scope is Scope.BEFORE_MERGE:
            state.counts_before = counts
        elif s.scope is Scope.AFTER_RUN:  # the tables not counted keep the previous run's totals
            ctx.result.row_counts = {t: counts[t] if t in counts else
                                     state.previous_totals.get(t, ctx.result.staged.get(t, 0))
                                     for t in sql_queries.ALL_TABLES}
        else:
            ctx.result.row_counts = counts


@dataclass(frozen=True)
class ChecksStep(Step):
    """Data-quality checks (sql_queries.CheckRun): one counting statement per group whose conditions hold, a
    few examples of a failing check's offenders; never_shrinks; a failure raises CheckError if it `raises`."""

    statement: CheckRun

    def groups(self, state: RunState) -> list:
        """The groups that run: all their conditions and the statement's hold."""
        if not self.applies(state):
            return []
        return [g for g in self.statement.groups if state.applies(self.statement, g.when)]

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        note = s.note.format(examples=s.examples)
        return [Send(s, f"{s.name} {g.name}", sql_queries.group_counter(g), note=note if i == 0 else "")
                for i, g in enumerate(self.groups(state))]

    def other_sends(self, state: RunState) -> list[Send]:
        s = self.statement
        return [Send(s, f"check_examples {c.name}", sql_queries.check_examples(g, c, s.examples))
                for g in s.groups for c in g.checks]

    def run(self, ctx: RunContext) -> None:
        s, state = self.statement, ctx.state
        if not self.applies(state):
            return
        results = checks.run_checks(ctx.session, self.groups(state), s.examples)
        if s.never_shrinks:
            results += checks.never_shrinks(state.counts_before, ctx.result.row_counts, state.removed)
        ctx.result.checks = results
        state.passed_checks = results
        if s.raises:
            checks.raise_on_failures(results)


def expected_checks(state: RunState) -> list[checks.CheckResult]:
    """The checks a run passes when it commits (what the dry run shows etl_run_checks_insert record)."""
    gate = sql_queries.run_check_groups
    results = [checks.CheckResult(c.name, c.description, True, 0, [])
               for g in ChecksStep(gate).groups(state) for c in g.checks]
    counted = CountsStep(sql_queries.row_counts_before).tables(state)
    return results + (checks.never_shrinks(dict.fromkeys(counted, 0), {}) if gate.never_shrinks else [])


@dataclass(frozen=True)
class ValuesStep(Step):
    """A multi-row INSERT (sql_queries.Values) of the checks the run passed."""

    def rows(self, state: RunState) -> list[tuple]:
        passed = state.passed_checks if state.passed_checks is not None else expected_checks(state)
        return [(state.run_id or 0, r.name, r.description[:512], r.count) for r in passed]

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        return [Send(s, s.name, *values_insert(s.sql, chunk), note=s.note)
                for chunk in statement_chunks(state, self.rows(state), s.rows_per_statement,
                                              lambda rows: values_insert(s.sql, rows))]
