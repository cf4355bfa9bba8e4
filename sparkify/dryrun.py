"""--dry-run: the SQL a script sends to Redshift, in order, printed instead of executed.

`create_tables.py --dry-run`, `etl.py --dry-run` and `analytics.py --dry-run` print every statement
the script would send to the cluster of a configuration with `ENGINE = redshift`, in order, each
ending with `;`, with the real COPY options and role ARN. Nothing is written anywhere: the statements
come from the same plans the scripts execute (sparkify.pipeline's create_tables_plan / etl_plan, whose
steps render what they run), and for analytics.py from the same sql_queries entries and checks that
sparkify.reports runs. create_tables.py's and analytics.py's dry runs connect to nothing. etl.py's
reads what decides its statements, as the run would: the source prefixes' listings (S3) and, on a
read-only look at the cluster, the load ledger and the next run's id (`etl_state`); so it says how
many objects are new, changed, unchanged (skipped) and gone, and shows the COPY of the new ones. What
it cannot read (no password, no network, no credentials) is said in a NOTE line and assumed: no ledger
(every object new), or a prefix not listed (its whole-prefix COPY is shown).

The output is itself a valid SQL script: comments (`--`) name each statement (after its sql_queries
variable where there is one) and explain what happens on the paths a normal run does not take (lock
waits, a failing COPY, a failing check). `begin;` and `commit;` (or `rollback;`) are the transaction
boundaries psycopg2 sends. Parameters (the etl_runs row, the ledger rows) are shown as the literals
psycopg2 would send at that moment.

Only ENGINE = redshift: with another engine the dry run refuses (ConfigError, exit 2), because what
runs there differs (the DDL is translated and COPY is emulated by many other statements).

Secrets are masked in the whole output, whatever their origin: the cluster password (from the file
or SPARKIFY_DB_PASSWORD), any PASSWORD/SECRET/TOKEN/KEY value of the configuration file, the AWS
secret key and session token of the environment, and the credential forms SQL can carry
(`ACCESS_KEY_ID '...'`, `SECRET_ACCESS_KEY '...'`, `SESSION_TOKEN '...'`, `PASSWORD '...'`,
`aws_secret_access_key=...` inside a CREDENTIALS string).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sql_queries
from sparkify import checks, pipeline
from sparkify.config import PASSWORD_ENV, Config
from sparkify.errors import ConfigError
from sparkify.pipeline import Statement
from sparkify.warehouse import LOCK_FIRST_WAIT_MS, count_query, lock_statements

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
    """The statements one script sends, in order, with notes (comments) keyed by statement id."""

    prog: str
    statements: list[Statement]
    notes: dict[str, str]
    summary: str
    problems: tuple[str, ...] = ()  # what the dry run could not read, and what it assumed instead


# --------------------------------------------------------------------------------------------------
# Statements


def require_redshift(config: Config, prog: str) -> None:
    if config.engine != "redshift":
        where = f" in {config.path}" if config.path else " (no dwh.cfg: the built-in default is ENGINE = local)"
        raise ConfigError(
            f"--dry-run shows the SQL that runs on Redshift: set [WAREHOUSE] ENGINE = redshift{where}; "
            f"this configuration's ENGINE is {config.engine}, where the DDL is translated and COPY is emulated"
        )


def render_plan(plan: Iterable[pipeline.Step], state: pipeline.RunState) -> list[Statement]:
    return [statement for step in plan for statement in step.redshift_statements(state)]


def _transaction(statements: list[Statement], end: str = "commit") -> list[Statement]:
    return [Statement("begin", "begin"), *statements, Statement(end, end)]


def create_tables_dry_run(config: Config) -> DryRun:
    statements = _transaction(render_plan(pipeline.create_tables_plan(), pipeline.RunState(config)))
    return DryRun("create_tables.py", statements, notes={
        "begin": "one transaction: every table is dropped and created again (all data is lost)",
        "count staging_events": "row counts: the proof of life create_tables.py prints",
    }, summary=f"{len(sql_queries.drop_table_queries)} drops, {len(sql_queries.create_table_queries)} creates")


def etl_state(config: Config, *, reload: bool = False, client_factory=None) -> tuple[pipeline.RunState, list[str]]:
    """The run's state as etl.py would compute it, read only: the next run's id and the previous totals, each
    prefix's listing against the load ledger. What cannot be read is said (second value) and assumed: no
    ledger (every object is new), or a prefix not listed (its COPY is shown for the whole prefix)."""
    import psycopg2

    from sparkify.errors import SparkifyError
    from sparkify.warehouse import Warehouse

    state = pipeline.RunState(config, reload=reload)
    problems: list[str] = []
    conn = None
    try:
        conn = Warehouse(config).connect()
    except (SparkifyError, psycopg2.Error) as exc:
        problems.append(f"the load ledger could not be read ({str(exc).splitlines()[0]}): every object counts as "
                        "new and the run's id is unknown")
    try:
        fetch = lambda table: []  # noqa: E731
        if conn is not None:
            cur = conn.cursor()
            pipeline.read_run_start(cur, state)
            fetch = pipeline.ledger_reader(cur)
        pipeline.plan_objects(state, fetch, client_factory=client_factory,
                              on_list_error=lambda table, exc: problems.append(
                                  f"{table}: the source prefix could not be listed ({str(exc).splitlines()[0]}); "
                                  "the COPY of the whole prefix is shown, and the run would stop there"))
    finally:
        if conn is not None:
            conn.rollback()
            conn.close()
    # the staging tables the run would load: those whose COPY step runs
    state.loaded = {t.table for t in sql_queries.copy_table_queries if pipeline.CopyStep(t).applies(state)}
    return state, problems


def etl_dry_run(config: Config, *, reload: bool = False, client_factory=None) -> DryRun:
    state, problems = etl_state(config, reload=reload, client_factory=client_factory)
    return etl_dry_run_of(state, problems)


def etl_dry_run_of(state: pipeline.RunState, problems: Iterable[str] = ()) -> DryRun:
    """etl.py's dry run for a run state (what etl_state read, or one a test builds)."""
    config = state.config
    statements = _transaction(render_plan(pipeline.etl_plan(), state))
    first_wait = LOCK_FIRST_WAIT_MS // 1000
    later = max(config.lock_timeout - first_wait, 0)
    notes = {
        "begin": "one transaction: it commits only if every statement below succeeds; any failure rolls back",
        "etl_lock_timeout_set": (f"the ETL lock: wait up to {first_wait} s for a running etl.py; if it still "
                                 f"holds the lock, the same three statements run once more with statement_timeout "
                                 f"= {later * 1000} ([ETL] LOCK_TIMEOUT = {config.lock_timeout} s)"),
        "etl_run_next_id": "the run's id, and the row counts the previous run left",
        "staging_events_clear": "empty staging (DELETE, not TRUNCATE: TRUNCATE would commit the transaction)",
        "loaded_objects_delete": "the load ledger: rows of the objects loaded again are replaced",
        "loaded_objects_insert": "the load ledger: the objects this run loads",
        "analyze_staging_songs": "song records were staged: catalog, songs, artists, plays that now match",
        "analyze_staging_events": "events were staged: users, plays, their times",
        "etl_run_insert": "record the run (finished_at: the client's UTC clock when it runs)",
    }
    for plan in state.tables.values():
        first = f"loaded_objects_select {plan.table}"
        notes[first] = f"{plan.table}: {plan.summary()} under {plan.prefix}"
        if plan.missing:
            notes[first] += f"; gone since loaded (kept in the warehouse): {', '.join(plan.missing[:3])}" + (
                ", ..." if len(plan.missing) > 3 else "")
    for template in sql_queries.copy_table_queries:
        step = pipeline.CopyStep(template)
        plan = state.tables.get(template.table)
        if plan is None or not step.applies(state):
            continue
        how = (f"the run's manifest of its {len(plan.to_load)} new or changed objects (written to S3 first)"
               if template.table in state.manifests else
               "the whole prefix ([S3] MANIFEST_PREFIX is not set, so unchanged objects are read again too)")
        notes[step.id] = (f"COPY into {template.table} from {how}; if it fails, the transaction is rolled back and "
                          "stl_load_errors is read (sparkify.copy.redshift.LOAD_ERRORS_QUERY) to name the first "
                          "rejected record")
    first_check = next((s.id for s in statements if s.id.startswith("check ")), None)
    if first_check:
        notes[first_check] = (f"data-quality checks on the keys this run touched (sql_queries.RUN_CHECKS); a failing "
                              f"check also lists up to {checks.SAMPLE} offenders, then the run rolls back")
    objects = "; ".join(f"{p.table}: {p.summary()}" for p in state.tables.values())
    return DryRun("etl.py", statements, notes, summary=objects, problems=tuple(problems))


