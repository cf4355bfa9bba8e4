"""Statements over the Redshift Data API, with a connection's interface: one transaction in one Data API session.

`DataApiConnection` stands where a psycopg2 connection stands for [CLUSTER] TRANSPORT = data-api: its
`cursor()` executes, `commit()` and `rollback()` end the transaction; sparkify.warehouse.Session and the
pipeline use it unchanged. Nothing connects to the warehouse's port: every statement is an HTTPS request
to the `redshift-data` service, signed with the caller's AWS credentials.

How one transaction works (docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html):
the first statement, `begin` (sent, as psycopg2 sends it, before the first statement of a transaction),
names the warehouse (ClusterIdentifier + DbUser for temporary credentials, or WorkgroupName, or SecretArn,
with Database) and asks for a session with SessionKeepAliveSeconds; every later statement carries the
SessionId it returned, so all of them run on one database session, inside the explicit transaction that
`commit` or `rollback` ends. A session runs one statement at a time: each is polled with DescribeStatement
(with backoff, a progress line every PROGRESS_EVERY_S seconds while it runs) until FINISHED, FAILED or
ABORTED, and its rows are read from GetStatementResult, page by page (NextToken).

What leaves the warehouse as it was: a FAILED statement raises (sparkify.dataapi.errors) and the caller rolls
back; Ctrl-C cancels the running statement (CancelStatement), then the caller rolls back; a killed process
leaves its session idle, and Redshift ends it, rolling the open transaction back, SESSION_KEEPALIVE_S after its
last statement finished. Until then a killed run still holds the ETL lock (`lock etl_runs`), as a psycopg2
connection would until its socket closes.

No statement exceeds the Data API's size limit: each is measured before it is sent (StatementTooLarge names
it), and the statements whose size grows with the data (the load ledger's rows) are cut to fit by the
pipeline (sparkify.pipeline.steps). Throttling: botocore's standard retry mode retries ThrottlingException
and 5xx answers (ExecuteStatement carries an idempotency token, ClientToken, which botocore fills in and
keeps across its retries); ActiveStatementsExceededException and ActiveSessionsExceededException (the
service's limits on running statements and sessions, HTTP 400) are retried here with backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

from sparkify.config import Config
from sparkify.dataapi.errors import SessionEnded, StatementTooLarge, first_line, statement_error
from sparkify.dataapi.params import MAX_STATEMENT_BYTES, to_named
from sparkify.dataapi.results import column_name, field_value
from sparkify.errors import WarehouseError

log = logging.getLogger("sparkify.dataapi")

# How long Redshift keeps a session after its last statement finished. It must outlast the longest pause
# between two statements of a run (listing the sources, writing a manifest: minutes for 100,000s of objects),
# and it is how long a killed run's open transaction, and its ETL lock, can outlive the process.
SESSION_KEEPALIVE_S = 600
PROGRESS_EVERY_S = 5.0
POLL_FIRST_S = 0.02  # the first DescribeStatement comes this soon; then the delay grows to POLL_MAX_S
POLL_FACTOR = 1.6
POLL_MAX_S = 1.0
# ExecuteStatement refused for the service's limits (statements running, sessions open): retried this often.
BUSY_CODES = ("ActiveStatementsExceededException", "ActiveSessionsExceededException")
BUSY_RETRIES = (1.0, 2.0, 4.0, 8.0, 16.0)
_DONE = ("FINISHED", "FAILED", "ABORTED")


@dataclass(frozen=True)
class Target:
    """The warehouse and credentials of every session's first request."""

    kind: str  # "cluster" | "serverless"
    name: str  # cluster identifier or workgroup name
    region: str
    database: str
    db_user: str | None = None  # a cluster's database user (temporary credentials), without a secret
    secret_arn: str | None = None

    def request(self) -> dict:
        """ExecuteStatement's parameters naming the warehouse, the database and the credentials."""
        out = {"Database": self.database}
        out["ClusterIdentifier" if self.kind == "cluster" else "WorkgroupName"] = self.name
        if self.secret_arn:
            out["SecretArn"] = self.secret_arn
        elif self.kind == "cluster":
            out["DbUser"] = self.db_user
        return out

    def describe(self) -> str:
        what = "cluster" if self.kind == "cluster" else "workgroup"
        who = ("the user of secret " + self.secret_arn.rsplit(":", 1)[-1] if self.secret_arn
               else f"user {self.db_user}" if self.kind == "cluster" else "your IAM identity")
        return f"Redshift {what} {self.name} in {self.region}, database {self.database}, as {who}, over the Data API"


