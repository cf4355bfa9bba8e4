"""The database checks of the preflight (any engine): can we log in with [CLUSTER], and do the tables exist with
the columns sql_queries' CREATE statements declare, in order.

cluster.login: a real connection (10 s timeout; the password, or temporary credentials from IAM with AUTH = iam,
sparkify.dbauth); psycopg2's error is explained: wrong host (does not resolve), no answer (security group not open
to this machine's IP, or the cluster not publicly accessible / paused), wrong port, wrong password or user, wrong
database. With TRANSPORT = data-api, the tables query runs over the Data API instead (no connection is opened): its
first request proves the AWS credentials, the warehouse, the database and the user.
tables: information_schema.columns of the current schema (the same query on Redshift and PostgreSQL); a missing table or a different column list is fatal ("run create_tables.py"); the tables of an earlier release are
fatal with the upgrade as the fix ("run create_tables.py --upgrade", sparkify.schema).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import sql_queries
from sparkify import tls
from sparkify.config import PASSWORD_ENV, ClusterSettings, Config
from sparkify.preflight.findings import Finding, fatal, ok, warn
from sparkify.schema import SchemaFound
from sparkify.warehouse import missing_at_login

CONNECT_TIMEOUT_S = 10


_CREATE_RE = re.compile(r"^\s*create\s+(?:temp(?:orary)?\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w.\"]+)\s*\(",
                        re.IGNORECASE)
_CONSTRAINT_RE = re.compile(r"^(?:constraint|primary\s+key|foreign\s+key|unique|check|distkey|sortkey|"
                            r"compound\s+sortkey|interleaved\s+sortkey)\b", re.IGNORECASE)


def ddl_columns(ddl: str) -> tuple[str, list[str]]:
    """('table', [column, ...]) declared by a CREATE TABLE statement, in order (constraints skipped)."""
    m = _CREATE_RE.match(ddl)
    if not m:
        raise ValueError(f"not a CREATE TABLE statement: {ddl.strip()[:60]!r}")
    table = m.group(1).split(".")[-1].strip('"').lower()
    depth, start, items = 1, m.end(), []
    pos = start
    for pos in range(m.end(), len(ddl)):
        ch = ddl[pos]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                items.append(ddl[start:pos])
                break
        elif ch == "," and depth == 1:
            items.append(ddl[start:pos])
            start = pos + 1
    else:
        raise ValueError(f"unbalanced parentheses in CREATE TABLE {table}")
    columns = []
    for item in items:
        text = item.strip()
        if not text or _CONSTRAINT_RE.match(text):
            continue
        columns.append(text.split()[0].strip('"').lower())
    return table, columns


def expected_tables() -> dict[str, list[str]]:
    """Every table create_tables.py makes -> its columns in order (from sql_queries.create_table_queries)."""
    return dict(ddl_columns(ddl.sql) for ddl in sql_queries.create_table_queries)


def staging_events_column_count() -> int:
    return len(ddl_columns(sql_queries.staging_events_table_create.sql)[1])


def compare_columns(table: str, actual: Sequence[str] | None, expected: Sequence[str]) -> Finding | None:
    """None when `actual` (None: no such table) equals `expected`, else the fatal finding."""
    check = f"tables.{table}"
    if actual is None:
        return fatal(check, f"table {table} does not exist: run create_tables.py")
    if list(actual) == list(expected):
        return None
    missing = [c for c in expected if c not in actual]
    extra = [c for c in actual if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected {', '.join(extra)}")
    if not parts:
        parts.append(f"columns in another order ({', '.join(actual)})")
    return fatal(check, f"table {table} differs from sql_queries: {'; '.join(parts)}: run create_tables.py "
                        "(it drops and recreates every table: all data is lost)")


def explain_connection_error(message: str, cluster: ClusterSettings) -> str:
    """What a psycopg2.OperationalError's text means for [CLUSTER], and what to do about it."""
    text = message.lower()
    host, port, user = cluster.host, cluster.db_port, cluster.db_user
    if "password authentication failed" in text:
        return (f"wrong password for user {user}: check [CLUSTER] DB_PASSWORD (the environment variable "
                f"{PASSWORD_ENV} wins when set) and DB_USER")
    if any(s in text for s in ("could not translate host name", "name or service not known",
                               "nodename nor servname", "temporary failure in name resolution",
                               "no address associated")):
        return (f"wrong host: {host} does not resolve; check [CLUSTER] HOST (create_cluster.py writes it; "
                "a deleted cluster's endpoint no longer resolves)")
    if "timeout expired" in text or "timed out" in text:
        return (f"no answer from {host}:{port} within {CONNECT_TIMEOUT_S} s: the cluster's security group does not "
                f"allow this machine's IP address on TCP {port}, or the cluster is not publicly accessible, "
                "paused or still being created")
    if "connection refused" in text:
        return f"{host} refuses connections on port {port}: check [CLUSTER] DB_PORT (Redshift's default is 5439)"
    missing = missing_at_login(message)
    if missing == "DB_NAME":
        return "no such database: check [CLUSTER] DB_NAME (create_cluster.py writes it)"
    if missing == "DB_USER":
        return f"no such user {user}: check [CLUSTER] DB_USER"
    if "no pg_hba.conf entry" in text:
        return "the server does not accept this user, database or address (pg_hba.conf)"
    return "check [CLUSTER] HOST, DB_PORT, DB_NAME, DB_USER and the password"