def analytics_dry_run(config: Config, *, with_checks: bool = False) -> DryRun:
    """What sparkify.reports.build_report sends: counts, the analysts' queries, the checks if asked; it
    only reads, and ends its transaction with a rollback."""
    body = [Statement(f"count {t}", count_query(t)) for t in sql_queries.ALL_TABLES]
    body += [Statement(f"analytics_setup[{i}]", query.strip())
             for i, query in enumerate(sql_queries.analytics_setup_queries)]
    body += [Statement(name, query.strip()) for name, query in sql_queries.analytics_queries.items()]
    if with_checks:
        body += [Statement(f"check {g.name}", checks.count_query(g)) for g in sql_queries.CHECKS]
    else:
        body.append(Statement("latest_run_checks", sql_queries.latest_run_checks.strip()))
    notes = {"begin": "read only: the transaction is rolled back at the end",
             "analytics_setup[0]": "the temporary tables the analysts' queries read (gone with the rollback)",
             "latest_run_checks": "the checks the latest etl.py run passed (--check runs those of whole tables)"}
    if with_checks:
        notes["check songplays.songplay_id_unique"] = "data-quality checks of whole tables (--check)"
    return DryRun("analytics.py", _transaction(body, end="rollback"), notes,
                  summary=f"{len(sql_queries.analytics_setup_queries)} temporary tables, "
                          f"{len(sql_queries.analytics_queries)} queries" + (", checks" if with_checks else ""))