def target_of(config: Config) -> Target:
    """The warehouse [CLUSTER] HOST names (its endpoint), else the one [DWH] names (sparkify.dbauth)."""
    from sparkify import dbauth

    where = dbauth.target_of(config)
    cluster = config.cluster
    return Target(where.kind, where.name, where.region, cluster.db_name,
                  db_user=cluster.db_user or None, secret_arn=cluster.secret_arn)


def make_client(config: Config, region: str):
    """A redshift-data client with the configured credentials (boto3 honours AWS_ENDPOINT_URL_REDSHIFT_DATA)."""
    from botocore.config import Config as BotoConfig

    from sparkify import dbauth

    return dbauth.make_session(config).client(
        "redshift-data", region_name=region,
        config=BotoConfig(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60))


@dataclass
class Result:
    """One statement's outcome: its columns (name, typeName) and rows if it returned any, else the rows it changed."""

    statement_id: str
    columns: list[tuple[str, str]] | None = None
    rows: list[tuple] = field(default_factory=list)
    rowcount: int = -1


class DataApiConnection:
    """A psycopg2-like connection whose statements go through the Data API, in one session (see the module
    docstring). `names_statements`: sparkify.warehouse.Session passes each statement's name to the cursor."""

    names_statements = True

    def __init__(self, config: Config, *, client=None, keepalive_s: int = SESSION_KEEPALIVE_S,
                 sleep: Callable[[float], None] = time.sleep):
        self.target = target_of(config)
        self.client = client if client is not None else make_client(config, self.target.region)
        self.keepalive_s = keepalive_s
        self.sleep = sleep
        self.autocommit = False
        self.session_id: str | None = None
        self.in_transaction = False
        self.closed = False

    # ------------------------------------------------------------------ the DB-API subset the toolkit uses

    def cursor(self) -> DataApiCursor:
        return DataApiCursor(self)

    def commit(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            self._send("commit", None, "commit")

    def rollback(self) -> None:
        """End the transaction. A session already gone has been rolled back by Redshift: nothing to do."""
        if not self.in_transaction:
            return
        self.in_transaction = False
        try:
            self._send("rollback", None, "rollback")
        except SessionEnded as exc:
            log.debug("rollback: %s", exc)

    def close(self) -> None:
        """Roll back what is open; the session itself ends on its own, SESSION_KEEPALIVE_S after its last statement."""
        if self.in_transaction:
            self.rollback()
        self.closed = True

    def execute(self, sql: str, params=None, *, name: str | None = None) -> Result:
        """Run one statement in the session's transaction (beginning one first, as psycopg2 does)."""
        if self.closed:
            raise WarehouseError("the Data API connection is closed")
        if not self.autocommit and not self.in_transaction:
            self._send("begin", None, "begin")
            self.in_transaction = True
        return self._send(sql, params, name or "statement")

    # ------------------------------------------------------------------ one statement

    def _send(self, sql: str, params, label: str) -> Result:
        text, parameters = to_named(sql, params)
        size = len(text.encode()) + sum(len(p["value"].encode()) for p in parameters)  # (params.statement_bytes)
        if size > MAX_STATEMENT_BYTES:
            raise StatementTooLarge(f"{label}: the statement is {size:,} bytes with its parameters, over the Data "
                                    f"API's limit of {MAX_STATEMENT_BYTES:,}: it cannot be sent")
        request = {"Sql": text, "StatementName": f"sparkify {label}"[:2048]}
        if parameters:
            request["Parameters"] = parameters
        if self.session_id:
            request["SessionId"] = self.session_id
        else:
            request.update(self.target.request(), SessionKeepAliveSeconds=self.keepalive_s)
        started = self._execute_statement(request, label)
        if not self.session_id:
            self.session_id = started.get("SessionId")
            if not self.session_id:
                raise WarehouseError(f"{label}: the Data API answered without a SessionId, so the statements of this "
                                     f"transaction cannot share one session ({self.target.describe()})")
        statement_id = started["Id"]
        try:
            described = self._wait(statement_id, label)
        except KeyboardInterrupt:
            self._cancel(statement_id, label)
            raise
        if described["Status"] != "FINISHED":
            raise statement_error(label, described)
        result = Result(statement_id, rowcount=int(described.get("ResultRows", -1) if
                                                   described.get("ResultRows") is not None else -1))
        if described.get("HasResultSet"):
            result.columns, result.rows = self._rows(statement_id, label)
            result.rowcount = len(result.rows)
        return result

    def _execute_statement(self, request: dict, label: str) -> dict:
        import botocore.exceptions as bx

        for attempt, delay in enumerate((*BUSY_RETRIES, None)):
            try:
                return self.client.execute_statement(**request)
            except bx.ClientError as exc:
                code = (exc.response.get("Error") or {}).get("Code", "")
                message = first_line((exc.response.get("Error") or {}).get("Message", ""))
                if code in BUSY_CODES and delay is not None:
                    log.warning("%s: the Data API is at its limit (%s); retrying in %.0f s", label, code, delay)
                    self.sleep(delay)
                    continue
                if "SessionId" in request and code in ("ValidationException", "ResourceNotFoundException") \
                        and "session" in message.lower():
                    self.session_id, self.in_transaction = None, False
                    raise SessionEnded(f"{label}: the Data API session of this transaction has ended ({message}); "
                                       f"Redshift rolled the transaction back: run again") from None
                raise self._aws_error(exc, f"running {label} on") from None
            except bx.BotoCoreError as exc:
                raise self._aws_error(exc, f"running {label} on") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, statement_id: str, label: str, *, quiet: bool = False, timeout_s: float | None = None) -> dict:
        """DescribeStatement until the statement is done, with backoff; a progress line every PROGRESS_EVERY_S."""
        delay = POLL_FIRST_S
        started = last = time.monotonic()
        while True:
            described = self._call("describe_statement", label, Id=statement_id)
            status = described.get("Status")
            if status in _DONE:
                return described
            now = time.monotonic()
            if timeout_s is not None and now - started > timeout_s:
                return described
            if not quiet and now - last >= PROGRESS_EVERY_S:
                log.info("%s: running on Redshift for %.0f s (%s)", label, now - started, status)
                last = now
            self.sleep(delay)
            delay = min(delay * POLL_FACTOR, POLL_MAX_S)

    def _cancel(self, statement_id: str, label: str) -> None:
        """Ctrl-C: cancel the running statement and wait (bounded) until Redshift has stopped it, so that the
        session can take the caller's rollback."""
        log.warning("%s: interrupted: cancelling it on Redshift", label)
        try:
            self.client.cancel_statement(Id=statement_id)
            self._wait(statement_id, label, quiet=True, timeout_s=30)
        except Exception as exc:  # noqa: BLE001 - the statement may have ended meanwhile; the rollback follows
            log.debug("%s: cancel: %s", label, exc)

    def _rows(self, statement_id: str, label: str) -> tuple[list[tuple[str, str]], list[tuple]]:
        """Every page of the statement's result, typed (sparkify.dataapi.results)."""
        columns: list[tuple[str, str]] | None = None
        rows: list[tuple] = []
        token = None
        while True:
            page = self._call("get_statement_result", label, Id=statement_id, **({"NextToken": token} if token else {}))
            if columns is None:
                columns = [(column_name(c), c.get("typeName", "")) for c in page.get("ColumnMetadata", [])]
            types = [t for _, t in columns]
            rows += [tuple(field_value(f, t) for f, t in zip(record, types)) for record in page.get("Records", [])]
            token = page.get("NextToken")
            if not token:
                return columns, rows

    def _call(self, operation: str, label: str, **kwargs) -> dict:
        import botocore.exceptions as bx

        try:
            return getattr(self.client, operation)(**kwargs)
        except (bx.ClientError, bx.BotoCoreError) as exc:
            raise self._aws_error(exc, f"reading the outcome of {label} on") from None

    def _aws_error(self, exc: BaseException, action: str) -> WarehouseError:
        from sparkify.aws.errors import aws_error_message

        log.debug("%s %s", action, self.target.describe(), exc_info=exc)
        message = aws_error_message(exc, action=action, resource=self.target.describe(), region=self.target.region)
        return WarehouseError(f"[CLUSTER] TRANSPORT = data-api: {message}")