TABLES_QUERY = """
select table_name, column_name
from information_schema.columns
where table_schema = current_schema()
  and table_name in %(tables)s
order by table_name, ordinal_position
""".strip()


def tables_query_params() -> dict:
    return {"tables": tuple(expected_tables())}


def _connect(config: Config):
    import psycopg2

    from sparkify import dbauth

    if config.engine == "local":
        from sparkify.warehouse import Warehouse

        return Warehouse(config).connect()
    return psycopg2.connect(**dbauth.dsn_kwargs(config), connect_timeout=CONNECT_TIMEOUT_S,
                            application_name="sparkify-preflight")


def check_database(config: Config) -> list[Finding]:
    """cluster.login, then the tables against sql_queries' DDL."""
    import psycopg2

    from sparkify.errors import ConfigError, WarehouseError

    c = config.cluster
    if c is not None and c.data_api:
        return check_data_api(config)
    where = (f"{c.db_name} at {c.host}:{c.db_port} as {c.db_user}" if c is not None
             else f"the embedded PostgreSQL ({config.data_dir})")
    try:
        conn = _connect(config)
    except psycopg2.OperationalError as exc:
        refused = tls.explain(str(exc), config) if c is not None else None
        if refused:  # before the password or any SQL was sent (sslmode=verify-full)
            return [fatal("cluster.login", f"cannot log in to {where}: TLS refused: {refused}")]
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [fatal("cluster.login", f"cannot log in to {where}: {first}: {explain_connection_error(str(exc), c)}")]
    except (WarehouseError, ConfigError) as exc:
        return [fatal("cluster.login", str(exc))]
    user = getattr(getattr(conn, "info", None), "user", None)
    if c is not None and user and user != c.db_user:  # temporary IAM credentials name their own user
        where = f"{c.db_name} at {c.host}:{c.db_port} as {user} (temporary credentials from IAM)"
    findings = [ok("cluster.login", f"logged in to {where}")]
    try:
        with conn.cursor() as cur:
            cur.execute(TABLES_QUERY, tables_query_params())
            actual: dict[str, list[str]] = {}
            for table, column in cur.fetchall():
                actual.setdefault(table, []).append(column)
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return findings + [warn("tables", f"cannot read information_schema.columns: {first}")]
    finally:
        conn.rollback()
        conn.close()
    return findings + tables_findings(actual)


def tables_findings(actual: Mapping[str, list[str]]) -> list[Finding]:
    """The tables found (table -> its columns) against sql_queries' DDL."""
    found = SchemaFound({t: tuple(cols) for t, cols in actual.items()})
    if found.recognised is not None:  # made by an earlier release: the upgrade brings it up to date, keeping the data
        return [fatal("tables.schema", found.problem(current=True))]
    expected = expected_tables()
    problems = [f for t, cols in expected.items() if (f := compare_columns(t, actual.get(t), cols))]
    if problems:
        return problems
    return [ok("tables", f"the {len(expected)} tables exist with the expected columns")]


def check_data_api(config: Config) -> list[Finding]:
    """cluster.login and tables over the Data API ([CLUSTER] TRANSPORT = data-api): the tables query is the first
    statement, so it proves the credentials, the warehouse and the database; no connection is opened."""
    import psycopg2

    from sparkify.dataapi.connection import target_of
    from sparkify.errors import WarehouseError
    from sparkify.warehouse import Warehouse

    target = target_of(config)
    conn = Warehouse(config).connect()
    actual: dict[str, list[str]] = {}
    try:
        with conn.cursor() as cur:
            cur.execute(TABLES_QUERY, tables_query_params(), name="preflight tables")
            for table, column in cur.fetchall():
                actual.setdefault(table, []).append(column)
    except WarehouseError as exc:
        return [fatal("cluster.login", f"cannot run statements on the {target.describe()}: {exc}")]
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return [ok("cluster.login", f"statements run on the {target.describe()}"),
                warn("tables", f"cannot read information_schema.columns: {first}")]
    finally:
        conn.rollback()
        conn.close()
    return [ok("cluster.login", f"statements run on the {target.describe()} (no connection to its port)"),
            *tables_findings(actual)]
