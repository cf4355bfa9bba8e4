"""Each COPY of etl.py run with NOLOAD, in a transaction that is rolled back: etl.py --preflight's proof, by
the warehouse itself, that the loads can read their sources.

On Redshift the statements are those of `noload_statements` (the load's COPY, same options, plus NOLOAD), so
Redshift itself proves the role's attachment, bucket policies, KMS keys and the region: what the preflight's
offline reading of the role's policies can only explain. A failure is read back from stl_load_errors (which
Redshift keeps across the rollback) and reported as etl.py reports a failed load. On the PostgreSQL engines
the emulated COPY runs with NOLOAD (sparkify.copy.emulator): every file read and converted, rejections
written to stl_load_errors, nothing inserted.

A server that is not Redshift with ENGINE = redshift (a PostgreSQL standing in, in tests) cannot run
Redshift's COPY: the check says so instead of failing on the syntax.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import sql_queries
from sparkify.config import Config
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NoloadResult:
    table: str
    source: str
    outcome: str  # "ok" | "rejected" (within MAXERROR) | "failed" | "skipped"
    message: str
    rejected: int = 0


def noload_specs(config: Config) -> list[CopySpec]:
    """etl.py's COPYs (sql_queries.copy_table_queries, bound to `config`) with NOLOAD."""
    return [dataclasses.replace(t.bind(config), noload=True) for t in sql_queries.copy_table_queries]


def noload_statements(config: Config) -> list[str]:
    """The statements Redshift receives for each COPY ... NOLOAD (each in its own transaction, rolled back)."""
    from sparkify.copy.redshift import render_copy

    return [render_copy(spec) for spec in noload_specs(config)]


def server_is_redshift(conn) -> tuple[bool, str]:
    """(whether `conn` is a Redshift server, its version text)."""
    with conn.cursor() as cur:
        cur.execute("select version()")
        version = str(cur.fetchone()[0])
    conn.rollback()
    return "redshift" in version.lower(), version


def run_redshift(conn, spec: CopySpec) -> NoloadResult:
    """COPY ... NOLOAD on Redshift, then rollback; on failure read stl_load_errors for it."""
    import psycopg2

    from sparkify.copy.redshift import LOAD_ERRORS_QUERY, format_load_errors, render_copy

    statement = render_copy(spec)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            cur.execute(sql_queries.copy_rejected_count)
            rejected = int(cur.fetchone()[0] or 0)
    except psycopg2.Error as exc:
        conn.rollback()  # a failed COPY aborts the transaction; stl_load_errors survives the rollback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        rows: list[dict] = []
        try:
            with conn.cursor() as cur:
                cur.execute(LOAD_ERRORS_QUERY)
                cols = [d[0] for d in cur.description]
                rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        except psycopg2.Error:
            pass
        conn.rollback()
        message = format_load_errors(spec.table, rows, spec.maxerror) if rows else f"{spec.table}: COPY failed: {first}"
        return NoloadResult(spec.table, spec.source, "failed", message, rejected=len(rows))
    conn.rollback()
    if rejected:
        return NoloadResult(spec.table, spec.source, "rejected",
                            f"{rejected} record(s) would be rejected (MAXERROR {spec.maxerror}; see stl_load_errors)",
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
                            f"see stl_load_errors)", rejected=result.rejected)
    return NoloadResult(spec.table, spec.source, "ok", f"{counts}, none rejected")


def run_all(config: Config) -> list[NoloadResult]:
    """Every COPY of etl.py with NOLOAD, each rolled back. Raises what connecting raises."""
    from sparkify.warehouse import Warehouse

    wh = Warehouse(config)
    conn = wh.connect()
    try:
        if config.engine == "redshift":
            is_redshift, version = server_is_redshift(conn)
            if not is_redshift:
                return [NoloadResult(spec.table, spec.source, "skipped",
                                     f"the server is not Redshift ({version.split(',')[0]}): COPY ... NOLOAD "
                                     f"not run") for spec in noload_specs(config)]
            return [run_redshift(conn, spec) for spec in noload_specs(config)]
        return [run_emulated(wh, conn, spec) for spec in noload_specs(config)]
    finally:
        conn.rollback()
        conn.close()
