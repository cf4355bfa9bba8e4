"""create_tables.py's statements: every table dropped, then created, in Redshift's dialect.

The PostgreSQL engines run the same DDL through sparkify.warehouse.translate_for_postgres, which removes what
only Redshift has (DISTSTYLE, DISTKEY, SORTKEY, ENCODE, PRIMARY KEY) and rewrites IDENTITY.

Distribution and sort keys, and why (a dc2.large or ra3.large cluster has 2 slices per node):
- songplays and time are the two tables that grow with the event stream; both are distributed
  on start_time so that their join is collocated, and sorted on it because analysts filter by
  time. song_id would be a poor DISTKEY: most plays match no catalog song, so NULLs would pile
  onto one slice.
- users, songs and artists are small (thousands to tens of thousands of rows): DISTSTYLE ALL
  puts a copy on every node, so joins to them never redistribute the fact table. song_records
  (every song record loaded, the catalog plays are matched against) is ALL for the same reason.
- staging_events is spread evenly (it is only scanned); staging_songs is ALL.

Primary keys are declared for the planner and documentation only: Redshift does not enforce
them, and the local engines drop them too (like Redshift). The merge guarantees uniqueness
itself, and the checks verify it (inside every etl.py run for the keys the run touched,
and for whole tables with analytics.py --check).
"""

from __future__ import annotations

from sql_queries.statement import RowCounts, Statement, When
from sql_queries.tables import ALL_TABLES, BOOKKEEPING_TABLES, REPORT_TABLES, ROW_COUNT

# --------------------------------------------------------------------------- drop
# One statement per table; the order does not matter (no foreign keys are declared).
staging_events_table_drop = Statement("staging_events_table_drop", "drop table if exists staging_events")
staging_songs_table_drop = Statement("staging_songs_table_drop", "drop table if exists staging_songs")
songplay_table_drop = Statement("songplay_table_drop", "drop table if exists songplays")
user_table_drop = Statement("user_table_drop", "drop table if exists users")
song_table_drop = Statement("song_table_drop", "drop table if exists songs")
artist_table_drop = Statement("artist_table_drop", "drop table if exists artists")
time_table_drop = Statement("time_table_drop", "drop table if exists time")
song_records_table_drop = Statement("song_records_table_drop", "drop table if exists song_records")
loaded_objects_table_drop = Statement("loaded_objects_table_drop", "drop table if exists loaded_objects")
etl_runs_table_drop = Statement("etl_runs_table_drop", "drop table if exists etl_runs")
etl_run_checks_table_drop = Statement("etl_run_checks_table_drop", "drop table if exists etl_run_checks")
schema_versions_table_drop = Statement("schema_versions_table_drop", "drop table if exists schema_versions")

# --------------------------------------------------------------------------- create staging
# Staging holds only the latest run's objects, which every run replaces (the ledger and the star schema keep
# what matters): BACKUP NO leaves it out of snapshots ("for tables, such as staging tables, that don't contain
# critical data", CREATE TABLE in the Redshift developer guide) on DC2 clusters. RA3 clusters and Serverless
# accept it and back the table up anyway ("Creating a manual snapshot", management guide). The PostgreSQL
# engines make it UNLOGGED.
# Column order of staging_events is the order of the 18 paths in log_json_path.json: COPY maps
# JSONPaths to columns by position. VARCHAR lengths are bytes on Redshift; TRUNCATECOLUMNS cuts
# longer values (on a character boundary) instead of rejecting the record.
staging_events_table_create = Statement("staging_events_table_create", """
create table staging_events (
    artist          varchar(512),
    auth            varchar(32),
    first_name      varchar(256),
    gender          varchar(16),
    item_in_session integer,
    last_name       varchar(256),
    length          double precision,
    level           varchar(16),
    location        varchar(512),
    method          varchar(16),
    page            varchar(64),
    registration    double precision,
    session_id      integer,
    song            varchar(512),
    status          smallint,
    ts              timestamp,
    user_agent      varchar(512),
    user_id         integer
)
backup no
diststyle even
""")

