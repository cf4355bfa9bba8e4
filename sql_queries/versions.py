"""The warehouse's schema versions: what each release's tables look like, and the migrations between them.

A warehouse records its version in schema_versions (sql_queries.ddl), one row per version it reached.
create_tables.py makes the current version; `create_tables.py --upgrade` brings an earlier one up to it in
place, Flyway- or Alembic-style: MIGRATIONS is the ordered list of versions after the first, each a named list
of additive statements (sql_queries.Migration), and the upgrade sends, in one transaction under the ETL lock,
every migration the warehouse has not reached and the rows that record them. Adding a version is one entry
here (and the same change in sql_queries.ddl, which makes the current schema from scratch).

A warehouse made before versions were recorded has no schema_versions: the upgrade recognises its version by
the shape of its tables (RELEASE_TABLES: each table's columns, in order), read from PostgreSQL's catalog,
which Redshift shares (pg_class, pg_attribute, pg_namespace; see "Examples of catalog queries" in the Redshift
developer guide, and CURRENT_SCHEMA, a leader-node function there), and refuses one it cannot recognise.

What Redshift allows inside a transaction block decides the shapes of a migration's statements (the ALTER TABLE
page of the Redshift developer guide): CREATE TABLE; ALTER TABLE ... ADD COLUMN, one column per statement, never
a DISTKEY, SORTKEY, PRIMARY KEY, UNIQUE or IDENTITY column, NOT NULL only with a DEFAULT; ALTER TABLE ... RENAME
(TO, COLUMN); INSERT and UPDATE to fill what they add. Never ALTER COLUMN ... TYPE ("You can't alter columns
within a transaction block"), nor TRUNCATE or ALTER TABLE APPEND (each commits the transaction), nor VACUUM.
tests/unit/test_schema_versions.py holds every migration to that. A step declared When.POSTGRES is sent to the
PostgreSQL engines only (Redshift, and the dry run, never see it).
"""

from __future__ import annotations

from sql_queries.ddl import postgres_index_queries, report_table_queries, schema_versions_table_create
from sql_queries.report_tables import report_migration_fills
from sql_queries.statement import Migration, Params, Result, SchemaGate, Statement, Values, When
from sql_queries.tables import SCHEMA_TABLES

# --------------------------------------------------------------------------- the releases' tables
# Version 1: the release of 2026-11-30 (commit 786cd9d), the first with the load ledger; the first release to
# record its version is version 2. Each table's columns in order, exactly as that release's create_tables.py
# made them (tests/db/test_upgrade.py builds that release's schema from git history and recognises it).
RELEASE_TABLES = {
    1: {
        "staging_events": ("artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length",
                           "level", "location", "method", "page", "registration", "session_id", "song", "status",
                           "ts", "user_agent", "user_id"),
        "staging_songs": ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location",
                          "artist_name", "song_id", "title", "duration", "year"),
        "songplays": ("songplay_id", "start_time", "user_id", "level", "song_id", "artist_id", "session_id",
                      "item_in_session", "location", "user_agent", "song_title", "artist_name", "song_length"),
        "users": ("user_id", "first_name", "last_name", "gender", "level", "last_event_at"),
        "songs": ("song_id", "title", "artist_id", "year", "duration"),
        "artists": ("artist_id", "name", "location", "latitude", "longitude"),
        "time": ("start_time", "hour", "day", "week", "month", "year", "weekday"),
        "song_records": ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location",
                         "artist_name", "song_id", "title", "duration", "year"),
        "loaded_objects": ("table_name", "object_url", "size", "version", "last_modified", "run_id", "loaded_at"),
        "etl_runs": ("run_id", "finished_at", "objects_loaded", "objects_skipped", "objects_missing",
                     "staged_events", "staged_songs", "songplays_added", "songplays_changed", "users_merged",
                     "songs_merged", "artists_merged", "time_added", "songplays_rows", "users_rows", "songs_rows",
                     "artists_rows", "time_rows"),
        "etl_run_checks": ("run_id", "check_name", "description", "offenders"),
    },
}
BASELINE = {1: "the release of 2026-11-30: the load ledger, song_records, etl_runs, etl_run_checks"}

