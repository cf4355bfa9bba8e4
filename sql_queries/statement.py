"""What a statement of the warehouse is: its name, its text, what it writes and when it runs.

Every statement the scripts send is one of these objects, defined beside its SQL and reachable as
`sql_queries.<name>`; the jobs (sql_queries.jobs) are ordered tuples of them. The kinds below differ in how
their text is completed at run time (a COPY template bound to the configuration, one count per table, one
counting statement per group of checks, ...), which sparkify does; the conditions (`When`) are declared
here and evaluated by sparkify against the run's state. Nothing here is executed or imports sparkify.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from enum import Enum


class When(Enum):
    """A condition a statement runs under (all of a statement's conditions must hold)."""

    SONGS_STAGED = "song records were staged"
    EVENTS_STAGED = "events were staged"
    ANY_STAGED = "events or song records were staged"
    SONGPLAYS_HAD_ROWS = "songplays had rows before the run"
    SONGPLAYS_WAS_EMPTY = "songplays had no rows before the run"
    # Proven while the run goes: a statement declaring `proves=` wrote at least one row.
    PLAYS_SEEN_AGAIN = "batch_stored_keys found stored plays"
    PLAYS_CORRECTED = "batch_corrections found plays to correct"
    PLAYS_CHANGED = "the run added, corrected or re-matched plays (batch_play_changes has rows)"
    OBJECTS_TO_LOAD = "its staging table has new or changed objects"
    POSTGRES = "PostgreSQL engines only"
    REDSHIFT = "ENGINE = redshift only"
    CHECKS_ASKED = "analytics.py --check"
    CHECKS_NOT_ASKED = "analytics.py without --check"
    SCHEMA_VERSIONED = "the warehouse records its schema version (it has schema_versions)"


class Params(Enum):
    """What sparkify binds to a statement's parameters (its text keeps psycopg2's %(name)s / %s)."""

    COPY_TABLE = "sent once per COPY of the job, with %(table_name)s its staging table"
    RELOADED_OBJECTS = ("sent per staging table, in chunks: %(table_name)s and %(object_urls)s, the objects loaded "
                        "again")
    RUN_ROW = "the run's counts: one %(column)s per etl_runs column"
    LOADED_OBJECTS = "{rows}: one group per object the run loaded (Values)"
    PASSED_CHECKS = "{rows}: one group per check the run passed (Values)"
    SCHEMA_VERSION_ROWS = "{rows}: one group per schema version the job records (Values)"


class Result(Enum):
    """What sparkify keeps of the rows a statement returns."""

    RUN_ID = "the run's id"
    PREVIOUS_TOTALS = "the star tables' row counts after the previous run"
    LEDGER = "the ledger of one staging table, compared with the listing of its prefix"
    REJECTED = "how many records the last COPY skipped (MAXERROR)"
    LOAD_ERRORS = "the rejected records of the last COPY, for its error message"
    SERVER_VERSION = "whether the server is Redshift"
    REPORT_TABLE = "one table of the analysts' report, under the statement's name"
    LATEST_RUN_CHECKS = "the checks the latest load passed"
    SCHEMA_TABLES = "the toolkit's tables in the warehouse and their columns: its schema's shape"
    SCHEMA_VERSION = "the latest schema version the warehouse recorded"


class Scope(Enum):
    """Which tables a RowCounts statement counts, when they are not listed."""

    BEFORE_MERGE = "the star tables the run is about to change (for the never-shrinks check)"
    AFTER_RUN = "the tables the run changed or loaded, and the star tables the previous run left no count for"


@dataclass(frozen=True, eq=False)
class Statement:
    """One statement, sent as written (the PostgreSQL engines translate its DDL, sparkify.warehouse).

    `writes`: the tables whose rows it changes (the ANALYZE threshold adds up their rows; the tables a run
    changes are those written by the statements of what it staged). `tally`: the etl_runs column its row
    count adds to. `removes`: the tables whose rows it deletes for good, none put back (never_shrinks allows
    for them). `data_hint`: what a value that does not fit (a data error) most likely means here, and its fix.
    `proves`: the condition that holds once it wrote a row. `note`: the dry run's comment before
    it. `on_failure`: the statements sent only when it fails."""

    name: str
    sql: str
    _: KW_ONLY
    writes: tuple[str, ...] = ()
    when: tuple[When, ...] = ()
    params: Params | None = None
    result: Result | None = None
    tally: str | None = None
    removes: tuple[str, ...] = ()
    data_hint: str = ""
    proves: When | None = None
    note: str = ""
    on_failure: tuple[Statement, ...] = ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def parts(self) -> tuple[Statement, ...]:
        """The statements this one is made of or sends besides (itself first), for whoever lists them all."""
        return (self, *self.on_failure)


@dataclass(frozen=True, eq=False)
class Lock(Statement):
    """`attempt` (set a timeout, take the lock, reset the timeout) with `{timeout_ms}` filled in: first
    `first_wait_ms`, then, if another run holds the lock, once more for the rest of [ETL] LOCK_TIMEOUT
    (`sql` is empty: the attempt's statements are sent)."""

    attempt: tuple[Statement, ...] = ()
    first_wait_ms: int = 2000

    def parts(self) -> tuple[Statement, ...]:
        return (self, *self.attempt)


@dataclass(frozen=True, eq=False)
class Copy(Statement):
    """COPY <table> FROM the [S3] settings named here (bound to the configuration by sparkify.copy.spec and
    rendered by sparkify.copy.redshift.render_copy; `sql` is empty), then the statements of `then` (the
    records it skipped; the rows it loaded). On the PostgreSQL engines the COPY is emulated."""

    table: str = ""
    source_key: str = ""  # attribute of [S3]'s settings: 'log_data' or 'song_data'
    json_key: str | None = None  # attribute of [S3]'s settings holding a JSONPaths location; None: 'auto'
    timeformat: str | None = None
    noload: bool = False
    then: tuple[Statement, ...] = ()

    def parts(self) -> tuple[Statement, ...]:
        return (self, *self.then, *self.on_failure)


@dataclass(frozen=True, eq=False)
class RowCounts(Statement):
    """`sql` ('select count(*) from {table}') once per table: `tables`, or those of `scope`."""

    tables: tuple[str, ...] = ()
    scope: Scope | None = None


@dataclass(frozen=True, eq=False)
class Settings(Statement):
    """`sql` ("set local {name} = '{value}'") once per setting: session settings that end with the transaction."""

    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, eq=False)