def conditional_statements(config: Config) -> list[Statement]:
    """Statements sent to Redshift only on paths a successful run does not take (proven in the grammar test)."""
    from sparkify.copy import redshift

    later_ms = max(config.lock_timeout - LOCK_FIRST_WAIT_MS // 1000, 0) * 1000
    out = [Statement(f"lock retry {i}", s) for i, s in enumerate(lock_statements(later_ms))]
    out.append(Statement("load_errors", redshift.LOAD_ERRORS_QUERY))
    out.append(Statement("time_orphans_delete", sql_queries.time_orphans_delete.strip()))
    for group in (*sql_queries.RUN_CHECKS, sql_queries.RUN_PLAYS_FIRST_LOAD, *sql_queries.CHECKS):
        out += [Statement(f"check sample {c.name}", checks.sample_query(group, i)) for i, c in enumerate(group.checks)]
    out.append(Statement("rollback", "rollback"))
    return out


def dry_run_for(prog: str, config: Config, *, with_checks: bool = False, reload: bool = False) -> DryRun:
    require_redshift(config, prog)
    if prog == "create_tables.py":
        return create_tables_dry_run(config)
    if prog == "etl.py":
        return etl_dry_run(config, reload=reload)
    if prog == "analytics.py":
        return analytics_dry_run(config, with_checks=with_checks)
    raise ValueError(f"no dry run for {prog!r}")


# --------------------------------------------------------------------------------------------------
# Output


def format_dry_run(run: DryRun, config: Config) -> str:
    c = config.cluster
    where = f"{c.host}:{c.db_port}/{c.db_name} as {c.db_user}" if c else "?"
    lines = [
        f"-- {run.prog} --dry-run: the {len(run.statements)} statements {run.prog} sends to Redshift, in order "
        f"({run.summary}). Nothing was executed.",
        f"-- cluster: {where}; config: {config.source_name}",
        *(f"-- NOTE: {problem}" for problem in run.problems),
    ]
    for statement in run.statements:
        lines.append("")
        note = run.notes.get(statement.id)
        if note:
            lines.append(f"-- {note}")
        lines.append(f"-- [{statement.id}]")
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
                 environ: Mapping[str, str] | None = None) -> str:
    """The masked text `<prog> --dry-run` prints."""
    run = dry_run_for(prog, config, with_checks=with_checks, reload=reload)
    log.info("%s --dry-run: %d statements, nothing executed", prog, len(run.statements))
    return mask_secrets(format_dry_run(run, config), secret_values(config, environ))
