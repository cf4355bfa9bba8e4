"""A local Redshift Data API on 127.0.0.1 that runs each statement on the embedded PostgreSQL, for the tests of
[CLUSTER] TRANSPORT = data-api (moto's redshift-data returns canned results, so it can only check request shapes).

boto3 reaches it through AWS_ENDPOINT_URL_REDSHIFT_DATA; it speaks the AWS JSON 1.1 protocol
(X-Amz-Target: RedshiftData.<Operation>) with AWS's error shapes, for the operations the toolkit calls:
ExecuteStatement, DescribeStatement, GetStatementResult, CancelStatement.

What it does as Redshift would:
- a session (SessionKeepAliveSeconds) is one PostgreSQL connection, in autocommit mode, so `begin` ...
  `commit` are the transaction; statements run asynchronously (SUBMITTED -> STARTED -> FINISHED, FAILED or
  ABORTED) in a thread, and a failed one leaves the transaction aborted, as Redshift does;
- the DDL is translated as the local engine translates it (sparkify.warehouse.translate_for_postgres);
- `COPY ... FROM 's3://...'` is read back into a CopySpec (tests.helpers.dataapi.sqltext.parse_copy) and served by the
  project's emulator from moto's S3; rejected records go to sys_load_error_detail, `pg_last_copy_id()` names the
  session's last COPY, and `version()` answers like Redshift (functions of a `standin` schema on the
  database's search path);
- results are pages of `page_rows` records (NextToken), typed fields (longValue, doubleValue, booleanValue,
  stringValue, isNull) with ColumnMetadata; timestamps written as Redshift writes them ('2022-02-22 00:00:00.0').

Where AWS refuses, it refuses: an unknown or expired SessionId, a statement sent into a session that is still
running one, a statement over the size limit, parameters that do not match the text, a SessionId together
with the warehouse's names, an unknown cluster or workgroup, a cancel of a statement that is not running, a
result row over 64 KB. A session idle for its keep-alive (on the stand-in's clock, which tests can advance)
is closed, which rolls back its open transaction, as Redshift ends an abandoned session.

Test hooks: `pause_on(text)` holds the next statement containing `text` before it runs (STARTED), until
released or cancelled; `advance(seconds)` moves the clock; every request is recorded (`requests`, `calls`).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field, replace

import psycopg2
import psycopg2.extensions

from sparkify import sqlscan
from sparkify.copy.load_errors import LOAD_ERRORS_DDL, VIEW
from sparkify.warehouse import translate_for_postgres
from tests.helpers.awsjson import json_service
from tests.helpers.dataapi.sqltext import ParameterError, bind_named, is_copy, parse_copy

_pg_connect = psycopg2.connect  # taken at import: tests refuse psycopg2.connect to the toolkit, not to us

MAX_STATEMENT_BYTES = 100_000  # "The maximum query statement size is 100 KB" (data-api.html)
MAX_ROW_BYTES = 64 * 1024  # "The Data API size limit is 64 KB per row" (data-api-troubleshooting.html)
RUNNING = ("SUBMITTED", "PICKED", "STARTED")
REDSHIFT_VERSION = ("PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 "
                    "(Red Hat 3.4.2-6.fc3), Redshift 1.0.77467 (Data API stand-in on PostgreSQL)")
SETUP = [
    "create schema if not exists standin",
    "create table if not exists standin.last_copy (pid integer primary key, query bigint not null)",
    """create or replace function standin.pg_last_copy_id() returns bigint language sql stable as
       $$ select coalesce((select query from standin.last_copy where pid = pg_backend_pid()), -1) $$""",
    (f"create or replace function standin.version() returns text language sql immutable as $$ select "
     f"'{REDSHIFT_VERSION}'::text $$"),
    f"create sequence if not exists {VIEW}_query_seq",
    LOAD_ERRORS_DDL,  # Redshift's SYS_LOAD_ERROR_DETAIL, there before any COPY
]
# PostgreSQL type oids -> (the Data API's typeName, the Field member); anything else is a stringValue.
_TYPES = {16: ("bool", "booleanValue"), 20: ("int8", "longValue"), 21: ("int2", "longValue"),
          23: ("int4", "longValue"), 26: ("oid", "longValue"), 700: ("float4", "doubleValue"),
          701: ("float8", "doubleValue"), 1700: ("numeric", "stringValue"), 1114: ("timestamp", "stringValue"),
          1184: ("timestamptz", "stringValue"), 1082: ("date", "stringValue"), 1043: ("varchar", "stringValue"),
          25: ("varchar", "stringValue"), 1042: ("bpchar", "stringValue"), 19: ("name", "stringValue")}


class DataApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Session:
    id: str
    conn: object
    keepalive: int
    database: str
    last_done: float
    running: Statement | None = None
    closed: bool = False


@dataclass
class Statement:
    id: str
    sql: str
    parameters: list | None
    session: Session | None
    created: float
    database: str = ""
    name: str = ""
    status: str = "SUBMITTED"
    error: str = ""
    columns: list | None = None
    rows: list = field(default_factory=list)
    result_rows: int = -1
    updated: float = 0.0
    pid: int = 0
    cancelled: bool = False
    executing: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class Pause:
    """The next statement whose text contains `text` waits before running until release() (or its cancel)."""

    def __init__(self, text: str):
        self.text = text
        self.reached = threading.Event()
        self.released = threading.Event()
        self.statement: Statement | None = None

    def release(self) -> None:
        self.released.set()


class DataApiStandIn:
    def __init__(self, dsn: str, *, database: str = "dev", cluster: str | None = "test-dwh",
                 workgroup: str | None = None, s3_endpoint: str | None = None, page_rows: int = 500):
        self.dsn, self.database, self.cluster, self.workgroup = dsn, database, cluster, workgroup
        self.s3_endpoint, self.page_rows = s3_endpoint, page_rows
        self.sessions: dict[str, Session] = {}
        self.expired: set[str] = set()
        self.statements: dict[str, Statement] = {}
        self.requests: list[tuple[str, dict]] = []
        self.pauses: list[Pause] = []
        self._offset = 0.0
        self._query_ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        with self.connect() as conn, conn.cursor() as cur:
            for statement in SETUP:
                cur.execute(statement)
            cur.execute("select current_database()")
            cur.execute(f'alter database "{cur.fetchone()[0]}" set search_path = public, standin, pg_catalog')
        self.server = json_service(self.handle)
        self._threads = [threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                          daemon=True),
                         threading.Thread(target=self._reap, daemon=True)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ for the tests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def connect(self, **kwargs):
        """A psycopg2 connection to the stand-in's database (autocommit), for setting up and reading back."""
        conn = _pg_connect(self.dsn, application_name="data-api-standin", **kwargs)
        conn.autocommit = True
        return conn

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        conn.close()
        return rows

    def now(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock: sessions idle past their keep-alive are closed (within 0.1 s)."""
        self._offset += seconds
        time.sleep(0.3)

    def pause_on(self, text: str) -> Pause:
        pause = Pause(text)
        with self._lock:
            self.pauses.append(pause)
        return pause

    def calls(self, op: str) -> list[dict]:
        return [params for name, params in self.requests if name == op]

    def executed(self) -> list[str]:
        """The SQL of every ExecuteStatement, in order."""
        return [p["Sql"] for p in self.calls("ExecuteStatement")]

    def open_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if not s.closed]

    def close(self) -> None:
        self._stop.set()
        for pause in self.pauses:
            pause.release()
        self.server.shutdown()
        self.server.server_close()
        for session in list(self.sessions.values()):
            self._end(session)

    # ------------------------------------------------------------------ the service

    def handle(self, op: str, params: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append((op, params))
        try:
            method = {"ExecuteStatement": self._execute, "DescribeStatement": self._describe,
                      "GetStatementResult": self._result, "CancelStatement": self._cancel}.get(op)
            if method is None:
                raise DataApiError("UnknownOperationException", f"{op} is not served by the Data API stand-in")
            return 200, method(params)
        except DataApiError as exc:
            return 400, {"__type": exc.code, "Message": str(exc), "message": str(exc)}

    def _execute(self, p: dict) -> dict:
        sql = p["Sql"]
        if len(sql.encode()) > MAX_STATEMENT_BYTES:
            raise DataApiError("ValidationException", "Cannot process query string larger than 100kB")
        try:
            text, values = bind_named(sql, p.get("Parameters"))
        except ParameterError as exc:
            raise DataApiError("ValidationException", str(exc)) from None
        with self._lock:
            if "SessionId" in p:
                named = [k for k in ("ClusterIdentifier", "WorkgroupName", "Database", "DbUser", "SecretArn") if k in p]
                if named:
                    raise DataApiError("ValidationException", f"SessionId cannot be combined with {', '.join(named)}")
                session = self.sessions.get(p["SessionId"])
                if session is None or session.closed:
                    if p["SessionId"] in self.expired:
                        raise DataApiError("ValidationException", f"Session {p['SessionId']} is not available: it "
                                                                  "expired or was closed")
                    raise DataApiError("ResourceNotFoundException", f"Session {p['SessionId']} does not exist")
                if session.running is not None:
                    raise DataApiError("ValidationException", f"Session {session.id} is busy: statement "
                                                              f"{session.running.id} is still running in it")
            else:
                self._check_target(p)
                session = None
                if "SessionKeepAliveSeconds" in p:
                    session = self._new_session(p)
            statement = Statement(str(uuid.uuid4()), sql, p.get("Parameters"), session, time.time(),
                                  database=session.database if session is not None else p["Database"],
                                  name=p.get("StatementName", ""))
            statement.updated = statement.created
            self.statements[statement.id] = statement
            if session is not None:
                session.running = statement
        threading.Thread(target=self._run, args=(statement, text, values), daemon=True).start()
        out = {"Id": statement.id, "CreatedAt": statement.created, "Database": self.database}
        if session is not None:
            out["SessionId"] = session.id
        if self.cluster:
            out["ClusterIdentifier"] = self.cluster
        else:
            out["WorkgroupName"] = self.workgroup
        return out

    def _check_target(self, p: dict) -> None:
        if ("ClusterIdentifier" in p) == ("WorkgroupName" in p):
            raise DataApiError("ValidationException", "give either ClusterIdentifier or WorkgroupName")
        if "Database" not in p:
            raise DataApiError("ValidationException", "Database is required")
        if "ClusterIdentifier" in p:
            if p["ClusterIdentifier"] != self.cluster:
                raise DataApiError("ResourceNotFoundException", f"Cluster {p['ClusterIdentifier']} not found")
            if "DbUser" not in p and "SecretArn" not in p:
                raise DataApiError("ValidationException", "DbUser or SecretArn is required for a cluster")
        else:
            if p["WorkgroupName"] != self.workgroup:
                raise DataApiError("ResourceNotFoundException", f"Workgroup {p['WorkgroupName']} not found")
            if "DbUser" in p:
                raise DataApiError("ValidationException", "DbUser cannot be used with a workgroup (the database "
                                                          "user is derived from the IAM identity)")
        if not 0 <= int(p.get("SessionKeepAliveSeconds", 0)) <= 86400:
            raise DataApiError("ValidationException", "SessionKeepAliveSeconds must be 0 to 86400")

    def _new_session(self, p: dict) -> Session:
        conn = self.connect() if p["Database"] == self.database else None
        session = Session(str(uuid.uuid4()), conn, int(p["SessionKeepAliveSeconds"]), p["Database"], self.now())
        self.sessions[session.id] = session
        return session

    # ------------------------------------------------------------------ running a statement

    def _run(self, st: Statement, text: str, values: dict | None) -> None:
        session = st.session
        if session is not None:
            conn = session.conn
        else:  # a statement of its own, in a transaction of its own
            conn = self.connect() if st.database == self.database else None
        try:
            self._wait_if_paused(st)
            with self._lock:
                if st.cancelled:
                    raise _Aborted()
                st.status, st.updated, st.executing = "STARTED", time.time(), True
            if conn is None:
                raise _Failed(f'FATAL: database "{st.database}" does not exist')
            st.pid = conn.get_backend_pid()
            if is_copy(text):
                self._copy(conn, st, text)
            else:
                self._statement(conn, st, text, values)
            status = "FINISHED"
        except _Aborted:
            status, st.error = "ABORTED", "Query cancelled on user's request"
        except _Failed as exc:
            status, st.error = ("ABORTED", "Query cancelled on user's request") if st.cancelled else ("FAILED", str(exc))
        except psycopg2.Error as exc:
            if st.cancelled:
                status, st.error = "ABORTED", "Query cancelled on user's request"
            else:
                status, st.error = "FAILED", "ERROR: " + _first_line(exc.pgerror or str(exc)).removeprefix("ERROR:").strip()
        finally:
            if session is None and conn is not None:
                conn.close()
        with self._lock:
            st.status, st.updated, st.executing = status, time.time(), False
            if session is not None:
                session.running, session.last_done = None, self.now()
        st.done.set()

    def _wait_if_paused(self, st: Statement) -> None:
        with self._lock:
            pause = next((p for p in self.pauses if p.statement is None and p.text in st.sql), None)
            if pause is None:
                return
            pause.statement = st
            st.status = "STARTED"
        pause.reached.set()
        while not pause.released.wait(0.05):
            if st.cancelled or self._stop.is_set():
                return

    def _statement(self, conn, st: Statement, text: str, values: dict | None) -> None:
        views = sqlscan.provisioned_only_views(text) if self.workgroup else ()
        if views:  # Redshift Serverless has no STL/STV/SVL/SVCS views
            raise _Failed(f'ERROR: relation "{views[0].lower()}" does not exist')
        with conn.cursor() as cur:
            cur.execute(translate_for_postgres(text), values)
            if cur.description is None:
                st.result_rows = cur.rowcount
                return
            kinds = [_TYPES.get(d.type_code, ("varchar", "stringValue")) for d in cur.description]
            st.columns = [{"name": d.name, "label": d.name, "typeName": kind[0], "nullable": 1, "isSigned": True,
                           "isCaseSensitive": kind[1] == "stringValue", "isCurrency": False, "precision": 0,
                           "scale": 0, "schemaName": "", "tableName": ""} for d, kind in zip(cur.description, kinds)]
            for row in cur.fetchall():
                record = [_field(value, kind[1]) for value, kind in zip(row, kinds)]
                if len(json.dumps(record)) > MAX_ROW_BYTES:
                    raise _Failed("Packet for query is too large: a row of the result is over 64 KB")
                st.rows.append(record)
            st.result_rows = len(st.rows)

    def _copy(self, conn, st: Statement, text: str) -> None:
        """Redshift's COPY from S3, by the project's emulator; a failure aborts the transaction, as Redshift's."""
        from sparkify.copy.emulator import emulate_copy
        from sparkify.errors import LoadError

        spec = replace(parse_copy(text), endpoint_url=self.s3_endpoint)
        try:
            result = emulate_copy(conn, spec, error_conn_factory=self.connect)
        except LoadError as exc:
            self._last_copy(conn, exc.rejected)
            if conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS:
                try:
                    conn.cursor().execute("select 1 / 0")  # the transaction is aborted, as Redshift's would be
                except psycopg2.Error:
                    pass
            raise _Failed(f"ERROR: Load into table '{spec.table}' failed.  Check 'sys_load_error_detail' system "
                          f"view for details.") from None
        self._last_copy(conn, result.errors)
        st.result_rows = result.loaded

    def _last_copy(self, conn, errors: list[dict]) -> None:
        """Record the COPY's query id for pg_last_copy_id() of its session: that of its sys_load_error_detail rows."""
        with self.connect() as other, other.cursor() as cur:
            query = next((e["query_id"] for e in errors if e.get("query_id") is not None), None)
            if query is None:
                cur.execute(f"select nextval('{VIEW}_query_seq')")
                query = cur.fetchone()[0]
            cur.execute("insert into standin.last_copy (pid, query) values (%s, %s) on conflict (pid) do update "
                        "set query = excluded.query", (conn.get_backend_pid(), query))
        other.close()

    # ------------------------------------------------------------------ reading and cancelling

    def _statement_of(self, p: dict) -> Statement:
        st = self.statements.get(p["Id"])
        if st is None:
            raise DataApiError("ResourceNotFoundException", f"Query {p['Id']} does not exist")
        return st

    def _describe(self, p: dict) -> dict:
        st = self._statement_of(p)
        with self._lock:
            out = {"Id": st.id, "Status": st.status, "QueryString": st.sql, "CreatedAt": st.created,
                   "UpdatedAt": st.updated, "HasResultSet": st.columns is not None, "Database": self.database,
                   "ResultRows": st.result_rows, "ResultSize": -1, "RedshiftPid": st.pid,
                   "RedshiftQueryId": next(self._query_ids), "Duration": -1}
            if st.status == "FAILED" or st.status == "ABORTED":
                out["Error"] = st.error
            if st.session is not None:
                out["SessionId"] = st.session.id
            if st.parameters:
                out["QueryParameters"] = st.parameters
        return out

    def _result(self, p: dict) -> dict:
        st = self._statement_of(p)
        if st.status != "FINISHED":
            raise DataApiError("ValidationException", f"Query {st.id} has not finished: it is {st.status}")
        if st.columns is None:
            raise DataApiError("ResourceNotFoundException", f"Query {st.id} does not have result")
        start = 0
        if p.get("NextToken"):
            try:
                token_id, start = base64.b64decode(p["NextToken"]).decode().rsplit(":", 1)
                start = int(start)
                assert token_id == st.id
            except Exception:  # noqa: BLE001 - any malformed token
                raise DataApiError("ValidationException", "invalid NextToken") from None
        page = st.rows[start:start + self.page_rows]
        out = {"Records": page, "ColumnMetadata": st.columns, "TotalNumRows": len(st.rows)}
        if start + self.page_rows < len(st.rows):
            out["NextToken"] = base64.b64encode(f"{st.id}:{start + self.page_rows}".encode()).decode()
        return out

    def _cancel(self, p: dict) -> dict:
        st = self._statement_of(p)
        with self._lock:
            if st.status not in RUNNING:
                raise DataApiError("ValidationException", f"Could not cancel a query that is already in {st.status} "
                                                          "state")
            st.cancelled = True
            executing = st.executing
        if executing and st.session is not None:
            st.session.conn.cancel()
        return {"Status": True}

    # ------------------------------------------------------------------ sessions' end

    def _reap(self) -> None:
        while not self._stop.wait(0.05):
            now = self.now()
            with self._lock:
                idle = [s for s in self.sessions.values()
                        if not s.closed and s.running is None and now - s.last_done > s.keepalive]
            for session in idle:
                self._end(session)

    def _end(self, session: Session) -> None:
        """Close the session's connection: PostgreSQL rolls back its open transaction, as Redshift does."""
        with self._lock:
            if session.closed:
                return
            session.closed = True
            self.expired.add(session.id)
        if session.conn is not None:
            session.conn.close()


class _Failed(Exception):
    pass


class _Aborted(Exception):
    pass


def _first_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else "error"


def _field(value, member: str) -> dict:
    if value is None:
        return {"isNull": True}
    if member == "stringValue":
        if isinstance(value, dt.datetime):
            fraction = f"{value.microsecond:06d}".rstrip("0") or "0"
            text = value.strftime("%Y-%m-%d %H:%M:%S") + "." + fraction
            if value.tzinfo is not None:
                text += value.strftime("%z")[:3]
            return {"stringValue": text}
        if isinstance(value, (dt.date, decimal.Decimal)):
            return {"stringValue": str(value)}
        return {"stringValue": str(value)}
    if member == "longValue":
        return {"longValue": int(value)}
    if member == "doubleValue":
        return {"doubleValue": float(value)}
    return {member: value}
