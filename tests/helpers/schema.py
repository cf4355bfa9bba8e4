"""The warehouse's schema as the tests need it, taken from sql_queries (never copied into a test): a table's
CREATE TABLE, in Redshift's dialect or as the local engines run it, and its columns in order."""

from __future__ import annotations

import functools

import sql_queries
from sql_queries import ALL_TABLES, BOOKKEEPING_TABLES, SCHEMA_TABLES, STAGING_TABLES, STAR_TABLES

__all__ = ["ALL_TABLES", "BOOKKEEPING_TABLES", "SCHEMA_TABLES", "STAGING_TABLES", "STAR_TABLES", "columns",
           "create_statement", "postgres_ddl"]


@functools.cache
def create_statement(table: str) -> str:
    """The Redshift CREATE TABLE of `table`, as sql_queries.create_table_queries holds it."""
    from sparkify.preflight.database import ddl_columns

    found = [s.sql for s in sql_queries.create_table_queries if ddl_columns(s.sql)[0] == table]
    if len(found) != 1:
        raise LookupError(f"sql_queries.create_table_queries creates {table!r} {len(found)} times")
    return found[0]


def postgres_ddl(table: str) -> str:
    """The CREATE TABLE of `table` as the local engines run it (sparkify.warehouse.translate_for_postgres)."""
    from sparkify.warehouse import translate_for_postgres

    return translate_for_postgres(create_statement(table))


def columns(table: str) -> tuple[str, ...]:
    """The columns of `table`, in the order its CREATE TABLE declares them (COPY's order for staging)."""
    from sparkify.preflight.database import ddl_columns

    return tuple(ddl_columns(create_statement(table))[1])