# Loaded with JSON 'auto': the column names are the song files' keys.
staging_songs_table_create = Statement("staging_songs_table_create", """
create table staging_songs (
    num_songs        integer,
    artist_id        varchar(32),
    artist_latitude  double precision,
    artist_longitude double precision,
    artist_location  varchar(512),
    artist_name      varchar(512),
    song_id          varchar(32),
    title            varchar(512),
    duration         double precision,
    year             smallint
)
backup no
diststyle all
""")


# --------------------------------------------------------------------------- create star schema
# songplay_id is a surrogate key; the natural key of a play is (session_id, item_in_session):
# itemInSession is the event's position within its session, so the pair names one event of the
# app's log (all 6,820 NextSong events of the real data have distinct pairs). Runs only add plays
# whose natural key is new (or correct one in place), so songplay_id values never change once assigned.
# song_title, artist_name and song_length are the event's own song, artist and length: the natural
# key of the song, kept so that a song loaded after its plays still matches them.
songplay_table_create = Statement("songplay_table_create", """
create table songplays (
    songplay_id     bigint identity(0, 1) primary key,
    start_time      timestamp not null sortkey distkey,
    user_id         integer not null,
    level           varchar(16),
    song_id         varchar(32),
    artist_id       varchar(32),
    session_id      integer not null,
    item_in_session integer not null,
    location        varchar(512),
    user_agent      varchar(512),
    song_title      varchar(512),
    artist_name     varchar(512),
    song_length     double precision
)
""")

# last_event_at is the time of the event the row was taken from: a later load of older days
# must not overwrite a newer level (the merge keeps the row with the latest event).
user_table_create = Statement("user_table_create", """
create table users (
    user_id       integer not null primary key sortkey,
    first_name    varchar(256),
    last_name     varchar(256),
    gender        varchar(16),
    level         varchar(16) not null,
    last_event_at timestamp not null
)
diststyle all
""")

song_table_create = Statement("song_table_create", """
create table songs (
    song_id   varchar(32) not null primary key sortkey,
    title     varchar(512) not null,
    artist_id varchar(32) not null,
    year      smallint,
    duration  double precision
)
diststyle all
""")

artist_table_create = Statement("artist_table_create", """
create table artists (
    artist_id varchar(32) not null primary key sortkey,
    name      varchar(512),
    location  varchar(512),
    latitude  double precision,
    longitude double precision
)
diststyle all
""")

# weekday: 0 = Sunday ... 6 = Saturday (date_part('dow') and extract(dow) on both Redshift and PostgreSQL);
# week: ISO 8601 week number.
time_table_create = Statement("time_table_create", """
create table time (
    start_time timestamp not null primary key sortkey distkey,
    hour       smallint not null,
    day        smallint not null,
    week       smallint not null,
    month      smallint not null,
    year       smallint not null,
    weekday    smallint not null
)
""")


# --------------------------------------------------------------------------- create bookkeeping
# Every distinct song record loaded so far (the song files' content, as staged): the catalog that
# plays are matched against and that songs and artists are derived from. A record loaded twice is
# kept once; records of files that later disappeared stay (nothing loaded is taken back).
song_records_table_create = Statement("song_records_table_create", """
create table song_records (
    num_songs        integer,
    artist_id        varchar(32),
    artist_latitude  double precision,
    artist_longitude double precision,
    artist_location  varchar(512),
    artist_name      varchar(512),
    song_id          varchar(32),
    title            varchar(512),
    duration         double precision,
    year             smallint
)
diststyle all
sortkey (song_id)
""")

# The load ledger: one row per source object (file) loaded into a staging table, written in the
# transaction of the run that loaded it. object_url is the object's s3://bucket/key, or the absolute
# path of a local file; version is what the listing says of its content: the S3 ETag, or for a local
# file 'mtime:' and its modification time in nanoseconds. An object is loaded again only if its size or
# version changed. last_modified is for people (S3's LastModified, or the file's modification time);
# run_id is the etl_runs row of the run that loaded it last.
loaded_objects_table_create = Statement("loaded_objects_table_create", """
create table loaded_objects (
    table_name    varchar(64) not null,
    object_url    varchar(4096) not null,
    size          bigint not null,
    version       varchar(128) not null,
    last_modified timestamp,
    run_id        bigint not null,
    loaded_at     timestamp not null,
    primary key (table_name, object_url)
)
diststyle all
sortkey (table_name, object_url)
""")