class DataApiCursor:
    """A DB-API cursor over DataApiConnection: execute, then description, rowcount, fetchone, fetchall."""

    def __init__(self, conn: DataApiConnection):
        self.conn = conn
        self._result: Result | None = None
        self._next = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def execute(self, sql: str, params=None, *, name: str | None = None) -> None:
        self._result, self._next = None, 0
        self._result = self.conn.execute(sql, params, name=name)

    @property
    def description(self):
        if self._result is None or self._result.columns is None:
            return None
        return [(name, type_name, None, None, None, None, None) for name, type_name in self._result.columns]

    @property
    def rowcount(self) -> int:
        return -1 if self._result is None else self._result.rowcount

    def fetchone(self):
        rows = self._rows()
        if self._next >= len(rows):
            return None
        self._next += 1
        return rows[self._next - 1]

    def fetchall(self) -> list:
        rows = self._rows()
        out, self._next = rows[self._next:], len(rows)
        return out

    def _rows(self) -> list[tuple]:
        if self._result is None or self._result.columns is None:
            raise WarehouseError("no result to fetch: the last statement returned no rows")
        return self._result.rows

    def copy_expert(self, sql, file, size=None) -> None:
        raise WarehouseError("COPY ... FROM STDIN cannot go through the Data API (Redshift has no COPY FROM STDIN)")

    def close(self) -> None:
        self._result = None
