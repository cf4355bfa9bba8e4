"""The steps of the schema's versions: reading a warehouse's version, the gate a job stops at, the migrations,
and the rows that record the versions reached (sql_queries.versions).

Every job reads the version first (etl.py, analytics.py and create_tables.py --upgrade), through the same
Session as its other statements, so it reads it over whatever transport the warehouse uses; on Redshift the
steps send exactly what they render for the dry run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkify.errors import WarehouseError
from sparkify.pipeline.state import RunState
from sparkify.pipeline.steps import RunContext, Send, StatementStep, Step, chunks, values_insert
from sparkify.schema import SchemaFound, created_rows
from sql_queries import Migration, SchemaGate


@dataclass(frozen=True)
class SchemaTablesStep(StatementStep):
    """sql_queries.schema_tables_select: the toolkit's tables in the warehouse and their columns."""

    def run(self, ctx: RunContext) -> None:
        for send in self.sends(ctx.state):
            self.execute(ctx, send)
            ctx.state.schema = SchemaFound.of(ctx.session.fetchall())


def target_version(state: RunState) -> int:
    """The version the job brings the warehouse to, or needs: the last of its migrations."""
    return state.migrations[-1].version


@dataclass(frozen=True)
class SchemaGateStep(Step):
    """sql_queries.SchemaGate: sends nothing; stops the job (WarehouseError naming the fix) unless the schema read
    before it is the current version (`current`) or one the upgrade can bring up to it."""

    statement: SchemaGate

    def sends(self, state: RunState) -> list[Send]:
        return []

    def run(self, ctx: RunContext) -> None:
        found = ctx.state.schema if ctx.state.schema is not None else SchemaFound()
        problem = found.problem(current=self.statement.current, target=target_version(ctx.state))
        if problem:
            raise WarehouseError(named(problem, ctx.wh))


def named(problem: str, wh) -> str:
    """A SchemaFound.problem with the warehouse it is about named ("the warehouse" -> "the redshift at ...")."""
    return problem.replace("the warehouse", f"the {wh.describe()}", 1)


@dataclass(frozen=True)
class MigrationStep(Step):
    """sql_queries.Migration: its statements, if the warehouse has not reached its version."""

    statement: Migration

    def applies(self, state: RunState) -> bool:
        return state.schema is not None and self.statement in state.schema.applied(state.migrations)

    def sends(self, state: RunState) -> list[Send]:
        m = self.statement
        if not self.applies(state):
            return []
        note = m.note.format(description=m.description)
        steps = [step for step in m.steps if state.applies(step)]  # (a When.POSTGRES step: not to Redshift)
        return [Send(step, f"{m.name} {step.name}", step.sql, note=note if i == 0 else "")
                for i, step in enumerate(steps)]


@dataclass(frozen=True)
class VersionRowsStep(Step):
    """sql_queries.schema_versions_insert: the versions the job reaches (every one for create_tables.py; for the
    upgrade, the one recognised by its tables and each migration applied), at the run's one instant."""

    def rows(self, state: RunState) -> list[tuple]:
        if state.schema is None:  # create_tables.py: the schema it makes is the current one
            return created_rows(state.migrations, state.ledger_time())
        return state.schema.rows(state.migrations, state.ledger_time())

    def sends(self, state: RunState) -> list[Send]:
        s = self.statement
        return [Send(s, s.name, *values_insert(s.sql, chunk), note=s.note)
                for chunk in chunks(self.rows(state), s.rows_per_statement)]
