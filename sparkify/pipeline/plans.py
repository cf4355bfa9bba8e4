"""The jobs of sql_queries as plans: one step per statement, in the job's order, by the statement's kind.

The executor runs a plan; the dry run renders the same plan (`render`), so the order printed is the order
that runs. Each step's timing is the RunResult.timings entry its duration adds to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sql_queries
from sparkify.pipeline.load import CopyStep, LedgerInsertStep, ObjectsStep
from sparkify.pipeline.state import STAGED, RunState
from sparkify.pipeline.steps import (
    AnalyzeStep,
    ChecksStep,
    CountsStep,
    LockStep,
    Send,
    SettingsStep,
    StatementStep,
    Step,
    TruncateEmptyStep,
    ValuesStep,
)
from sparkify.pipeline.upgrade import MigrationStep, SchemaGateStep, SchemaTablesStep, VersionRowsStep
from sql_queries import (
    Analyze,
    CheckRun,
    Copy,
    Lock,
    Migration,
    Params,
    Result,
    RowCounts,
    SchemaGate,
    Settings,
    Statement,
    TruncateEmpty,
    Values,
)

# The step of each kind of statement; a plain Statement's step follows from what its result is for.
_KIND_STEPS: dict[type, type[Step]] = {
    Lock: LockStep, Copy: CopyStep, RowCounts: CountsStep, Settings: SettingsStep, Analyze: AnalyzeStep,
    TruncateEmpty: TruncateEmptyStep, CheckRun: ChecksStep, Migration: MigrationStep, SchemaGate: SchemaGateStep,
}
_VALUES_STEPS: dict[Params, type[Step]] = {Params.LOADED_OBJECTS: LedgerInsertStep,
                                           Params.SCHEMA_VERSION_ROWS: VersionRowsStep}
_RESULT_STEPS: dict[Result, type[Step]] = {Result.LEDGER: ObjectsStep, Result.SCHEMA_TABLES: SchemaTablesStep}


def step_for(statement: Statement, timing: str | None = None) -> Step:
    """The step that runs `statement`, by its kind (and, for the ledger's, by what is bound to it)."""
    if isinstance(statement, Values):
        step = _VALUES_STEPS.get(statement.params, ValuesStep)
    else:
        step = _KIND_STEPS.get(type(statement)) or _RESULT_STEPS.get(statement.result, StatementStep)
    return step(statement, timing)


def etl_timing(statement: Statement) -> str | None:
    """Where the duration of a statement of etl.py (or create_tables.py) is reported."""
    if isinstance(statement, Copy):
        return f"copy {statement.table}"
    if isinstance(statement, (Lock, SchemaGate)) or statement.result in (
            Result.RUN_ID, Result.PREVIOUS_TOTALS, Result.SCHEMA_TABLES, Result.SCHEMA_VERSION):
        return "lock"  # (the run's start: the lock, the schema's version, the run's id)
    if statement.result is Result.LEDGER:
        return "objects"
    if statement.params in (Params.RELOADED_OBJECTS, Params.LOADED_OBJECTS):
        return "ledger"
    if isinstance(statement, RowCounts):
        return "counts"
    if isinstance(statement, CheckRun):
        return "checks"
    if statement in sql_queries.report_statements:
        return "report"  # the report's tables (sql_queries.report_tables)
    if isinstance(statement, (Settings, TruncateEmpty)) or any(c in STAGED for c in statement.when):
        return "transform"  # the merge of what was staged
    return None


def analytics_timing(statement: Statement) -> str:
    return "checks" if isinstance(statement, CheckRun) else "queries"


def plan_of(statements: Iterable[Statement], timing: Callable[[Statement], str | None] = etl_timing) -> tuple[Step, ...]:
    return tuple(step_for(s, timing(s)) for s in statements)


def create_tables_plan() -> tuple[Step, ...]:
    return plan_of(sql_queries.create_tables_job)


def etl_plan() -> tuple[Step, ...]:
    return plan_of(sql_queries.etl_job)


def merge_plan() -> tuple[Step, ...]:
    """The end of etl.py's plan: the merge of what was staged, the checks and the run's record."""
    return plan_of(sql_queries.merge_queries)


def analytics_plan() -> tuple[Step, ...]:
    return plan_of(sql_queries.analytics_job, analytics_timing)


def upgrade_plan(migrations=sql_queries.MIGRATIONS) -> tuple[Step, ...]:
    """create_tables.py --upgrade (sql_queries.upgrade_job_of these migrations)."""
    return plan_of(sql_queries.upgrade_job_of(migrations), lambda s: "upgrade")


def render(plan: Iterable[Step], state: RunState) -> list[Send]:
    """What Redshift receives from `plan` in `state`, as the dry run prints it (parameters as literals)."""
    return [send.rendered(state.data_api) for step in plan for send in step.sends(state)]


def render_other_paths(plan: Iterable[Step], state: RunState) -> list[Send]:
    """What `plan` sends only on the paths a normal run does not take, each once."""
    out: list[Send] = []
    for step in plan:
        for send in step.other_sends(state):
            send = send.rendered(state.data_api)
            if not any(s.label == send.label and s.sql == send.sql for s in out):
                out.append(send)
    return out
