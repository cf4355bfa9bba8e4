"""What decides the statements of a job's run, and what the run returns.

A RunState holds what the run has learned so far (its id, the previous run's totals, the objects each COPY
loads, what it staged, the rows its statements wrote) and evaluates the conditions sql_queries declares
(`When`) against it. The dry run builds the same state, read only, so it renders what the run would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sql_queries
from sparkify import ledger
from sparkify.config import Config
from sparkify.copy.spec import CopySpec
from sparkify.schema import SchemaFound
from sql_queries import Statement, When

EVENTS, SONGS = "staging_events", "staging_songs"
# The staging table whose load each staging condition means.
STAGED = {When.EVENTS_STAGED: EVENTS, When.SONGS_STAGED: SONGS}


@dataclass
class RunResult:
    """What create_tables.py and etl.py report: what the run loaded, merged, counted, checked, and how long it took."""

    staged: dict[str, int] = field(default_factory=dict)  # staging table -> rows loaded
    rejected: dict[str, int] = field(default_factory=dict)  # staging table -> records skipped (MAXERROR)
    objects: dict[str, ledger.TablePlan] = field(default_factory=dict)  # staging table -> objects of the run
    run_counts: dict[str, object] = field(default_factory=dict)  # the run's etl_runs row
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)  # step (statement) name -> seconds, in the order run
    checks: list = field(default_factory=list)


@dataclass
class RunState:
    """What decides a run's statements (the dry run builds one the same way, read only), and where its result goes."""

    config: Config
    reload: bool = False  # etl.py --reload: every object is loaded again
    checks_asked: bool = False  # analytics.py --check
    upgrade: bool = False  # create_tables.py --upgrade
    run_id: int | None = None
    previous_totals: dict[str, int] = field(default_factory=dict)  # star table -> rows after the last run
    tables: dict[str, ledger.TablePlan] = field(default_factory=dict)  # staging table -> objects to load
    loaded: set[str] = field(default_factory=set)  # staging tables this run loaded
    manifests: dict[str, str] = field(default_factory=dict)  # staging table -> the run's manifest (s3:// sources)
    loaded_at: datetime | None = None  # when the run's objects count as loaded (ledger rows)
    counts_before: dict[str, int] = field(default_factory=dict)  # changed star tables' rows before the merge
    specs: dict[str, CopySpec] = field(default_factory=dict)  # staging table -> its COPY this run
    proven: set[When] = field(default_factory=set)  # conditions a statement proved by writing rows
    written: dict[str, int] = field(default_factory=dict)  # table -> rows the run's statements wrote
    removed: dict[str, int] = field(default_factory=dict)  # table -> rows deleted for good (Statement.removes)
    tallies: dict[str, int] = field(default_factory=dict)  # etl_runs column -> rows (Statement.tally)
    passed_checks: list | None = None  # the checks the run passed (None: not run yet; the dry run's expectation)
    schema: SchemaFound | None = None  # the warehouse's schema version, once read (sql_queries.schema_version_queries)
    migrations: tuple = sql_queries.MIGRATIONS  # the schema versions after the first (tests bring their own)
    result: Any = field(default_factory=RunResult)  # RunResult, or the analysts' report (sparkify.reports)

    @property
    def is_redshift(self) -> bool:
        return self.config.engine == "redshift"

    @property
    def data_api(self) -> bool:
        """[CLUSTER] TRANSPORT = data-api: the statements must fit the Data API's size limit."""
        return self.config.cluster is not None and self.config.cluster.data_api

    def holds(self, condition: When, statement: Statement) -> bool:
        """Whether `condition` holds now, for `statement` (OBJECTS_TO_LOAD is about its table)."""
        if condition in STAGED:
            return STAGED[condition] in self.loaded
        if condition is When.ANY_STAGED:
            return bool(self.loaded)
        if condition is When.SONGPLAYS_HAD_ROWS:
            return not self.was_empty("songplays")
        if condition is When.SONGPLAYS_WAS_EMPTY:
            return self.was_empty("songplays")
        if condition in (When.PLAYS_SEEN_AGAIN, When.PLAYS_CORRECTED, When.PLAYS_CHANGED):
            return condition in self.proven
        if condition is When.OBJECTS_TO_LOAD:
            plan = self.tables.get(statement.table)
            return plan is not None and (bool(plan.to_load) or plan.listing_error is not None)
        if condition is When.POSTGRES:
            return not self.is_redshift
        if condition is When.REDSHIFT:
            return self.is_redshift
        if condition is When.CHECKS_ASKED:
            return self.checks_asked
        if condition is When.CHECKS_NOT_ASKED:
            return not self.checks_asked
        if condition is When.SCHEMA_VERSIONED:
            return self.schema is not None and self.schema.versioned
        raise ValueError(f"no rule for {condition}")

    def applies(self, statement: Statement, conditions: tuple[When, ...] | None = None) -> bool:
        """Whether every condition of `statement` (or `conditions`) holds."""
        return all(self.holds(c, statement) for c in (statement.when if conditions is None else conditions))

    def changed(self) -> set[str]:
        """The tables this run changes: those written by the statements of etl.py that run for what it staged."""
        return {table for statement in sql_queries.etl_job for table in statement.writes
                if (staged := [c for c in statement.when if c in STAGED])
                and all(STAGED[c] in self.loaded for c in staged)}

    def was_empty(self, table: str) -> bool:
        """Whether `table` had no rows before the run's merge: counted then (row_counts_before); the dry run,
        which counts nothing, goes by the previous run's totals (none: a first load)."""
        return self.counts_before.get(table, self.previous_totals.get(table, 0)) == 0

    def run_row(self) -> dict:
        """The values of the run's etl_runs row (sql_queries.ETL_RUN_COLUMNS): what it loaded, the rows each
        Statement.tally column adds up, the star tables' counts after it (finished_at: the client's clock)."""
        plans = self.tables.values()
        counts = self.result.row_counts
        staged = self.result.staged
        row = {
            "run_id": self.run_id or 0,
            "finished_at": utcnow(),
            "objects_loaded": sum(len(p.to_load) for p in plans),
            "objects_skipped": sum(p.unchanged for p in plans),
            "objects_missing": sum(len(p.missing) for p in plans),
            "staged_events": staged.get(EVENTS, counts.get(EVENTS, 0)) if EVENTS in self.loaded else 0,
            "staged_songs": staged.get(SONGS, counts.get(SONGS, 0)) if SONGS in self.loaded else 0,
            **{s.tally: self.tallies.get(s.tally, 0) for s in sql_queries.etl_job if s.tally},
            **{f"{t}_rows": counts.get(t, self.previous_totals.get(t, 0)) for t in sql_queries.STAR_TABLES},
        }
        return {column: row[column] for column in sql_queries.ETL_RUN_COLUMNS}

    def ledger_time(self) -> datetime:
        """When the run's objects count as loaded: one instant per run (taken the first time it is asked for);
        also when the schema versions it records were reached."""
        if self.loaded_at is None:
            self.loaded_at = utcnow()
        return self.loaded_at


def utcnow() -> datetime:
    """The client's UTC clock, naive (TIMESTAMP columns have no time zone)."""
    return datetime.now(UTC).replace(tzinfo=None)