class TruncateEmpty(Statement):
    """`sql` ('truncate {tables}') with the `tables` that hold no rows at this point of the run's transaction
    (each asked with `probe`, '{table}' filled in). PostgreSQL only (When.POSTGRES): Redshift's TRUNCATE commits
    the transaction. Emptying an empty table changes no row; it gives the table a new file in the transaction, which
    PostgreSQL (wal_level = minimal) then fills without writing WAL, syncing the file at commit instead."""

    tables: tuple[str, ...] = ()
    probe: str = "select 1 from {table} limit 1"


@dataclass(frozen=True, eq=False)
class Analyze(Statement):
    """ANALYZE of `table`, right after the statements that changed it. Redshift skips a table that changed by
    less than analyze_threshold_percent; the PostgreSQL engines apply the same rule (sparkify.warehouse)."""

    table: str = ""


@dataclass(frozen=True, eq=False)
class CheckRun(Statement):
    """The data-quality checks of `groups` (sql_queries.checks): one counting statement per group whose
    conditions hold; only for a failing check, one more for up to `examples` of its offending keys.
    `never_shrinks`: the star tables counted before the merge must not have fewer rows after it (no SQL: the
    counts). `raises`: a failing check fails the job (the transaction rolls back). `sql` is empty: the
    groups' statements (sql_queries.group_counter, check_examples) are sent."""

    groups: tuple = ()  # of CheckGroup
    examples: int = 5
    never_shrinks: bool = False
    raises: bool = False


@dataclass(frozen=True, eq=False)
class Values(Statement):
    """A multi-row INSERT: `{rows}` becomes one `(%s, ...)` group per row, `rows_per_statement` at most (the
    rows are `params`). `postgres`: what the PostgreSQL engines send instead (COPY FROM STDIN), if anything."""

    rows_per_statement: int = 1000
    postgres: Statement | None = None

    def parts(self) -> tuple[Statement, ...]:
        return (self, *((self.postgres,) if self.postgres else ()), *self.on_failure)


@dataclass(frozen=True, eq=False)
class Migration(Statement):
    """Schema version `version`: its `steps`, sent in the upgrade's transaction only to a warehouse at an earlier
    version (`sql` is empty). Steps are additive and of shapes Redshift runs inside a transaction block (CREATE
    TABLE, ALTER TABLE ... ADD COLUMN, RENAME, INSERT/UPDATE to fill what they add); a released migration
    never changes: a later change is a new migration."""

    version: int = 0
    description: str = ""
    steps: tuple[Statement, ...] = ()

    def parts(self) -> tuple[Statement, ...]:
        return (self, *self.steps)


@dataclass(frozen=True, eq=False)
class SchemaGate(Statement):
    """No SQL: the job stops here, with the fix, unless the warehouse's schema (read by the statements before
    it) is the current version (`current`: etl.py, analytics.py), or one the upgrade knows how to bring up
    to date (create_tables.py --upgrade)."""

    current: bool = True


@dataclass(frozen=True, eq=False)
class Job:
    """What one script sends, in order, in one transaction that ends with `end` ('commit' or 'rollback')."""

    name: str
    statements: tuple[Statement, ...]
    note: str = ""  # the dry run's comment on the transaction
    end: str = "commit"

    def __repr__(self) -> str:
        return f"<Job {self.name}: {len(self.statements)} statements>"

    def __iter__(self):
        return iter(self.statements)

    def __len__(self) -> int:
        return len(self.statements)
