"""The schema versions of sql_queries.versions (pure): versions in order, migrations of shapes Redshift runs inside
a transaction block, the current schema reachable from the first release, and what each job is told about a
warehouse (sparkify.schema.SchemaFound). The upgrade itself, from git history: tests/db/test_upgrade.py."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

import sql_queries
from sparkify.schema import SchemaFound, created_rows
from sql_queries import Migration, Statement, When

# What Redshift runs inside a transaction block, as a migration may send it (see sql_queries.versions).
_ALLOWED = re.compile(r"^\s*(create table \w+ \(|alter table \w+ (add column \w+ |rename (to|column) )|insert into |update )",
                      re.IGNORECASE)
_ADD_COLUMN_REFUSED = re.compile(r"\b(identity|primary\s+key|unique|sortkey|distkey|references)\b", re.IGNORECASE)


def transaction_safe(sql: str) -> str | None:
    """Why Redshift would not run `sql` as a migration's step inside the upgrade's transaction, or None."""
    if not _ALLOWED.match(sql):
        return "not a CREATE TABLE, ALTER TABLE ... ADD COLUMN / RENAME, INSERT or UPDATE"
    if re.match(r"^\s*alter table \w+ add column", sql, re.IGNORECASE):
        if "," in sql.split("add column", 1)[1].split("(")[0]:
            return "one column per ALTER TABLE ... ADD COLUMN"
        if _ADD_COLUMN_REFUSED.search(sql):
            return "an added column cannot be an IDENTITY, key, UNIQUE, SORTKEY or DISTKEY column"
        if re.search(r"\bnot\s+null\b", sql, re.IGNORECASE) and not re.search(r"\bdefault\b", sql, re.IGNORECASE):
            return "an added NOT NULL column needs a DEFAULT"
    return None


@pytest.mark.parametrize("sql, why", [
    ("alter table users alter column first_name type varchar(512)", "not a CREATE TABLE"),
    ("truncate staging_events", "not a CREATE TABLE"),
    ("vacuum songplays", "not a CREATE TABLE"),
    ("alter table songplays append from staging", "not a CREATE TABLE"),
    ("alter table users add column score integer not null", "needs a DEFAULT"),
    ("alter table users add column n bigint identity(0, 1)", "cannot be an IDENTITY"),
    ("alter table songplays add column d date sortkey", "cannot be an IDENTITY"),
    ("alter table users add column score integer not null default 0", None),
    ("alter table users rename column level to tier", None),
    ("create table report_days (day date not null) diststyle all", None),
])
def test_the_shape_rule_refuses_what_redshift_refuses_in_a_transaction(sql, why):
    result = transaction_safe(sql)
    assert (result is None) if why is None else (result is not None and why in result)


@pytest.mark.parametrize("migration", sql_queries.MIGRATIONS, ids=lambda m: m.name)
def test_each_migration_runs_inside_a_redshift_transaction(migration):
    """(A step declared When.POSTGRES is never sent to Redshift.)"""
    assert migration.steps and migration.description
    for step in migration.steps:
        if When.POSTGRES not in step.when:
            assert transaction_safe(step.sql) is None, (step.name, transaction_safe(step.sql))


def test_versions_follow_each_other_from_the_first_release():
    assert list(sql_queries.BASELINE) == [1] == list(sql_queries.RELEASE_TABLES)
    assert [m.version for m in sql_queries.MIGRATIONS] == list(range(2, sql_queries.SCHEMA_VERSION + 1))
    assert set(sql_queries.DESCRIPTIONS) == set(range(1, sql_queries.SCHEMA_VERSION + 1))
    assert sql_queries.upgrade_job.statements[-len(sql_queries.MIGRATIONS) - 1:-1] == sql_queries.MIGRATIONS


def created_tables(statements) -> list[str]:
    return [m[1] for s in statements if (m := re.match(r"\s*create table (\w+)", s.sql))]


def test_the_current_tables_are_the_first_release_s_and_those_the_migrations_create():
    """A table added to sql_queries.ddl without its migration fails here (the columns: tests/db/test_upgrade.py)."""
    made = created_tables(sql_queries.create_table_queries)
    assert made == list(sql_queries.SCHEMA_TABLES)
    migrated = [*sql_queries.RELEASE_TABLES[1], *created_tables(s for m in sql_queries.MIGRATIONS for s in m.steps)]
    assert sorted(migrated) == sorted(made)
    assert set(made) <= set(sql_queries.KNOWN_TABLES)  # the shape query reads every table of every version


# --------------------------------------------------------------------------------------------------
# What each job is told

RELEASE_1 = dict(sql_queries.RELEASE_TABLES[1])
CURRENT = sql_queries.SCHEMA_VERSION
FIX = "run create_tables.py --upgrade, which keeps every row and the load ledger"


def versioned(version: int | None) -> SchemaFound:
    return SchemaFound({**RELEASE_1, sql_queries.VERSION_TABLE: ("version",)}, recorded=version)


@pytest.mark.parametrize("found, for_etl, for_upgrade", [
    (versioned(CURRENT), None, None),
    (SchemaFound(RELEASE_1), f"and this toolkit needs version {CURRENT}: {FIX}", None),
    (versioned(CURRENT + 1), "newer than this toolkit's", "newer than this toolkit's"),
    (SchemaFound(), "none of the toolkit's tables: run create_tables.py, then etl.py",
     "none of the toolkit's tables: nothing to upgrade: run create_tables.py without --upgrade, then etl.py"),
    (versioned(None), "holds no version", "holds no version"),
    (SchemaFound({**RELEASE_1, "users": ("user_id",)}), "other columns in: users", "other columns in: users"),
    (SchemaFound({t: c for t, c in RELEASE_1.items() if t not in ("loaded_objects", "song_records")}),
     "made before the load ledger", "made before the load ledger"),
], ids=["current", "release 1", "newer", "empty", "no version", "other columns", "before the ledger"])
def test_what_a_job_is_told(found, for_etl, for_upgrade):
    for problem, expected in ((found.problem(current=True), for_etl), (found.problem(current=False), for_upgrade)):
        assert (problem is None) if expected is None else (expected in problem), problem


def test_the_rows_each_job_records():
    at = datetime(2026, 12, 7)
    following = Migration("next", "", version=CURRENT + 1, description="the next",
                          steps=(Statement("s", "create table x (a int)"),))
    migrations = (*sql_queries.MIGRATIONS, following)
    assert SchemaFound(RELEASE_1).rows(migrations, at) == [
        (1, sql_queries.DESCRIPTIONS[1], "recognised", at),
        *((m.version, m.description, "upgraded", at) for m in migrations)]
    assert versioned(CURRENT).rows(migrations, at) == [(CURRENT + 1, "the next", "upgraded", at)]
    assert versioned(CURRENT + 1).rows(migrations, at) == []
    assert [v for v, _, how, _ in created_rows(sql_queries.MIGRATIONS, at)] == list(range(1, CURRENT + 1))
