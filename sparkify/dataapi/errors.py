"""A statement that Redshift failed or aborted over the Data API, as the database error it is.

DescribeStatement gives a failed statement's Redshift error as text only (no SQLSTATE). These errors are
subclasses of psycopg2's (the DB-API's) error classes, so the code that handles a database error handles it
whatever the transport: a missing table is an UndefinedTable, a statement_timeout a QueryCanceled (the ETL
lock's wait), anything else a DatabaseError. The message is one line: the statement's name (in
sql_queries) and Redshift's error.
"""

from __future__ import annotations

import psycopg2
import psycopg2.errors

from sparkify.errors import WarehouseError


class DataApiError(psycopg2.DatabaseError):
    """A statement FAILED or was ABORTED: `statement` its name, `redshift_error` Redshift's text."""

    def __init__(self, message: str, *, statement: str = "", statement_id: str = "", redshift_error: str = ""):
        super().__init__(message)
        self.statement = statement
        self.statement_id = statement_id
        self.redshift_error = redshift_error


class DataApiUndefinedTable(DataApiError, psycopg2.errors.UndefinedTable):
    """Redshift's 'relation "x" does not exist'."""


class DataApiQueryCanceled(DataApiError, psycopg2.errors.QueryCanceled):
    """The statement ran past statement_timeout (or was cancelled)."""


class StatementTooLarge(WarehouseError):
    """A statement over the Data API's size limit (sparkify.dataapi.params.MAX_STATEMENT_BYTES)."""


class SessionEnded(WarehouseError):
    """The Data API session of a transaction is gone (expired or unknown): Redshift rolled its transaction back."""


def first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def statement_error(label: str, described: dict) -> DataApiError:
    """The error for a FAILED or ABORTED statement (DescribeStatement's answer), named after `label`."""
    status = described.get("Status", "FAILED")
    error = first_line(described.get("Error", "")) or ("cancelled" if status == "ABORTED" else "no error text")
    verb = "was aborted" if status == "ABORTED" else "failed"
    message = f"{label} {verb} on Redshift: {error}"
    kind = DataApiError
    lowered = error.lower()
    if "does not exist" in lowered and ("relation" in lowered or "table" in lowered):
        kind = DataApiUndefinedTable
    elif "statement timeout" in lowered or status == "ABORTED":
        kind = DataApiQueryCanceled
    return kind(message, statement=label, statement_id=described.get("Id", ""), redshift_error=error)
