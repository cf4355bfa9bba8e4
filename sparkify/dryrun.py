"""--dry-run: the SQL a script sends to Redshift, in order, printed instead of executed.

`create_tables.py --dry-run` (also with --upgrade), `etl.py --dry-run` and `analytics.py --dry-run` print every statement
the script would send to the cluster of a configuration with `ENGINE = redshift`, in order, each
ending with `;`, with the real COPY options and role ARN. Nothing is written anywhere: the statements
come from the same plans the scripts execute (sparkify.pipeline.plans: the jobs of sql_queries, whose
steps render what they send). create_tables.py's and analytics.py's dry runs connect to nothing, and show
the statements for a warehouse at the current schema version. etl.py's reads what decides its statements,
as the run would: the source prefixes' listings (S3) and, on a read-only look at the cluster, the schema's
version, the load ledger and the next run's id (`etl_state`); so it says how many objects are new,
changed, unchanged (skipped) and gone, and shows the COPY of the new ones. create_tables.py --upgrade's
reads the schema's version the same way (`schema_state`) and shows the migrations it would apply. What
they cannot read (no password, no network, no credentials) is said in a NOTE line and assumed: no ledger
(every object new), a prefix not listed (its whole-prefix COPY is shown), a warehouse at the current
version (etl.py), or one of the release of 2026-11-30 (the upgrade).

The output is itself a valid SQL script: comments (`--`) name each statement (after its name in
sql_queries, and the table or group it is for) and, with the notes declared beside the statements, explain
what happens on the paths a normal run does not take (lock waits, a failing COPY, a failing check). `begin;` and `commit;` (or `rollback;`) are the transaction
boundaries psycopg2 sends. Parameters (the etl_runs row, the ledger rows) are shown as the literals
psycopg2 would send at that moment. With [CLUSTER] TRANSPORT = data-api the header names the transport and the
warehouse, `begin;` and `commit;` are statements of the run's Data API session, and a parameter is shown as the
literal of the string value the Data API receives (sparkify.dataapi.params).

Only ENGINE = redshift: with another engine the dry run refuses (ConfigError, exit 2), because what
runs there differs (the DDL is translated and COPY is emulated by many other statements).

Secrets are masked in the whole output, whatever their origin: the cluster password (from the file
or SPARKIFY_DB_PASSWORD), any PASSWORD/SECRET/TOKEN/KEY value of the configuration file, the AWS
secret key and session token of the environment, and the credential forms SQL can carry
(`ACCESS_KEY_ID '...'`, `SECRET_ACCESS_KEY '...'`, `SESSION_TOKEN '...'`, `PASSWORD '...'`,
`aws_secret_access_key=...` inside a CREDENTIALS string). Control characters that the data brings into the
output (a file name in the ledger, say) are shown escaped (sparkify.text), never sent to the terminal raw.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sql_queries
from sparkify.config import PASSWORD_ENV, Config
from sparkify.errors import ConfigError
from sparkify.pipeline import plans
from sparkify.pipeline.state import RunState
from sparkify.pipeline.steps import Send
from sparkify.schema import SchemaFound
from sparkify.text import visible_lines
from sql_queries import Job

log = logging.getLogger(__name__)

MASK = "****"
# Values shorter than this are not masked by value (they would mangle unrelated SQL); Redshift passwords
# are 8 to 64 characters, and the pattern-based masking below does not depend on length.
MIN_SECRET_LENGTH = 6

_SECRET_CLAUSE_RE = re.compile(
    r"(?i)\b(access_key_id|secret_access_key|session_token|password)(\s+(?:as\s+)?)'(?:[^']|'')*'"
)
_SECRET_ASSIGNMENT_RE = re.compile(
    r"(?i)\b(aws_access_key_id|aws_secret_access_key|aws_session_token|token|password)(\s*=\s*)([^;'\s]+)"
)
_ENV_SECRETS = (PASSWORD_ENV, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

SCRIPTS = ("create_tables.py", "etl.py", "analytics.py")


@dataclass(frozen=True)
class DryRun:
    """The statements one script sends, in order (BEGIN and the transaction's end included), each with its note."""

    prog: str
    statements: list[Send]
    summary: str
    problems: tuple[str, ...] = ()  # what the dry run could not read, and what it assumed instead


# --------------------------------------------------------------------------------------------------
# Statements


def require_redshift(config: Config, prog: str) -> None:
    if config.engine != "redshift":
        where = f" in {config.path}" if config.path else " (the built-in default: ENGINE = local)"
        raise ConfigError(
            f"--dry-run shows the SQL that runs on Redshift: set [WAREHOUSE] ENGINE = redshift{where}; "
            f"this configuration's ENGINE is {config.engine}, where the DDL is translated and COPY is emulated"
        )


def _transaction(job: Job, statements: list[Send]) -> list[Send]:
    """The job's statements between the BEGIN and the COMMIT (or ROLLBACK) psycopg2 sends."""
    return [Send(None, "begin", "begin", note=job.note), *statements, Send(None, job.end, job.end)]


def current_schema() -> SchemaFound:
    """What a dry run that reads nothing assumes: a warehouse at the current schema version."""
    return SchemaFound({sql_queries.VERSION_TABLE: ()}, recorded=sql_queries.SCHEMA_VERSION)


def create_tables_dry_run(config: Config) -> DryRun:
    statements = plans.render(plans.create_tables_plan(), RunState(config))
    return DryRun("create_tables.py", _transaction(sql_queries.create_tables_job, statements),
                  summary=f"{len(sql_queries.drop_table_queries)} drops, "
                          f"{len(sql_queries.create_table_queries)} creates, schema version {sql_queries.SCHEMA_VERSION}")


def read_schema(state: RunState, ctx) -> None:
    """The warehouse's schema version into `state`, with the run's own statements (read only)."""
    for step in plans.plan_of(sql_queries.schema_version_queries):
        step.run(ctx)


def schema_state(config: Config, migrations=sql_queries.MIGRATIONS) -> tuple[RunState, list[str]]:
    """The upgrade's state, read only: the warehouse's tables and the version it recorded. What cannot be read is
    said (second value) and assumed: a warehouse of the first release with the load ledger, which recorded no
    version. A warehouse the upgrade would refuse raises its WarehouseError, as the upgrade would."""
    import psycopg2

    from sparkify.errors import SparkifyError, WarehouseError
    from sparkify.pipeline.steps import RunContext
    from sparkify.pipeline.upgrade import named
    from sparkify.warehouse import Warehouse

    state = RunState(config, upgrade=True, migrations=tuple(migrations))
    wh = Warehouse(config)
    try:
        conn = wh.connect()
    except (SparkifyError, psycopg2.Error) as exc:
        first = min(sql_queries.RELEASE_TABLES)
        state.schema = SchemaFound(dict(sql_queries.RELEASE_TABLES[first]))
        note = (f"the warehouse's schema could not be read ({str(exc).splitlines()[0]}): shown for a warehouse at "
                f"{state.schema.describe()}")
        return state, [note]
    try:
        read_schema(state, RunContext(wh, wh.session(conn), state))
    finally:
        conn.rollback()
        conn.close()
    problem = state.schema.problem(current=False, target=state.migrations[-1].version)
    if problem:
        raise WarehouseError(named(problem, wh))
    return state, []


def upgrade_dry_run(config: Config, migrations=sql_queries.MIGRATIONS) -> DryRun:
    """create_tables.py --upgrade: the migrations the warehouse has not reached (schema_state)."""
    state, problems = schema_state(config, migrations)
    return upgrade_dry_run_of(state, problems)


def upgrade_dry_run_of(state: RunState, problems: Iterable[str] = ()) -> DryRun:
    """create_tables.py --upgrade's dry run for a state whose schema is read (schema_state, or a test's)."""
    applied = state.schema.applied(state.migrations)
    statements = plans.render(plans.upgrade_plan(state.migrations), state)
    summary = (f"from {state.schema.describe()} to schema version {applied[-1].version}" if applied else
               f"the warehouse is at {state.schema.describe()}: nothing to change")
    return DryRun("create_tables.py", _transaction(sql_queries.upgrade_job_of(state.migrations), statements),
                  summary=summary, problems=tuple(problems))


def etl_state(config: Config, *, reload: bool = False, client_factory=None) -> tuple[RunState, list[str]]:
    """The run's state as etl.py would compute it, read only: the next run's id and the previous totals, each
    prefix's listing against the load ledger. What cannot be read is said (second value) and assumed: no
    ledger (every object is new), or a prefix not listed (its COPY is shown for the whole prefix)."""
    import psycopg2

    from sparkify.errors import SparkifyError, WarehouseError
    from sparkify.pipeline.load import ledger_reader, plan_objects
    from sparkify.pipeline.steps import RunContext
    from sparkify.pipeline.upgrade import named
    from sparkify.warehouse import Warehouse

    state = RunState(config, reload=reload)
    problems: list[str] = []
    wh = Warehouse(config)
    conn = None
    fetch = lambda table: []

    def unread(exc: BaseException) -> None:
        problems.append(f"the load ledger could not be read ({str(exc).splitlines()[0]}): every object counts as "
                        "new and the run's id is unknown")

    try:
        conn = wh.connect()
    except (SparkifyError, psycopg2.Error) as exc:
        unread(exc)
        state.schema = current_schema()
    try:
        if conn is not None:
            ctx = RunContext(wh, wh.session(conn), state)
            try:
                read_schema(state, ctx)
            except SparkifyError as exc:  # over the Data API, the first statement is the first request to AWS
                if not wh.data_api:
                    raise
                unread(exc)
                state.schema = current_schema()
            else:
                problem = state.schema.problem(current=True)
                if problem:  # the run would stop there, before its ledger and run id
                    raise WarehouseError(named(problem, wh))
                for step in plans.plan_of(sql_queries.etl_start_queries):
                    step.run(ctx)
                fetch = ledger_reader(ctx.session)
        plan_objects(state, fetch, client_factory=client_factory,
                     on_list_error=lambda table, exc: problems.append(
                         f"{table}: the source prefix could not be listed ({str(exc).splitlines()[0]}); "
                         "the COPY of the whole prefix is shown, and the run would stop there"))
    finally:
        if conn is not None:
            conn.rollback()
            conn.close()
    # the staging tables the run would load: those whose COPY runs
    state.loaded = {c.table for c in sql_queries.copy_table_queries if state.applies(c)}
    return state, problems


def etl_dry_run(config: Config, *, reload: bool = False, client_factory=None) -> DryRun:
    state, problems = etl_state(config, reload=reload, client_factory=client_factory)
    return etl_dry_run_of(state, problems)


def etl_dry_run_of(state: RunState, problems: Iterable[str] = ()) -> DryRun:
    """etl.py's dry run for a run state (what etl_state read, or one a test builds)."""
    statements = plans.render(plans.etl_plan(), state)
    objects = "; ".join(f"{p.table}: {p.summary()}" for p in state.tables.values())
    return DryRun("etl.py", _transaction(sql_queries.etl_job, statements), summary=objects, problems=tuple(problems))


def analytics_dry_run(config: Config, *, with_checks: bool = False) -> DryRun:
    """What sparkify.reports.build_report sends: counts, the analysts' queries, the checks if asked; it
    only reads, and ends its transaction with a rollback."""
    statements = plans.render(plans.analytics_plan(), RunState(config, checks_asked=with_checks,
                                                                schema=current_schema()))
    return DryRun("analytics.py", _transaction(sql_queries.analytics_job, statements),
                  summary=f"{len(sql_queries.analytics_queries)} queries of the report's tables"
                          + (", checks" if with_checks else ""))


def conditional_statements(config: Config) -> list[Send]:
    """Statements sent to Redshift only on paths a successful run does not take (proven in the grammar test):
    what each statement of etl.py and analytics.py sends on failure, or under a condition only the run can
    tell."""
    state = RunState(config, schema=current_schema())
    out = plans.render_other_paths((*plans.etl_plan(), *plans.analytics_plan()), state)
    return [*out, Send(None, "rollback", "rollback")]


def dry_run_for(prog: str, config: Config, *, with_checks: bool = False, reload: bool = False,
                upgrade: bool = False) -> DryRun:
    require_redshift(config, prog)
    if prog == "create_tables.py":
        return upgrade_dry_run(config) if upgrade else create_tables_dry_run(config)
    if prog == "etl.py":
        return etl_dry_run(config, reload=reload)
    if prog == "analytics.py":
        return analytics_dry_run(config, with_checks=with_checks)
    raise ValueError(f"no dry run for {prog!r}")


# --------------------------------------------------------------------------------------------------
# Output


def format_dry_run(run: DryRun, config: Config) -> str:
    c = config.cluster
    if c is not None and c.data_api:
        from sparkify.dataapi.connection import target_of

        where = (f"transport: the Redshift Data API (no connection to the warehouse; the statements run in one Data "
                 f"API session, begin and commit included; parameters go as named Data API parameters, shown here "
                 f"as literals of their values); {target_of(config).describe()}")
    else:
        where = "cluster: " + (f"{c.host}:{c.db_port}/{c.db_name} as {c.db_user}" if c else "?")
    lines = [
        (f"-- {run.prog} --dry-run: the {len(run.statements)} statements {run.prog} sends to Redshift, in order "
         f"({run.summary}). Nothing was executed."),
        f"-- {where}; config: {config.source_name}",
        *(f"-- NOTE: {problem}" for problem in run.problems),
    ]
    for statement in run.statements:
        lines.append("")
        if statement.note:
            lines.append(f"-- {statement.note}")
        lines.append(f"-- [{statement.label}]")
        lines.append(statement.sql.strip().rstrip(";") + ";")
    return "\n".join(lines) + "\n"


def secret_values(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value we know of: the cluster password, the environment's, the config file's."""
    environ = os.environ if environ is None else environ
    values = []
    if config.cluster is not None:
        values.append(config.cluster.db_password)
    values += [environ.get(name) or "" for name in _ENV_SECRETS]
    values += list(config.file_secrets)
    return sorted({v for v in values if v and len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret value, and every credential clause, replaced by ****."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _SECRET_CLAUSE_RE.sub(lambda m: f"{m[1]}{m[2]}'{MASK}'", text)
    return _SECRET_ASSIGNMENT_RE.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)


def dry_run_text(prog: str, config: Config, *, with_checks: bool = False, reload: bool = False,
                 upgrade: bool = False, environ: Mapping[str, str] | None = None) -> str:
    """The masked text `<prog> --dry-run` prints."""
    run = dry_run_for(prog, config, with_checks=with_checks, reload=reload, upgrade=upgrade)
    log.info("%s --dry-run: %d statements, nothing executed", prog, len(run.statements))
    return visible_lines(mask_secrets(format_dry_run(run, config), secret_values(config, environ)))
