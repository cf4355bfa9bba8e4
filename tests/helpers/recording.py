"""A recording stand-in for psycopg2 connections: what the toolkit would send to Redshift, in order, with BEGIN,
COMMIT and ROLLBACK where psycopg2 sends them, without a cluster (the `recorded` fixture installs it); as strict as
Redshift Serverless when the HOST is a workgroup's endpoint."""

from __future__ import annotations

from typing import ClassVar


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = [("c",)]
        self.rowcount = 0
        self._rows = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        from sparkify.sqlscan import provisioned_only_views
        from sparkify.warehouse import render_params

        sql = render_params(sql, params)
        views = provisioned_only_views(sql) if self.conn.serverless else []
        if views:  # as Redshift Serverless: no STL, STV, SVL or SVCS view (the statement is not recorded as sent)
            import psycopg2.errors

            self.conn.log.refused.append(sql)
            raise psycopg2.errors.FeatureNotSupported(
                f"{', '.join(views)}: provisioned-only system view, not available on Redshift Serverless (stand-in)")
        if not self.conn.autocommit and not self.conn.in_transaction:
            self.conn.log.append("begin")
            self.conn.in_transaction = True
        self.conn.log.append(sql.strip())
        self._rows = next((rows for match, rows in self.conn.results.items() if match in sql), None)
        if self.conn.fail_on and self.conn.fail_on(sql):
            import psycopg2

            raise psycopg2.InternalError("Load into table 'staging_events' failed.  Check 'stl_load_errors' "
                                         "system table for details.")

    def fetchone(self):
        if self._rows is not None:
            return self._rows[0] if self._rows else None
        return (0,) * 20  # a count (first column), the previous run's totals, a group of checks' counts

    def fetchall(self):
        return list(self._rows or [])

    def close(self):
        pass


class FakeConnection:
    """Records every statement psycopg2 would send, with BEGIN/COMMIT/ROLLBACK where psycopg2 sends them. With
    `serverless` it refuses, as a Redshift Serverless workgroup does, a statement that names a provisioned-only
    system view (STL_, STV_, SVL_, SVCS_; read as the server reads names, sparkify.sqlscan), and lists it in
    `log.refused`."""

    def __init__(self, log: list, fail_on=None, results: dict | None = None, serverless: bool = False):
        self.log = log
        self.serverless = serverless
        self.autocommit = False
        self.in_transaction = False
        self.fail_on = fail_on
        self.results = results if results is not None else {}  # a statement's text holding KEY returns VALUE

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        if self.in_transaction:
            self.log.append("commit")
        self.in_transaction = False

    def rollback(self):
        if self.in_transaction:
            self.log.append("rollback")
        self.in_transaction = False

    def close(self):
        pass


class Recorder(list):
    """The statements 'sent' over every connection `connect` made. Set `fail_on = predicate(sql)` to make a
    statement fail, `results[text] = rows` for what a statement containing `text` returns (by default: a
    warehouse at the current schema version; no rows for fetchall, zeros for fetchone). A connection to a
    Redshift Serverless endpoint (its HOST) is as strict as the workgroup: what it refuses is in `refused`."""

    fail_on = None
    connects: ClassVar[list] = []
    results: ClassVar[dict] = {}
    refused: ClassVar[list] = []

    def __init__(self):
        import sql_queries

        super().__init__()
        self.connects = []
        self.refused = []
        # a warehouse at the current schema version (what schema_tables_select and schema_version_select read)
        self.results = {"pg_catalog.pg_attribute": [(sql_queries.VERSION_TABLE, "version")],
                        "from schema_versions": [(sql_queries.SCHEMA_VERSION,)]}

    def connect(self, *args, **kwargs) -> FakeConnection:
        """What replaces psycopg2.connect."""
        from sparkify.awsnames import parse_redshift_host

        self.connects.append(kwargs)
        endpoint = parse_redshift_host(kwargs.get("host"))
        return FakeConnection(self, fail_on=lambda sql: self.fail_on(sql) if self.fail_on else False,
                              results=self.results, serverless=endpoint is not None and endpoint.kind == "serverless")