# One row per etl.py run, also the lock that keeps two runs from interleaving: every run starts with
# `lock etl_runs`, which a second run waits on until the first commits or rolls back. run_id is
# assigned by the run under that lock (previous + 1), so the ledger rows can carry it. The *_rows
# columns are the star tables' row counts after the run: the next run reads them instead of counting.
etl_runs_table_create = Statement("etl_runs_table_create", """
create table etl_runs (
    run_id              bigint not null primary key,
    finished_at         timestamp not null,
    objects_loaded      bigint not null,
    objects_skipped     bigint not null,
    objects_missing     bigint not null,
    staged_events       bigint not null,
    staged_songs        bigint not null,
    songplays_added     bigint not null,
    songplays_changed   bigint not null,
    users_merged        bigint not null,
    songs_merged        bigint not null,
    artists_merged      bigint not null,
    time_added          bigint not null,
    songplays_rows      bigint not null,
    users_rows          bigint not null,
    songs_rows          bigint not null,
    artists_rows        bigint not null,
    time_rows           bigint not null
)
diststyle all
""")

# The data-quality checks each run passed before it committed (a failing check rolls the run back, so a
# run recorded here passed every check it lists): the analysts' report shows the latest run's.
etl_run_checks_table_create = Statement("etl_run_checks_table_create", """
create table etl_run_checks (
    run_id      bigint not null,
    check_name  varchar(128) not null,
    description varchar(512) not null,
    offenders   bigint not null,
    primary key (run_id, check_name)
)
diststyle all
""")

# The warehouse's schema versions (sql_queries.versions): one row per version it reached, how (created by
# create_tables.py, upgraded to by create_tables.py --upgrade, or recognised by its tables: a warehouse of a
# release that did not record its version yet) and when (the client's UTC clock). Its latest version is the
# warehouse's; etl.py and analytics.py run only on the current one. Created by create_tables.py, and by the
# migration to version 2 in a warehouse made before.
schema_versions_table_create = Statement("schema_versions_table_create", """
create table schema_versions (
    version     integer not null primary key,
    description varchar(256) not null,
    how         varchar(16) not null,
    applied_at  timestamp not null
)
diststyle all
""")

# --------------------------------------------------------------------------- create the report's tables
# What the analysts' report reads instead of songplays: each table a function of songplays (and nothing else),
# kept up to date by every etl.py run in its transaction (sql_queries.report_tables), so the report reads a few
# thousand rows (tens of thousands for the per-session one) whatever the size of the warehouse. NULLs are kept
# as songplays has them (a play's level or location may be unknown). DISTSTYLE ALL like the other small tables;
# report_sessions, which grows with the sessions, is distributed on user_id like the sessions' plays are read.
#
# Plays and catalog matches per UTC day, level and user: plays by day, level and listeners; level summary.
report_user_days_table_create = Statement("report_user_days_table_create", """
create table report_user_days (
    day           date not null sortkey,
    level         varchar(16),
    user_id       integer not null,
    plays         bigint not null,
    matched_plays bigint not null
)
diststyle all
""")

# Plays per UTC hour of the day (0-23), as time.hour holds it.
report_hours_table_create = Statement("report_hours_table_create", """
create table report_hours (
    hour  smallint not null sortkey,
    plays bigint not null
)
diststyle all
""")

# Plays per user, location and user agent: listeners by location, browser and operating system.
report_listeners_table_create = Statement("report_listeners_table_create", """
create table report_listeners (
    user_id    integer not null sortkey,
    location   varchar(512),
    user_agent varchar(512),
    plays      bigint not null
)
diststyle all
""")

# Plays per catalog song (song_id and artist_id come from the same catalog match, so neither is NULL when the other
# is not): most played songs and artists.
report_song_plays_table_create = Statement("report_song_plays_table_create", """
create table report_song_plays (
    song_id   varchar(32) not null,
    artist_id varchar(32) not null,
    plays     bigint not null
)
diststyle all
sortkey (song_id)
""")

