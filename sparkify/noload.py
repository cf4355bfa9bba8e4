"""Each COPY of etl.py run with NOLOAD, in a transaction that is rolled back: etl.py --preflight's proof, by
the warehouse itself, that the loads can read their sources (sql_queries.noload_job).

On Redshift the statements are those of `noload_statements` (the load's COPY, same options, plus NOLOAD), so
Redshift itself proves the role's attachment, bucket policies, KMS keys and the region: what the preflight's
offline reading of the role's policies can only explain. A failure is read back from SYS_LOAD_ERROR_DETAIL
(which Redshift keeps across the rollback; sql_queries.load_errors) and reported as etl.py reports a failed load. On the PostgreSQL engines
the emulated COPY runs with NOLOAD (sparkify.copy.emulator): every file read and converted, rejections
written to sys_load_error_detail, nothing inserted.

A server that is not Redshift with ENGINE = redshift (a PostgreSQL standing in, in tests) cannot run
Redshift's COPY: the check says so instead of failing on the syntax.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sql_queries
from sparkify.config import Config
from sparkify.copy.spec import CopySpec, bind
from sparkify.errors import LoadError
from sparkify.pipeline.state import RunState
from sparkify.warehouse import Session
from sql_queries import Copy, Result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NoloadResult:
    table: str
    source: str
    outcome: str  # "ok" | "rejected" (within MAXERROR) | "failed" | "skipped"
    message: str
    rejected: int = 0


def noload_copies() -> list[Copy]:
    """The COPYs of sql_queries.noload_job, in order."""
    return [s for s in sql_queries.noload_job if isinstance(s, Copy)]


def noload_specs(config: Config) -> list[CopySpec]:
    """etl.py's COPYs with NOLOAD, bound to `config`."""
    return [bind(copy, config) for copy in noload_copies()]


def noload_statements(config: Config) -> list[str]:
    """The statements Redshift receives for each COPY ... NOLOAD (each in its own transaction, rolled back)."""
    from sparkify.copy.redshift import render_copy

    return [render_copy(spec) for spec in noload_specs(config)]


def server_is_redshift(session: Session) -> tuple[bool, str]:
    """(whether the server is Redshift, its version text): sql_queries.server_version, then rollback."""
    version = str(session.execute(sql_queries.server_version.sql, name=sql_queries.server_version.name).fetchone()[0])
    session.rollback()
    return "redshift" in version.lower(), version


def run_redshift(session: Session, copy: Copy, spec: CopySpec) -> NoloadResult:
    """COPY ... NOLOAD on Redshift and the statements of its `then`, then rollback; on failure its `on_failure`
    (the load errors)."""
    import psycopg2

    from sparkify.copy.redshift import format_load_errors, render_copy

    rejected = 0
    try:
        session.execute(render_copy(spec), name=copy.name)
        for then in copy.then:
            value = session.execute(then.sql, name=then.name).fetchone()[0]
            if then.result is Result.REJECTED:
                rejected = int(value or 0)
    except psycopg2.Error as exc:
        session.rollback()  # a failed COPY aborts the transaction; its load errors survive the rollback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        rows: list[dict] = []
        try:
            for failure in copy.on_failure:
                session.execute(failure.sql, name=failure.name)
                if failure.result is Result.LOAD_ERRORS:
                    cols = [d[0] for d in session.description]
                    rows = [dict(zip(cols, r)) for r in session.fetchall()]
        except psycopg2.Error:
            pass
        session.rollback()
        message = format_load_errors(spec.table, rows, spec.maxerror) if rows else f"{spec.table}: COPY failed: {first}"
        return NoloadResult(spec.table, spec.source, "failed", message, rejected=len(rows))
    session.rollback()
    if rejected:
        return NoloadResult(spec.table, spec.source, "rejected",
                            f"{rejected} record(s) would be rejected (MAXERROR {spec.maxerror}; see "
                            f"{sql_queries.LOAD_ERRORS_VIEW})",
                            rejected=rejected)
    return NoloadResult(spec.table, spec.source, "ok", "no record rejected")


def run_emulated(wh, conn, spec: CopySpec) -> NoloadResult:
    """The emulated COPY with NOLOAD on a PostgreSQL engine, in conn's transaction, then rollback."""
    from sparkify.copy import emulator

    try:
        result = emulator.emulate_copy(conn, spec, error_conn_factory=lambda: wh.connect(autocommit=True))
    except LoadError as exc:
        conn.rollback()
        return NoloadResult(spec.table, spec.source, "failed", str(exc), rejected=len(exc.rejected))
    conn.rollback()
    counts = f"{result.files} files, {result.loaded} rows would load"
    if result.rejected:
        return NoloadResult(spec.table, spec.source, "rejected",
                            f"{counts}, {result.rejected} record(s) would be rejected (MAXERROR {spec.maxerror}; "
                            f"see {sql_queries.LOAD_ERRORS_VIEW})", rejected=result.rejected)
    return NoloadResult(spec.table, spec.source, "ok", f"{counts}, none rejected")


def run_all(config: Config) -> list[NoloadResult]:
    """sql_queries.noload_job: every COPY of etl.py with NOLOAD, each rolled back (on ENGINE = redshift, only if
    the server says it is Redshift). Raises what connecting raises."""
    from sparkify.warehouse import Warehouse

    wh = Warehouse(config)
    state = RunState(config)
    conn = wh.connect()
    session = wh.session(conn)
    results: list[NoloadResult] = []
    try:
        for statement in sql_queries.noload_job:
            if not state.applies(statement):
                continue
            if statement.result is Result.SERVER_VERSION:
                is_redshift, version = server_is_redshift(session)
                if not is_redshift:
                    return [NoloadResult(spec.table, spec.source, "skipped",
                                         f"the server is not Redshift ({version.split(',')[0]}): COPY ... NOLOAD "
                                         f"not run") for spec in noload_specs(config)]
            elif isinstance(statement, Copy):
                spec = bind(statement, config)
                results.append(run_redshift(session, statement, spec) if wh.is_redshift else
                               run_emulated(wh, conn, spec))
        return results
    finally:
        conn.rollback()
        conn.close()
