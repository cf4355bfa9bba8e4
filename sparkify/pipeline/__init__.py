"""The jobs behind create_tables.py and etl.py, each a plan of sql_queries' statements run in one transaction.

create_tables: DROP then CREATE every table at the current schema version, record it, then count them.
upgrade: bring a warehouse made by an earlier release to the current schema version in place (its
  migrations and their records in one transaction, under the ETL lock), every row and the ledger kept.
run_etl: one transaction that
  1. takes the ETL lock (a second run waits, bounded, then fails clearly) and numbers the run;
  2. lists the source prefixes and reads the load ledger: only new or changed objects are COPYed
     (sparkify.ledger; every object again with `reload`), into emptied staging tables, and recorded
     in the ledger;
  3. merges what was staged into the star schema, analyzes the tables it changed, counts them;
  4. runs the data-quality checks on the keys the run touched plus the never-shrinks invariant, and records
     the run in etl_runs and the checks it passed in etl_run_checks;
and commits only if every step succeeded: a failure at any point (a killed process included) leaves the
warehouse, its ledger included, as it was.

The modules: `state` (what decides the statements, what a run returns), `steps` and `load` (what each kind of
statement sends and does), `plans` (the jobs of sql_queries as steps; what the dry run renders), `executor`
(a plan in one transaction).
"""

from __future__ import annotations

import logging
import time

import sql_queries
from sparkify.config import Config
from sparkify.pipeline.executor import execute_plan, execute_steps
from sparkify.pipeline.plans import create_tables_plan, etl_plan, merge_plan, plan_of, upgrade_plan
from sparkify.pipeline.state import EVENTS, SONGS, RunResult, RunState
from sparkify.pipeline.steps import RunContext
from sparkify.schema import SchemaFound
from sparkify.warehouse import Warehouse, fetch_counts

log = logging.getLogger(__name__)


def create_tables(config: Config) -> dict[str, int]:
    """Drop and recreate every table. Returns the row counts (all zero) as a proof of life."""
    wh = Warehouse(config)
    log.info("creating tables in the %s", wh.describe())
    return execute_plan(wh, create_tables_plan(), RunState(config)).row_counts


def upgrade(config: Config, migrations=sql_queries.MIGRATIONS) -> tuple[SchemaFound, list]:
    """Bring the warehouse to the last of `migrations` in place (sql_queries.upgrade_job): (the schema it was
    found at, the migrations applied, in order; none if it was current). WarehouseError, with the fix, for a
    warehouse whose version is unknown or newer; nothing changes then, nor on any other failure."""
    wh = Warehouse(config)
    log.info("upgrading the schema of the %s", wh.describe())
    state = RunState(config, upgrade=True, migrations=tuple(migrations))
    execute_plan(wh, upgrade_plan(migrations), state)
    applied = state.schema.applied(state.migrations)
    log.info("schema: was %s; %s", state.schema.describe(),
             f"applied {', '.join(str(m.version) for m in applied)}" if applied else "nothing to apply")
    return state.schema, applied


def run_etl(config: Config, *, show_progress: bool = True, reload: bool = False) -> RunResult:
    """Load the new source objects into staging and merge them into the star schema, atomically (etl_plan).
    `reload`: load every object under the prefixes again, whatever the ledger says. The sources must exist:
    nothing is generated here (etl.py generates the sample data for the built-in default)."""
    wh = Warehouse(config)
    started = time.monotonic()
    log.info("loading into the %s", wh.describe())
    result = execute_plan(wh, etl_plan(), RunState(config, reload=reload), show_progress=show_progress)
    result.timings["total"] = time.monotonic() - started
    log.info("etl done in %.1f s: %s", result.timings["total"],
             ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items() if k != "total"))
    return result


def merge_staging(wh: Warehouse, conn, result: RunResult | None = None) -> RunResult:
    """Merge whatever staging holds into the star tables, check the result and record the run (in conn's
    transaction), as a run that loaded both staging tables would. Tests stage hand-made batches with it.

    Raises CheckError (and the caller rolls back) when a data-quality check fails.
    """
    state = RunState(wh.config, loaded={EVENTS, SONGS}, result=result if result is not None else RunResult())
    ctx = RunContext(wh, wh.session(conn), state)
    execute_steps(ctx, plan_of(sql_queries.etl_start_queries))
    state.result.staged = fetch_counts(ctx.session, sql_queries.STAGING_TABLES)
    execute_steps(ctx, merge_plan())
    return state.result


__all__ = ("RunResult", "RunState", "create_tables", "etl_plan", "merge_staging", "run_etl", "upgrade")