# --------------------------------------------------------------------------- the migrations, in order
schema_v2 = Migration(
    "schema_v2", "", version=2, description="schema_versions: the warehouse records its schema version",
    steps=(schema_versions_table_create,),
    note="schema version 2: {description}")

# Version 3: the report's tables, filled from songplays (sql_queries.report_tables); on the PostgreSQL engines the
# staging tables become UNLOGGED, as create_tables.py now makes them (BACKUP NO on Redshift, which cannot change
# it on an existing table: an upgraded Redshift warehouse keeps its staging tables in its snapshots), and the plays
# and times get their indexes (sql_queries.ddl.postgres_index_queries).
staging_events_unlogged = Statement("staging_events_unlogged", "alter table staging_events set unlogged",
                                    when=(When.POSTGRES,))
staging_songs_unlogged = Statement("staging_songs_unlogged", "alter table staging_songs set unlogged",
                                   when=(When.POSTGRES,))
schema_v3 = Migration(
    "schema_v3", "", version=3,
    description="the tables the analysts report reads, kept by etl.py; staging unlogged on PostgreSQL",
    steps=(*report_table_queries, *report_migration_fills, staging_events_unlogged, staging_songs_unlogged,
           *postgres_index_queries),
    note="schema version 3: {description}")

MIGRATIONS = (schema_v2, schema_v3)
SCHEMA_VERSION = MIGRATIONS[-1].version  # the current version: what create_tables.py makes
DESCRIPTIONS = {**BASELINE, **{m.version: m.description for m in MIGRATIONS}}

# --------------------------------------------------------------------------- reading a warehouse's version
# Every table any version has, by name: the shape of the warehouse is these tables' columns in its current
# schema (where create_tables.py made them: the first schema of the search path).
KNOWN_TABLES = tuple(dict.fromkeys([*SCHEMA_TABLES, *(t for tables in RELEASE_TABLES.values() for t in tables)]))
schema_tables_select = Statement("schema_tables_select", f"""
select c.relname, a.attname
from pg_catalog.pg_class as c
inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
inner join pg_catalog.pg_attribute as a on c.oid = a.attrelid
where n.nspname = current_schema()
  and c.relkind = 'r'
  and a.attnum > 0
  and not a.attisdropped
  and c.relname in ({", ".join(f"'{t}'" for t in KNOWN_TABLES)})
order by c.relname, a.attnum
""", result=Result.SCHEMA_TABLES, note="the warehouse's schema version: its tables, then the version it recorded")

schema_version_select = Statement("schema_version_select", "select max(version) from schema_versions",
                                  when=(When.SCHEMA_VERSIONED,), result=Result.SCHEMA_VERSION)

# etl.py and analytics.py stop here unless the warehouse is at the current version; the upgrade, unless it
# knows the warehouse's version (recorded, or recognised by its tables) and it is not newer than the current.
schema_current = SchemaGate("schema_current", "", current=True)
schema_upgradable = SchemaGate("schema_upgradable", "", current=False)
schema_version_queries = (schema_tables_select, schema_version_select)

# --------------------------------------------------------------------------- recording versions
# One row per version the job reaches ({rows}: one `(%s, %s, %s, %s)` group per version): every version, by
# create_tables.py; by the upgrade, the version it recognised (a warehouse that recorded none) and each
# migration it applied.
schema_versions_insert = Values("schema_versions_insert", """
insert into schema_versions (version, description, how, applied_at)
values {rows}
""", params=Params.SCHEMA_VERSION_ROWS, writes=("schema_versions",),
    note="the schema versions this reaches (applied_at: the client's UTC clock)")