# One row per session (a user's session_id): its plays, its first and last play's start time, and its length from
# the one to the other in whole seconds.
report_sessions_table_create = Statement("report_sessions_table_create", """
create table report_sessions (
    user_id    integer not null distkey,
    session_id integer not null,
    plays      bigint not null,
    first_play timestamp not null,
    last_play  timestamp not null,
    seconds    bigint not null
)
sortkey (user_id, session_id)
""")

# One row per user with plays: their plays, and the start time and level of their latest play (in the order
# of start time, session, position in the session), from which the next plays' level changes follow.
report_users_table_create = Statement("report_users_table_create", """
create table report_users (
    user_id    integer not null sortkey,
    plays      bigint not null,
    last_play  timestamp not null,
    last_level varchar(16)
)
diststyle all
""")

# One row per play whose level differs from the level of the same user's previous play: upgrades and downgrades.
report_level_changes_table_create = Statement("report_level_changes_table_create", """
create table report_level_changes (
    user_id         integer not null,
    start_time      timestamp not null sortkey,
    session_id      integer not null,
    item_in_session integer not null,
    level           varchar(16) not null,
    previous_level  varchar(16) not null
)
diststyle all
""")

report_table_queries = (
    report_user_days_table_create,
    report_hours_table_create,
    report_listeners_table_create,
    report_song_plays_table_create,
    report_sessions_table_create,
    report_users_table_create,
    report_level_changes_table_create,
)
report_table_drops = tuple(Statement(f"{t}_table_drop", f"drop table if exists {t}") for t in REPORT_TABLES)
(report_user_days_table_drop, report_hours_table_drop, report_listeners_table_drop, report_song_plays_table_drop,
 report_sessions_table_drop, report_users_table_drop, report_level_changes_table_drop) = report_table_drops

# --------------------------------------------------------------------------- PostgreSQL's access paths
# On the PostgreSQL engines only (Redshift has no indexes: a scan reads only the blocks of the sort key's range,
# and the checks' and the merge's joins hash): the natural key of the plays, which a later run looks its plays up
# by (the plays it sees again, the run's checks, the sessions it counts again), and the start times of time, which
# its new plays' times are looked up in. Without them every daily run reads all of songplays and time. Not
# unique: like Redshift, PostgreSQL is not asked to enforce keys (the merge keeps them, the checks prove it).
songplays_key_index = Statement("songplays_key_index",
                                "create index songplays_natural_key on songplays (session_id, item_in_session)",
                                when=(When.POSTGRES,))
time_start_time_index = Statement("time_start_time_index", "create index time_start_time on time (start_time)",
                                  when=(When.POSTGRES,))
postgres_index_queries = (songplays_key_index, time_start_time_index)

drop_table_queries = (
    staging_events_table_drop,
    staging_songs_table_drop,
    songplay_table_drop,
    user_table_drop,
    song_table_drop,
    artist_table_drop,
    time_table_drop,
    song_records_table_drop,
    loaded_objects_table_drop,
    etl_runs_table_drop,
    etl_run_checks_table_drop,
    schema_versions_table_drop,
    *report_table_drops,
)

create_table_queries = (
    staging_events_table_create,
    staging_songs_table_create,
    songplay_table_create,
    user_table_create,
    song_table_create,
    artist_table_create,
    time_table_create,
    song_records_table_create,
    loaded_objects_table_create,
    etl_runs_table_create,
    etl_run_checks_table_create,
    schema_versions_table_create,
    *report_table_queries,
)

# Then every table's row count: the proof of life (each table there, and empty) sparkify.pipeline.create_tables returns.
table_row_counts = RowCounts("table_row_counts", ROW_COUNT, tables=ALL_TABLES + BOOKKEEPING_TABLES,
                             note="row counts: the proof of life (each table there, and empty)")

# What create_tables.py made: one table's columns, in order (the catalog of the session's schema search path).
table_columns_select = Statement("table_columns_select", """
select column_name
from information_schema.columns
where table_name = %s
order by ordinal_position
""")
