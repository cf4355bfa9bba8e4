"""Every statement of the Sparkify warehouse, in Redshift's dialect, grouped by phase.

This file is the single source of truth for the SQL: the DDL, the load ledger's statements, the
merge, the data-quality checks, the ETL lock and the analysts' queries. Nothing here reads the
configuration: the COPY statements are templates (sparkify.copy.spec.CopyTemplate) bound to the [S3]
settings at run time and rendered by a pure function (sparkify.copy.redshift.render_copy); a few
statements are built at import time by the pure functions below (the checks, the "ranks before"
comparisons), so that tests can read them as text. On the `local` and `postgres` engines,
sparkify.warehouse.translate_for_postgres removes the Redshift-only clauses (DISTSTYLE, DISTKEY,
SORTKEY, ENCODE, PRIMARY KEY) and rewrites IDENTITY; nothing else differs in these statements. What the
PostgreSQL engines do besides (SET LOCAL work_mem, the ledger rows sent with COPY FROM STDIN, ANALYZE
skipped for tables a run barely changed) is listed in sparkify.warehouse's docstring. The ordered lists
at the end are what the scripts execute, in order (sparkify.pipeline builds its plans from them).

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
itself, and the checks below verify it (inside every etl.py run for the keys the run touched,
and for whole tables with analytics.py --check).

How daily runs stay cheap and exact (issue: "daily runs that cost what is new"):
- loaded_objects, the load ledger, records every source object a run loaded (its size and ETag,
  or size and modification time for local files). Each run lists the source prefixes and COPYs
  only objects that are new or changed (sparkify.ledger); staging then holds just those.
- The star schema is a function of the files loaded, not of the order or batches they came in:
  * song_records keeps every distinct song record ever loaded; songs and artists are re-derived
    from it for the ids a run touched, and plays are matched against it (the whole catalog);
  * songplays keeps the event's own title, artist name and length (song_title, artist_name,
    song_length: the song's natural key, as Kimball keeps it for late-arriving dimensions), so a
    song that arrives after its plays re-matches them (songplay_rematch);
  * where two records compete for one key (a user's latest event, a play seen twice), the winner
    is the first in a total order over the stored columns, and a stored row is replaced only by
    one that comes before it (the "_ranks_before" conditions): the minimum of a set does not
    depend on the order its elements arrive in.
"""

from __future__ import annotations

from typing import NamedTuple

from sparkify.copy.spec import CopyTemplate

# --------------------------------------------------------------------------- tables
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
STAGING_TABLES = ("staging_events", "staging_songs")
ALL_TABLES = STAGING_TABLES + STAR_TABLES  # the seven tables whose row counts analytics.py shows
BOOKKEEPING_TABLES = ("song_records", "loaded_objects", "etl_runs", "etl_run_checks")


# --------------------------------------------------------------------------- pure SQL builders

def _ranks_before(new: str, old: str, order: tuple[tuple[str, str, bool], ...]) -> str:
    """A condition: the row aliased `new` comes strictly before the row aliased `old` in `order`.

    `order` lists (column, 'asc' | 'desc', nullable) from the most significant column on; NULLs sort last
    in both directions (as `nulls last` in the window that ranks a batch), so the condition and the
    batch's row_number() agree on which row comes first.
    """

    def before(column: str, direction: str, nullable: bool) -> str:
        op = "<" if direction == "asc" else ">"
        test = f"{new}.{column} {op} {old}.{column}"
        if nullable:
            test = f"({test} or ({new}.{column} is not null and {old}.{column} is null))"
        return test

    def same(column: str, nullable: bool) -> str:
        test = f"{new}.{column} = {old}.{column}"
        if nullable:
            test = f"({test} or ({new}.{column} is null and {old}.{column} is null))"
        return test

    condition = ""
    for column, direction, nullable in reversed(order):
        here = before(column, direction, nullable)
        condition = here if not condition else f"({here} or ({same(column, nullable)} and {condition}))"
    return condition


def _same_row(new: str, old: str, columns: tuple[tuple[str, bool], ...]) -> str:
    """A condition: rows `new` and `old` hold equal values in `columns` ((column, nullable); NULL equals NULL)."""
    parts = []
    for column, nullable in columns:
        test = f"{new}.{column} = {old}.{column}"
        if nullable:
            test = f"({test} or ({new}.{column} is null and {old}.{column} is null))"
        parts.append(test)
    return "\n      and ".join(parts)


def _order_by(order: tuple[tuple[str, str, bool], ...], alias: str = "") -> str:
    """The ORDER BY list of a window that ranks rows in `order` (NULLs last)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{c} {d}" + (" nulls last" if n else "") for c, d, n in order)


# The total orders that decide between competing rows (see the module docstring). Each covers every
# stored column but the key, so two rows that tie are equal.
SONGPLAY_ORDER = (
    ("start_time", "asc", False), ("user_id", "asc", False), ("level", "asc", True),
    ("song_title", "asc", True), ("artist_name", "asc", True), ("song_length", "asc", True),
    ("location", "asc", True), ("user_agent", "asc", True),
)
# A user's row comes from the user's most recent event; at the same millisecond, 'paid' before 'free'.
USER_ORDER = (
    ("last_event_at", "desc", False), ("level", "desc", False),
    ("first_name", "asc", True), ("last_name", "asc", True), ("gender", "asc", True),
)
SONG_ORDER = (("title", "asc", False), ("artist_id", "asc", False), ("year", "asc", True), ("duration", "asc", True))
# Song files of one artist often disagree (a blank location in one file, a city in another; "feat."
# variants of the name): the most complete record wins (a location, then coordinates), then the
# alphabetically first values.
ARTIST_ORDER_SQL = """
                case when artist_location is null then 1 else 0 end,
                case when artist_latitude is null then 1 else 0 end,
                artist_name nulls last,
                artist_location nulls last,
                artist_latitude nulls last,
                artist_longitude nulls last"""

# --------------------------------------------------------------------------- drop
# One statement per table; the order does not matter (no foreign keys are declared).
staging_events_table_drop = "drop table if exists staging_events"
staging_songs_table_drop = "drop table if exists staging_songs"
songplay_table_drop = "drop table if exists songplays"
user_table_drop = "drop table if exists users"
song_table_drop = "drop table if exists songs"
artist_table_drop = "drop table if exists artists"
time_table_drop = "drop table if exists time"
song_records_table_drop = "drop table if exists song_records"
loaded_objects_table_drop = "drop table if exists loaded_objects"
etl_runs_table_drop = "drop table if exists etl_runs"
etl_run_checks_table_drop = "drop table if exists etl_run_checks"

# --------------------------------------------------------------------------- create staging
# Column order of staging_events is the order of the 18 paths in log_json_path.json: COPY maps
# JSONPaths to columns by position. VARCHAR lengths are bytes on Redshift; TRUNCATECOLUMNS cuts
# longer values (on a character boundary) instead of rejecting the record.
staging_events_table_create = """
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
diststyle even
"""

# Loaded with JSON 'auto': the column names are the song files' keys.
staging_songs_table_create = """
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
diststyle all
"""

# --------------------------------------------------------------------------- create star schema
# songplay_id is a surrogate key; the natural key of a play is (session_id, item_in_session):
# itemInSession is the event's position within its session, so the pair names one event of the
# app's log (all 6,820 NextSong events of the real data have distinct pairs). Runs only add plays
# whose natural key is new (or correct one in place), so songplay_id values never change once assigned.
# song_title, artist_name and song_length are the event's own song, artist and length: the natural
# key of the song, kept so that a song loaded after its plays still matches them.
songplay_table_create = """
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
"""

# last_event_at is the time of the event the row was taken from: a later load of older days
# must not overwrite a newer level (the merge keeps the row with the latest event).
user_table_create = """
create table users (
    user_id       integer not null primary key sortkey,
    first_name    varchar(256),
    last_name     varchar(256),
    gender        varchar(16),
    level         varchar(16) not null,
    last_event_at timestamp not null
)
diststyle all
"""

song_table_create = """
create table songs (
    song_id   varchar(32) not null primary key sortkey,
    title     varchar(512) not null,
    artist_id varchar(32) not null,
    year      smallint,
    duration  double precision
)
diststyle all
"""

artist_table_create = """
create table artists (
    artist_id varchar(32) not null primary key sortkey,
    name      varchar(512),
    location  varchar(512),
    latitude  double precision,
    longitude double precision
)
diststyle all
"""

# weekday: 0 = Sunday ... 6 = Saturday (date_part('dow') and extract(dow) on both Redshift and PostgreSQL);
# week: ISO 8601 week number.
time_table_create = """
create table time (
    start_time timestamp not null primary key sortkey distkey,
    hour       smallint not null,
    day        smallint not null,
    week       smallint not null,
    month      smallint not null,
    year       smallint not null,
    weekday    smallint not null
)
"""

# --------------------------------------------------------------------------- create bookkeeping
# Every distinct song record loaded so far (the song files' content, as staged): the catalog that
# plays are matched against and that songs and artists are derived from. A record loaded twice is
# kept once; records of files that later disappeared stay (nothing loaded is taken back).
song_records_table_create = """
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
"""

# The load ledger: one row per source object (file) loaded into a staging table, written in the
# transaction of the run that loaded it. object_url is the object's s3://bucket/key, or the absolute
# path of a local file; version is what the listing says of its content: the S3 ETag, or for a local
# file 'mtime:' and its modification time in nanoseconds. An object is loaded again only if its size or
# version changed. last_modified is for people (S3's LastModified, or the file's modification time);
# run_id is the etl_runs row of the run that loaded it last.
loaded_objects_table_create = """
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
"""

# One row per etl.py run, also the lock that keeps two runs from interleaving: every run starts with
# `lock etl_runs`, which a second run waits on until the first commits or rolls back. run_id is
# assigned by the run under that lock (previous + 1), so the ledger rows can carry it. The *_rows
# columns are the star tables' row counts after the run: the next run reads them instead of counting.
etl_runs_table_create = """
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
"""

# The data-quality checks each run passed before it committed (a failing check rolls the run back, so a
# run recorded here passed every check it lists): the analysts' report shows the latest run's.
etl_run_checks_table_create = """
create table etl_run_checks (
    run_id      bigint not null,
    check_name  varchar(128) not null,
    description varchar(512) not null,
    offenders   bigint not null,
    primary key (run_id, check_name)
)
diststyle all
"""

# --------------------------------------------------------------------------- the run and its lock
# Every run starts with the lock, under statement_timeout (both Redshift and PostgreSQL honour it;
# lock_timeout is PostgreSQL-only). {timeout_ms} is filled in with a whole number of milliseconds.
etl_lock_timeout_set = "set statement_timeout = {timeout_ms}"
etl_lock = "lock etl_runs"
etl_lock_timeout_reset = "set statement_timeout = 0"

# The run's id (under the lock, so no other run can take it) and the totals the previous run left.
etl_run_next_id = "select coalesce(max(run_id), 0) + 1 from etl_runs"
latest_etl_totals = """
select songplays_rows, users_rows, songs_rows, artists_rows, time_rows
from etl_runs
order by run_id desc
limit 1
"""

# --------------------------------------------------------------------------- the load ledger
# What a run loaded before, for one staging table; sparkify.ledger compares it with the listing.
loaded_objects_select = """
select object_url, size, version
from loaded_objects
where table_name = %(table_name)s
"""

# A changed object (or, with etl.py --reload, any object loaded again) replaces its row.
loaded_objects_delete = """
delete from loaded_objects
where table_name = %(table_name)s
  and object_url in %(object_urls)s
"""

# The rows of the objects this run loaded: a multi-row INSERT of up to LEDGER_ROWS_PER_INSERT rows
# ({rows} becomes one `(%s, ...)` group of parameters per row). The PostgreSQL engines send the same rows
# with loaded_objects_copy instead (COPY FROM STDIN: 100,000 rows take seconds as literals).
loaded_objects_insert = """
insert into loaded_objects (table_name, object_url, size, version, last_modified, run_id, loaded_at)
values {rows}
"""
LEDGER_ROWS_PER_INSERT = 1000
loaded_objects_copy = ("copy loaded_objects (table_name, object_url, size, version, last_modified, run_id, loaded_at) "
                       "from stdin")

# --------------------------------------------------------------------------- copy (templates)
# Bound to [S3] LOG_DATA / LOG_JSONPATH / SONG_DATA, REGION and [IAM_ROLE] ARN at run time; a run loads
# the new and changed objects only, through a manifest ([S3] MANIFEST_PREFIX) or, on the local engines,
# their list. The fixed options every COPY gets (TRUNCATECOLUMNS BLANKSASNULL EMPTYASNULL COMPUPDATE OFF
# STATUPDATE OFF, MAXERROR from [ETL]) are in sparkify.copy.spec.CopySpec's defaults.
staging_events_copy = CopyTemplate(
    table="staging_events", source_key="log_data", json_key="log_jsonpath", timeformat="epochmillisecs"
)
staging_songs_copy = CopyTemplate(table="staging_songs", source_key="song_data")

# Redshift only, right after a successful COPY: how many records MAXERROR let it skip.
copy_rejected_count = "select count(*) from stl_load_errors where query = pg_last_copy_id()"

# Staging is emptied inside the run's transaction (DELETE, not TRUNCATE: on Redshift TRUNCATE commits
# the open transaction, which would break atomicity).
staging_events_clear = "delete from staging_events"
staging_songs_clear = "delete from staging_songs"

# --------------------------------------------------------------------------- transform: songs
# These statements run when the run staged song records (sparkify.pipeline skips them otherwise).

# New distinct records join the catalog (EXCEPT compares whole rows, NULLs equal, and de-duplicates).
song_records_insert = """
insert into song_records (
    num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title,
    duration, year
)
select
    num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title,
    duration, year
from staging_songs
except
select
    num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title,
    duration, year
from song_records
"""

# The songs row of every song_id the run staged, chosen among ALL its records loaded so far: the
# first by title, artist_id, year, duration. Re-derived from the catalog, so the choice does not depend
# on which run brought which record. (A temporary table: the delete and the insert both read it.)
batch_songs_drop = "drop table if exists batch_songs"
batch_songs_create = f"""
create temp table batch_songs as
with touched_songs as (
    select distinct song_id
    from staging_songs
    where song_id is not null
),

ranked_records as (
    select
        r.song_id,
        r.title,
        r.artist_id,
        r.year,
        r.duration,
        row_number() over (
            partition by r.song_id
            order by {_order_by(SONG_ORDER, "r")}
        ) as song_rank
    from song_records as r
    join touched_songs as t on t.song_id = r.song_id
    where r.title is not null
      and r.artist_id is not null
)

select song_id, title, artist_id, year, duration
from ranked_records
where song_rank = 1
"""

# Redshift's staging-table upsert (delete the keys being replaced, insert), limited to rows that change.
song_table_delete = f"""
delete from songs
using batch_songs as b
where songs.song_id = b.song_id
  and not (
      {_same_row("b", "songs", (("title", False), ("artist_id", False), ("year", True), ("duration", True)))}
  )
"""

song_table_insert = """
insert into songs (song_id, title, artist_id, year, duration)
select b.song_id, b.title, b.artist_id, b.year, b.duration
from batch_songs as b
where not exists (select 1 from songs as s where s.song_id = b.song_id)
"""

# The artists row of every artist_id the run staged, chosen among all its records loaded so far.
batch_artists_drop = "drop table if exists batch_artists"
batch_artists_create = f"""
create temp table batch_artists as
with touched_artists as (
    select distinct artist_id
    from staging_songs
    where artist_id is not null
),

ranked_records as (
    select
        r.artist_id,
        r.artist_name,
        r.artist_location,
        r.artist_latitude,
        r.artist_longitude,
        row_number() over (
            partition by r.artist_id
            order by {ARTIST_ORDER_SQL.replace("artist_", "r.artist_").strip()}
        ) as completeness_rank
    from song_records as r
    join touched_artists as t on t.artist_id = r.artist_id
)

select
    artist_id,
    artist_name as name,
    artist_location as location,
    artist_latitude as latitude,
    artist_longitude as longitude
from ranked_records
where completeness_rank = 1
"""

artist_table_delete = f"""
delete from artists
using batch_artists as b
where artists.artist_id = b.artist_id
  and not (
      {_same_row("b", "artists", (("name", True), ("location", True), ("latitude", True), ("longitude", True)))}
  )
"""

artist_table_insert = """
insert into artists (artist_id, name, location, latitude, longitude)
select b.artist_id, b.name, b.location, b.latitude, b.longitude
from batch_artists as b
where not exists (select 1 from artists as a where a.artist_id = b.artist_id)
"""

# A catalog record a play can match: one the songs and artists tables hold (song_id, title and
# artist_id known), with an artist name and a duration to compare. When several records share a title,
# artist name and duration, the lowest song_id (then artist_id) wins: a match never multiplies a play.
_CATALOG_MATCH_COLUMNS = """
        r.title,
        r.artist_name,
        r.duration,
        r.song_id,
        r.artist_id,
        row_number() over (
            partition by r.title, r.artist_name, r.duration
            order by r.song_id, r.artist_id
        ) as match_rank"""
_MATCHABLE = """r.song_id is not null
      and r.artist_id is not null
      and r.title is not null
      and r.artist_name is not null
      and r.duration is not null"""

# Late-arriving songs: plays already loaded whose title, artist name and length are those of a record
# this run staged get the catalog's best match for them (only rows whose match changes are written).
songplay_rematch = f"""
with new_song_keys as (
    select distinct title, artist_name, duration
    from staging_songs
),

best_matches as (
    select{_CATALOG_MATCH_COLUMNS}
    from song_records as r
    join new_song_keys as k
        on k.title = r.title
        and k.artist_name = r.artist_name
        and k.duration = r.duration
    where {_MATCHABLE}
)

update songplays
set song_id = m.song_id,
    artist_id = m.artist_id
from best_matches as m
where m.match_rank = 1
  and songplays.song_title = m.title
  and songplays.artist_name = m.artist_name
  and songplays.song_length = m.duration
  and (songplays.song_id is null or songplays.song_id <> m.song_id or songplays.artist_id <> m.artist_id)
"""

# --------------------------------------------------------------------------- transform: events
# These statements run when the run staged events (sparkify.pipeline skips them otherwise).

# One row per user of the batch (events of any page): the user's most recent event, ties broken by
# USER_ORDER. max(ts) per user first (a hash aggregate), then only the events at that time are ranked:
# sorting every event of a large batch would cost more than the rest of the users merge.
batch_users_drop = "drop table if exists batch_users"
batch_users_create = f"""
create temp table batch_users as
with latest_times as (
    select user_id, max(ts) as last_event_at
    from staging_events
    where user_id is not null
      and level is not null
      and ts is not null
    group by user_id
),

latest_events as (
    select
        e.user_id,
        e.first_name,
        e.last_name,
        e.gender,
        e.level,
        e.ts as last_event_at
    from staging_events as e
    join latest_times as l
        on l.user_id = e.user_id
        and l.last_event_at = e.ts
    where e.level is not null
),

ranked_events as (
    select
        user_id,
        first_name,
        last_name,
        gender,
        level,
        last_event_at,
        row_number() over (partition by user_id order by {_order_by(USER_ORDER)}) as recency_rank
    from latest_events
)

select user_id, first_name, last_name, gender, level, last_event_at
from ranked_events
where recency_rank = 1
"""

# A stored user is replaced only by a batch row that comes before it in USER_ORDER (a more recent
# event), so loading older days after newer ones never brings back an old level.
user_table_delete = f"""
delete from users
using batch_users as b
where users.user_id = b.user_id
  and {_ranks_before("b", "users", USER_ORDER)}
"""

user_table_insert = """
insert into users (user_id, first_name, last_name, gender, level, last_event_at)
select b.user_id, b.first_name, b.last_name, b.gender, b.level, b.last_event_at
from batch_users as b
where not exists (select 1 from users as u where u.user_id = b.user_id)
"""

# The plays of the batch: NextSong events that name a user, a session, a position and a time.
_NEXT_SONG_EVENTS = """next_song_events as (
    select
        ts as start_time,
        user_id,
        level,
        song as song_title,
        artist as artist_name,
        length as song_length,
        session_id,
        item_in_session,
        location,
        user_agent
    from staging_events
    where page = 'NextSong'
      and user_id is not null
      and session_id is not null
      and item_in_session is not null
      and ts is not null
)"""
_RUN_KEYS = """run_keys as (
    select distinct session_id, item_in_session
    from staging_events
    where page = 'NextSong'
      and user_id is not null
      and session_id is not null
      and item_in_session is not null
      and ts is not null
)"""
_PLAY_COLUMNS = ("start_time", "user_id", "level", "song_id", "artist_id", "session_id", "item_in_session",
                 "location", "user_agent", "song_title", "artist_name", "song_length")


def _plays_of(events: str) -> str:
    """The CTEs that turn the events of CTE `events` into one play per natural key (the first in
    SONGPLAY_ORDER when an event came twice), matched to the catalog: CTE `plays`."""
    return f"""ranked_events as (
    select
        start_time,
        user_id,
        level,
        song_title,
        artist_name,
        song_length,
        session_id,
        item_in_session,
        location,
        user_agent,
        row_number() over (
            partition by session_id, item_in_session
            order by {_order_by(SONGPLAY_ORDER)}
        ) as duplicate_rank
    from {events}
),

catalog_matches as (
    select{_CATALOG_MATCH_COLUMNS}
    from song_records as r
    where {_MATCHABLE}
),

plays as (
    select
        e.start_time,
        e.user_id,
        e.level,
        m.song_id,
        m.artist_id,
        e.session_id,
        e.item_in_session,
        e.location,
        e.user_agent,
        e.song_title,
        e.artist_name,
        e.song_length
    from ranked_events as e
    left join catalog_matches as m
        on m.title = e.song_title
        and m.artist_name = e.artist_name
        and m.duration = e.song_length
        and m.match_rank = 1
    where e.duplicate_rank = 1
)"""


# The run's play keys that songplays has already (usually none: a day's plays are new). Computed once, in a
# small temporary table whose row count the planner then knows, for the two statements that need it: the
# correction of those plays, and the anti-join of the insert. (Its row count also decides whether the
# correction runs at all: sparkify.pipeline skips it when there are none.)
batch_stored_keys_drop = "drop table if exists batch_stored_keys"
batch_stored_keys_create = """
create temp table batch_stored_keys as
select distinct p.session_id, p.item_in_session
from songplays as p
join staging_events as e
    on e.session_id = p.session_id
    and e.item_in_session = p.item_in_session
where e.page = 'NextSong'
  and e.user_id is not null
  and e.ts is not null
"""

# A play loaded before and seen again (the same natural key): it is corrected in place, keeping its
# songplay_id, only if the new event comes before the stored one in SONGPLAY_ORDER. Identical
# re-deliveries (a log file loaded again after an event was appended to it) change nothing. Only the
# events whose key is already stored are ranked, so a first load pays nothing here.
songplay_conflict_update = f"""
with {_NEXT_SONG_EVENTS},

stored_key_events as (
    select e.*
    from next_song_events as e
    join batch_stored_keys as s
        on s.session_id = e.session_id
        and s.item_in_session = e.item_in_session
),

{_plays_of("stored_key_events")}

update songplays
set {(","+chr(10)+"    ").join(f"{c} = c.{c}" for c in _PLAY_COLUMNS if c not in ("session_id", "item_in_session"))}
from plays as c
where songplays.session_id = c.session_id
  and songplays.item_in_session = c.item_in_session
  and {_ranks_before("c", "songplays", SONGPLAY_ORDER)}
"""

# New plays, straight from staging (each fact row written once): the anti-join comes first, so only
# events with a new natural key are ranked and matched.
songplay_table_insert = f"""
insert into songplays (
    {", ".join(_PLAY_COLUMNS)}
)
with {_NEXT_SONG_EVENTS},

new_key_events as (
    select e.*
    from next_song_events as e
    where not exists (
        select 1
        from batch_stored_keys as s
        where s.session_id = e.session_id
          and s.item_in_session = e.item_in_session
    )
),

{_plays_of("new_key_events")}

select
    {(","+chr(10)+"    ").join(_PLAY_COLUMNS)}
from plays
"""

# The start times of plays that time does not have yet, among the plays between the run's first and last
# event (the run's plays are all there: a play's start_time is its event's ts; plays loaded by earlier runs
# in that range have their time rows already). A scan of songplays' time range and a small anti-join,
# instead of matching the run's events with songplays. date_part and extract take the same date parts on
# both engines (ISO week; dow 0 = Sunday); date_part returns a double precision, which PostgreSQL
# computes about twice as fast as extract's numeric.
time_table_insert = """
insert into time (start_time, hour, day, week, month, year, weekday)
with run_range as (
    select min(ts) as first_ts, max(ts) as last_ts
    from staging_events
    where page = 'NextSong'
      and user_id is not null
      and session_id is not null
      and item_in_session is not null
      and ts is not null
),

times_in_range as (
    select t.start_time
    from time as t
    join run_range as r on t.start_time between r.first_ts and r.last_ts
),

new_start_times as (
    select distinct p.start_time
    from songplays as p
    join run_range as r on p.start_time between r.first_ts and r.last_ts
    where not exists (select 1 from times_in_range as t where t.start_time = p.start_time)
)

select
    start_time,
    date_part('hour', start_time),
    date_part('day', start_time),
    date_part('week', start_time),
    date_part('month', start_time),
    date_part('year', start_time),
    date_part('dow', start_time)
from new_start_times
"""

# Only after songplay_conflict_update moved a play to another time (sparkify.pipeline runs it then):
# time holds the distinct start times of songplays, so a time no play has any more goes.
time_orphans_delete = """
delete from time
where not exists (select 1 from songplays as p where p.start_time = time.start_time)
"""

# Records the run. The counts come from the run itself (the pipeline passes them as parameters):
# objects loaded (new or changed), skipped (unchanged) and missing (loaded before, gone now); rows
# staged; rows the merge wrote (songplays_added: new plays; songplays_changed: plays re-matched or
# corrected; users/songs/artists_merged: rows inserted or replaced; time_added); and the star tables'
# row counts after the run.
ETL_RUN_COLUMNS = (
    "run_id", "finished_at", "objects_loaded", "objects_skipped", "objects_missing", "staged_events",
    "staged_songs", "songplays_added", "songplays_changed", "users_merged", "songs_merged", "artists_merged",
    "time_added", "songplays_rows", "users_rows", "songs_rows", "artists_rows", "time_rows",
)
etl_run_insert = f"""
insert into etl_runs (
    {", ".join(ETL_RUN_COLUMNS)}
)
values (
    {", ".join(f"%({c})s" for c in ETL_RUN_COLUMNS)}
)
"""

# The checks the run passed ({rows}: one `(%s, %s, %s, %s)` group per check), after its etl_runs row.
etl_run_checks_insert = """
insert into etl_run_checks (run_id, check_name, description, offenders)
values {rows}
"""

# The checks the latest load passed, for the analysts' report (analytics.py without --check). A run with
# nothing new checks nothing and records no row, so this is the latest run that loaded something.
latest_run_checks = """
select r.run_id, r.finished_at, c.check_name, c.description, c.offenders
from etl_run_checks as c
join etl_runs as r on r.run_id = c.run_id
where c.run_id = (select max(run_id) from etl_run_checks)
order by c.check_name
"""

# Fresh planner statistics after bulk changes, each right after the statement that changed the table, so
# that the next statement reading it is planned right. COPY runs with STATUPDATE OFF, and PostgreSQL's
# autovacuum cannot see inside our transaction: without statistics, both planners take the just-loaded
# tables for tiny ones and pick nested-loop joins; at a million events the anti-joins of the merge and
# the checks then take minutes instead of seconds. ANALYZE is allowed inside a transaction on both
# engines. Staging is analyzed on the columns the merge's plans filter, join, group or rank on (plus the
# two wide text columns the plays carry through their sort, so that row widths are estimated right); the
# star tables on every column, for the analysts' queries too. Redshift skips a table that changed by less
# than analyze_threshold_percent (10 %); the PostgreSQL engines apply the same rule themselves.
analyze_staging_events = ("analyze staging_events (page, user_id, session_id, item_in_session, ts, level, song, "
                          "artist, length, location, user_agent)")
analyze_staging_songs = "analyze staging_songs (song_id, title, artist_id, artist_name, duration)"
analyze_song_records = "analyze song_records"
analyze_songplays = "analyze songplays"
analyze_users = "analyze users"
analyze_songs = "analyze songs"
analyze_artists = "analyze artists"
analyze_time = "analyze time"
# The star and bookkeeping tables' ANALYZE, by table (sparkify.pipeline applies the 10 % rule to these).
analyze_star_queries = {
    "song_records": analyze_song_records,
    "songplays": analyze_songplays,
    "users": analyze_users,
    "songs": analyze_songs,
    "artists": analyze_artists,
    "time": analyze_time,
}

# --------------------------------------------------------------------------- data-quality checks
# Each check is a SELECT of the offending keys (first column sorts them); it passes when there are none.
# Checks come in groups: the group's counting statement returns one count per check, from CTEs the group's
# checks share (`with_clause`), so a run scans each big table once per group, not once per check. Only a
# failing check sends one more statement, for a few offending keys (sparkify.checks.sample_query).
#
# RUN_CHECKS gate every etl.py run (before it commits): they look at the keys the run touched (staging
# holds exactly the run's new objects) plus cheap global invariants (sparkify.checks adds one: no star
# table has fewer rows than after the previous run). CHECKS look at whole tables: analytics.py --check.


class Check(NamedTuple):
    name: str
    description: str
    offenders: str  # a SELECT of the offending keys, over the group's CTEs
    # A scalar expression over the group's CTEs that is exactly the number of offenders, when cheaper than
    # count(*) of `offenders` (a cheap test that proves there are none, the exact count only otherwise).
    count: str | None = None


class CheckGroup(NamedTuple):
    name: str
    checks: tuple[Check, ...]
    with_clause: str = ""  # "with ... " shared by the checks' SELECTs
    # The counting statement, when cheaper than one count(*) per check; it returns exactly one row with
    # the number of offenders of each check, in order (see _unique).
    counter: str | None = None


def group_counter(group: CheckGroup) -> str:
    """The statement that counts every check's offenders of `group` (one row, one column per check)."""
    if group.counter is not None:
        return group.counter.strip()
    counts = ",\n    ".join(c.count.strip() if c.count else
                           f"(select count(*) from ({c.offenders.strip()}) as offenders_{i})"
                           for i, c in enumerate(group.checks))
    return f"{group.with_clause.strip()}\nselect\n    {counts}".strip()


def check_sample(group: CheckGroup, check: Check, limit: int) -> str:
    """The statement that lists a few offending keys of one check of `group`."""
    return (f"{group.with_clause.strip()}\nselect * from ({check.offenders.strip()}) as offenders "
            f"order by 1 limit {int(limit)}").strip()


def _unique(table: str, *key: str, key_expression: str | None = None) -> CheckGroup:
    """Offenders: the duplicated keys (a NULL key counts as one key, as GROUP BY groups NULLs).

    The counter first proves the common case, no duplicates, with one COUNT(DISTINCT) of the key:
    no two rows share a non-NULL key, and at most one row has a NULL key. Only when that does not hold
    does it count the offenders exactly (the CASE evaluates the subquery only then; at a million plays
    the test takes about a third of the time of the exact count on PostgreSQL). A key of several columns
    needs `key_expression`, one value that is NULL when any key column is NULL and otherwise differs
    exactly when the key differs (COUNT(DISTINCT) takes one expression on Redshift).
    """
    cols = ", ".join(key)
    if key_expression is None:
        if len(key) != 1:
            raise ValueError(f"{table}: a key of several columns needs a key_expression")
        key_expression = key[0]
    offenders = f"select {cols} from {table} group by {cols} having count(*) > 1"
    counter = f"""
with key_counts as (
    select
        count(*) as all_rows,
        count({key_expression}) as keyed_rows,
        count(distinct {key_expression}) as distinct_keys
    from {table}
)

select
    case
        when keyed_rows = distinct_keys and all_rows - keyed_rows <= 1 then 0
        else (select count(*) from ({offenders}) as offenders)
    end
from key_counts
"""
    name = f"{table}.{'_'.join(key)}_unique"
    return CheckGroup(name, (Check(name, f"{table}: ({cols}) duplicated", offenders),), counter=counter)


def _single(name: str, description: str, offenders: str) -> CheckGroup:
    return CheckGroup(name, (Check(name, description, offenders),))


def _not_null(table: str, key: str, label: str | None = None) -> CheckGroup:
    return _single(f"{table}.{key}_not_null", f"{table}: {key} is NULL",
                   f"select {label or key} from {table} where {key} is null")


def _in(table: str, key: str, parent: str, parent_key: str | None = None) -> CheckGroup:
    parent_key = parent_key or key
    return _single(
        f"{table}.{key}_in_{parent}", f"{table}.{key} not found in {parent}",
        f"select distinct c.{key} from {table} as c "
        f"where c.{key} is not null "
        f"and not exists (select 1 from {parent} as p where p.{parent_key} = c.{key})",
    )


# The natural key of a play as one BIGINT: session_id in the high 32 bits, item_in_session shifted
# into [0, 2^32) in the low ones, so two (integer, integer) pairs give the same value only if they are
# equal, and the value fits a BIGINT for every pair of INTEGERs.
SONGPLAY_NATURAL_KEY = "session_id::bigint * 4294967296 + (item_in_session::bigint + 2147483648)"



def _time_columns_differ(alias: str = "") -> str:
    """A condition: a time row's parts differ from its start_time."""
    a = f"{alias}." if alias else ""
    parts = [("hour", "hour"), ("day", "day"), ("week", "week"), ("month", "month"), ("year", "year"),
             ("weekday", "dow")]
    return "(" + " or ".join(f"{a}{col} <> date_part('{part}', {a}start_time)" for col, part in parts) + ")"

CHECKS: tuple[CheckGroup, ...] = (
    _unique("songplays", "songplay_id"),
    _not_null("songplays", "songplay_id", "session_id"),
    _unique("songplays", "session_id", "item_in_session", key_expression=SONGPLAY_NATURAL_KEY),
    _unique("users", "user_id"),
    _not_null("users", "user_id", "level"),
    _unique("songs", "song_id"),
    _not_null("songs", "song_id", "title"),
    _unique("artists", "artist_id"),
    _not_null("artists", "artist_id", "name"),
    _unique("time", "start_time"),
    _not_null("time", "start_time", "hour"),
    _in("songplays", "user_id", "users"),
    _in("songplays", "start_time", "time"),
    _in("songplays", "song_id", "songs"),
    _in("songplays", "artist_id", "artists"),
    _single("time.columns_match_start_time", "time: hour/day/week/month/year/weekday differ from start_time",
            f"select start_time from time where {_time_columns_differ()}"),
    # time holds the start times of the plays, and nothing else
    _single("time.start_time_in_songplays", "time.start_time has no play in songplays",
            "select t.start_time from time as t "
            "where not exists (select 1 from songplays as p where p.start_time = t.start_time)"),
    _unique("loaded_objects", "table_name", "object_url",
            key_expression="table_name || ' ' || object_url"),
)

# --- the run's gate
# The plays of the run: every staged NextSong event's natural key must be in songplays exactly once,
# and those plays must find their user, song and artist; their start times must be in time exactly once,
# with the right parts. run_plays joins songplays with the staged keys as they are (a key staged s times
# gives s rows per play): if every key is in songplays, the rows equal the staged keys only when each key
# has exactly one play, so the counts prove "exactly once" without de-duplicating the staged keys first. The run's users, songs and artists must be in their tables exactly once.
# A play of the run has its event's time, so it lies in the run's time range (run_range), unless it was
# loaded before (batch_stored_keys, see songplay_conflict_update) and kept its own: run_plays reads those
# two slices of songplays, and matches neither against all of it.
# "Exactly once" is first proved by counting (the keys' rows, distinct keys, and the run's distinct keys all
# equal), which costs a sort of the keys; only when that fails is the exact number of offending keys
# counted. At a first load the run touches every key, so these are whole-table checks at that moment.


def _exactly_once(rows: str, key_expression: str, wanted: str, offenders: str) -> str:
    """The count of a "run keys in `rows` exactly once" check: 0 when rows, distinct keys and the `wanted`
    number of distinct run keys are equal (then no key is missing or repeated), else the exact count."""
    return f"""case
        when (select count(*) from {rows}) = {wanted}
         and (select count(distinct {key_expression}) from {rows}) = {wanted}
            then 0
        else (select count(*) from ({offenders}) as offenders)
    end"""


_RUN_PLAYS_ONCE = """select k.session_id, k.item_in_session
from (select distinct session_id, item_in_session from run_keys) as k
left join (
    select p.session_id, p.item_in_session, count(*) as copies
    from songplays as p
    where exists (
        select 1 from run_keys as r where r.session_id = p.session_id and r.item_in_session = p.item_in_session
    )
    group by p.session_id, p.item_in_session
) as c on c.session_id = k.session_id and c.item_in_session = k.item_in_session
where c.copies is null or c.copies <> 1"""

_RUN_TIMES_ONCE = f"""select r.start_time
from run_times as r
left join (
    select start_time, count(*) as copies, max(case when {_time_columns_differ()} then 1 else 0 end) as wrong
    from run_time_rows
    group by start_time
) as c on c.start_time = r.start_time
where c.copies is null or c.copies <> 1 or c.wrong = 1"""

RUN_CHECKS: tuple[CheckGroup, ...] = (
    CheckGroup(
        "run plays",
        with_clause=f"""
with run_keys as (
    select session_id, item_in_session, ts
    from staging_events
    where page = 'NextSong'
      and user_id is not null
      and session_id is not null
      and item_in_session is not null
      and ts is not null
),

run_range as (
    select min(ts) as first_ts, max(ts) as last_ts
    from run_keys
),

run_plays as (
    select p.session_id, p.item_in_session, p.user_id, p.start_time, p.song_id, p.artist_id
    from songplays as p
    join run_range as r on p.start_time between r.first_ts and r.last_ts
    join run_keys as k
        on k.session_id = p.session_id
        and k.item_in_session = p.item_in_session
    union all
    select p.session_id, p.item_in_session, p.user_id, p.start_time, p.song_id, p.artist_id
    from songplays as p
    join run_range as r on p.start_time < r.first_ts or p.start_time > r.last_ts
    join batch_stored_keys as s
        on s.session_id = p.session_id
        and s.item_in_session = p.item_in_session
    join run_keys as k
        on k.session_id = p.session_id
        and k.item_in_session = p.item_in_session
),

run_times as (
    select distinct start_time
    from run_plays
),

run_time_rows as (
    select t.start_time, t.hour, t.day, t.week, t.month, t.year, t.weekday
    from time as t
    join run_times as r on r.start_time = t.start_time
)
""",
        checks=(
            Check("songplays.run_plays_once",
                  "NextSong events of this run not in songplays exactly once (missing or duplicated)",
                  _RUN_PLAYS_ONCE,
                  f"""case
        when (select count(*) from run_plays) = (select count(*) from run_keys)
         and (select count(distinct {SONGPLAY_NATURAL_KEY}) from run_plays)
             = (select count(distinct {SONGPLAY_NATURAL_KEY}) from run_keys)
            then 0
        else (select count(*) from ({_RUN_PLAYS_ONCE}) as offenders)
    end"""),
            Check("songplays.run_user_id_in_users", "songplays.user_id of this run's plays not found in users",
                  "select distinct user_id from run_plays where user_id not in (select user_id from users)"),
            Check("songplays.run_song_id_in_songs", "songplays.song_id of this run's plays not found in songs",
                  "select distinct song_id from run_plays "
                  "where song_id is not null and song_id not in (select song_id from songs)"),
            Check("songplays.run_artist_id_in_artists", "songplays.artist_id of this run's plays not found in artists",
                  "select distinct artist_id from run_plays "
                  "where artist_id is not null and artist_id not in (select artist_id from artists)"),
            Check("time.run_start_time_once", "start times of this run's plays not in time exactly once, or with "
                  "hour/day/week/month/year/weekday that differ from start_time",
                  _RUN_TIMES_ONCE,
                  f"""case
        when (select count(*) from run_time_rows) = (select count(*) from run_times)
         and (select count(distinct start_time) from run_time_rows) = (select count(*) from run_times)
         and not exists (select 1 from run_time_rows where {_time_columns_differ()})
            then 0
        else (select count(*) from ({_RUN_TIMES_ONCE}) as offenders)
    end"""),
        ),
    ),
    CheckGroup(
        "run users",
        with_clause="""
with run_users as (
    select distinct user_id
    from staging_events
    where user_id is not null
      and level is not null
      and ts is not null
),

user_rows as (
    select u.user_id
    from users as u
    where u.user_id in (select user_id from run_users)
)
""",
        checks=(
            Check("users.run_user_id_once", "users of this run not in users exactly once",
                  "select r.user_id from run_users as r "
                  "left join (select user_id, count(*) as copies from user_rows group by user_id) as c "
                  "on c.user_id = r.user_id where c.copies is null or c.copies <> 1",
                  _exactly_once("user_rows", "user_id", "(select count(*) from run_users)",
                                "select r.user_id from run_users as r "
                                "left join (select user_id, count(*) as copies from user_rows group by user_id) as c "
                                "on c.user_id = r.user_id where c.copies is null or c.copies <> 1")),
        ),
    ),
    CheckGroup(
        "run songs",
        with_clause="""
with run_songs as (
    select distinct r.song_id
    from song_records as r
    where r.song_id in (select song_id from staging_songs)
      and r.title is not null
      and r.artist_id is not null
),

song_rows as (
    select s.song_id
    from songs as s
    where s.song_id in (select song_id from run_songs)
),

run_artists as (
    select distinct artist_id
    from staging_songs
    where artist_id is not null
),

artist_rows as (
    select a.artist_id
    from artists as a
    where a.artist_id in (select artist_id from run_artists)
)
""",
        checks=(
            Check("songs.run_song_id_once", "songs of this run not in songs exactly once",
                  "select r.song_id from run_songs as r "
                  "left join (select song_id, count(*) as copies from song_rows group by song_id) as c "
                  "on c.song_id = r.song_id where c.copies is null or c.copies <> 1",
                  _exactly_once("song_rows", "song_id", "(select count(*) from run_songs)",
                                "select r.song_id from run_songs as r "
                                "left join (select song_id, count(*) as copies from song_rows group by song_id) as c "
                                "on c.song_id = r.song_id where c.copies is null or c.copies <> 1")),
            Check("artists.run_artist_id_once", "artists of this run not in artists exactly once",
                  "select r.artist_id from run_artists as r "
                  "left join (select artist_id, count(*) as copies from artist_rows group by artist_id) as c "
                  "on c.artist_id = r.artist_id where c.copies is null or c.copies <> 1",
                  _exactly_once("artist_rows", "artist_id", "(select count(*) from run_artists)",
                                "select r.artist_id from run_artists as r "
                                "left join (select artist_id, count(*) as copies from artist_rows group by artist_id) "
                                "as c on c.artist_id = r.artist_id where c.copies is null or c.copies <> 1")),
        ),
    ),
)

# The same checks of the run's plays when songplays was empty before the run (a first load, or the first
# after create_tables.py): every play is then one of the run's, so nothing needs matching with the staged
# keys, and one pass over each table gives what proves the checks: as many plays as staged keys (when those
# are distinct; else the exact count runs), all distinct, with the same sum of natural keys (a play with a
# key that is not the run's would have to be offset exactly by another); as many time rows as distinct play
# start times, all distinct, no play start time missing, and their parts right.
_KEY_SUM = f"sum(cast({SONGPLAY_NATURAL_KEY} as numeric(38, 0)))"
RUN_PLAYS_FIRST_LOAD = CheckGroup(
    "run plays (first load)",
    with_clause=RUN_CHECKS[0].with_clause.rstrip() + f""",

staged_stats as (
    select count(*) as keys, count(distinct {SONGPLAY_NATURAL_KEY}) as distinct_keys, {_KEY_SUM} as key_sum
    from staging_events
    where page = 'NextSong'
      and user_id is not null
      and session_id is not null
      and item_in_session is not null
      and ts is not null
),

play_stats as (
    select count(*) as plays, count(distinct {SONGPLAY_NATURAL_KEY}) as distinct_keys, {_KEY_SUM} as key_sum
    from songplays
),

time_stats as (
    select count(*) as time_rows, count(distinct start_time) as start_times
    from time
)
""",
    checks=(
        RUN_CHECKS[0].checks[0]._replace(count=f"""case
        when (select keys = distinct_keys from staged_stats)
         and (select p.plays = s.keys and p.distinct_keys = p.plays and p.key_sum = s.key_sum
              from play_stats as p, staged_stats as s)
            then 0
        else (select count(*) from ({_RUN_PLAYS_ONCE}) as offenders)
    end"""),
        *(c._replace(offenders=c.offenders.replace("from run_plays", "from songplays"))
          for c in RUN_CHECKS[0].checks[1:4]),
        RUN_CHECKS[0].checks[4]._replace(count=f"""case
        when (select time_rows = start_times from time_stats)
         and (select time_rows from time_stats) = (select count(distinct start_time) from songplays)
         and not exists (select 1 from songplays where start_time not in (select start_time from time))
         and not exists (select 1 from time where {_time_columns_differ()})
            then 0
        else (select count(*) from ({_RUN_TIMES_ONCE}) as offenders)
    end"""),
    ),
)

# --------------------------------------------------------------------------- analytics
# Row counts are built from ALL_TABLES by sparkify.reports (one count(*) per table).
#
# Every number of analytics.py (the text tables, --json and the --html report) is an aggregate computed
# here; only small results are fetched, never a table's rows. Days and hours are UTC, like start_time.
#
# The analytics first condense songplays into four temporary tables (analytics_setup_queries), then
# every query below reads those: three passes over songplays in all (one more, for level changes, reads
# only the plays of users who changed level), where one query per chart would scan every play about
# fifteen times. The temporary tables live in the analytics' own transaction, which is rolled back:
# nothing of the warehouse changes.

# One row per user, session, level and UTC hour with plays: the grain of every count by day, hour, level,
# user and session. (A session rarely spans more than a few hours, so this is a few rows per session.)
report_plays_create = """
create temp table report_plays as
select
    user_id,
    session_id,
    level,
    date_trunc('hour', start_time) as hour_start,
    count(*) as plays,
    count(song_id) as matched_plays,
    min(start_time) as first_play,
    max(start_time) as last_play
from songplays
group by user_id, session_id, level, date_trunc('hour', start_time)
"""

# A session is one user's session_id (the app numbers sessions; a session belongs to one user). Its
# length runs from its first play to the start of its last one: plays carry no duration (most match no
# catalog song), so a one-play session lasts 0 seconds. Whole seconds: Redshift's extract(epoch from a
# timestamp) is an integer, PostgreSQL's keeps the milliseconds, so both are floored to agree.
report_sessions_create = """
create temp table report_sessions as
select
    user_id,
    session_id,
    sum(plays) as plays,
    floor(extract(epoch from max(last_play))) - floor(extract(epoch from min(first_play))) as seconds
from report_plays
group by user_id, session_id
"""

# Where and on what each user listened: the location and user agent the app logged with each play.
report_listeners_create = """
create temp table report_listeners as
select user_id, location, user_agent, count(*) as plays
from songplays
group by user_id, location, user_agent
"""

# Plays of catalog songs (song_id and artist_id come from the same catalog match, NULL together).
report_song_plays_create = """
create temp table report_song_plays as
select song_id, artist_id, count(*) as plays
from songplays
where song_id is not null or artist_id is not null
group by song_id, artist_id
"""

# The most played catalog songs (plays that matched no song are not counted).
most_played_songs = """
with song_plays as (
    select song_id, cast(sum(plays) as bigint) as plays
    from report_song_plays
    where song_id is not null
    group by song_id
)

select s.title, a.name as artist, p.plays
from song_plays as p
join songs as s on s.song_id = p.song_id
left join artists as a on a.artist_id = s.artist_id
order by p.plays desc, s.title, artist
limit 10
"""

most_played_artists = """
with artist_plays as (
    select artist_id, cast(sum(plays) as bigint) as plays
    from report_song_plays
    where artist_id is not null
    group by artist_id
)

select a.name as artist, p.plays
from artist_plays as p
join artists as a on a.artist_id = p.artist_id
order by p.plays desc, artist
limit 10
"""

# The hour of start_time (UTC), as time.hour holds it.
plays_by_hour = """
select cast(date_part('hour', hour_start) as integer) as hour, cast(sum(plays) as bigint) as plays
from report_plays
group by cast(date_part('hour', hour_start) as integer)
order by hour
"""

plays_by_level = """
select level, cast(sum(plays) as bigint) as plays
from report_plays
group by level
order by plays desc, level
"""

most_active_users = """
with user_plays as (
    select user_id, cast(sum(plays) as bigint) as plays
    from report_plays
    group by user_id
)

select p.user_id, u.first_name, u.last_name, u.level, p.plays
from user_plays as p
left join users as u on u.user_id = p.user_id
order by p.plays desc, p.user_id
limit 10
"""

# Plays and listeners (distinct users) per day and subscription level (the level at the time of the play).
# Users are counted from one row per (day, level, user) rather than with count(distinct), which sorts.
plays_by_day = """
with user_days as (
    select cast(hour_start as date) as day, level, user_id, sum(plays) as plays
    from report_plays
    group by cast(hour_start as date), level, user_id
)

select day, level, cast(sum(plays) as bigint) as plays, count(*) as listeners
from user_days
group by day, level
order by day, level
"""

# Free vs paid: plays and listeners at each level, and users by their current level (users.level,
# from each user's latest event). A user who upgraded counts as a listener at both levels.
level_summary = """
with play_levels as (
    select level, user_id, sum(plays) as plays
    from report_plays
    group by level, user_id
),

listeners as (
    select level, cast(sum(plays) as bigint) as plays, count(*) as listeners
    from play_levels
    group by level
),

current_levels as (
    select level, count(*) as users
    from users
    group by level
)

select
    coalesce(l.level, c.level) as level,
    coalesce(l.plays, 0) as plays,
    coalesce(l.listeners, 0) as listeners,
    coalesce(c.users, 0) as users
from listeners as l
full outer join current_levels as c on c.level = l.level
order by level
"""

# Upgrades and downgrades: a play whose level differs from the same user's previous play. songplays
# holds every play ever loaded (staging only the latest batch), so this sees every change between
# plays; a change and its reversal between two plays are invisible. Only the plays of users with plays
# at two levels are ordered (the others cannot change). Ties on start_time cannot occur for one user
# ((user_id, start_time) is unique among plays); the natural key orders them anyway.
level_changes_by_day = """
with changed_users as (
    select user_id
    from report_plays
    group by user_id
    having min(level) <> max(level)
),

ordered_plays as (
    select
        p.start_time,
        p.level,
        lag(p.level) over (
            partition by p.user_id order by p.start_time, p.session_id, p.item_in_session
        ) as previous_level
    from songplays as p
    join changed_users as c on c.user_id = p.user_id
)

select
    cast(start_time as date) as day,
    count(case when previous_level = 'free' and level = 'paid' then 1 end) as upgrades,
    count(case when previous_level = 'paid' and level = 'free' then 1 end) as downgrades
from ordered_plays
where previous_level <> level
group by cast(start_time as date)
order by day
"""

session_summary = """
select
    count(*) as sessions,
    count(distinct user_id) as listeners,
    avg(cast(plays as double precision)) as plays_per_session,
    cast(max(plays) as bigint) as most_plays,
    avg(cast(seconds as double precision)) / 60 as average_minutes,
    cast(max(seconds) as double precision) / 60 as longest_minutes
from report_sessions
"""

# The distribution of plays per session, in fixed buckets (plays_from..plays_to; plays_to is NULL for
# the open last bucket). Only buckets with sessions are returned.
sessions_by_plays = """
with bucketed as (
    select
        case
            when plays = 1 then 1
            when plays <= 5 then 2
            when plays <= 10 then 6
            when plays <= 25 then 11
            when plays <= 50 then 26
            when plays <= 100 then 51
            else 101
        end as plays_from
    from report_sessions
)

select
    plays_from,
    case plays_from
        when 1 then 1 when 2 then 5 when 6 then 10 when 11 then 25 when 26 then 50 when 51 then 100
    end as plays_to,
    count(*) as sessions
from bucketed
group by plays_from
order by plays_from
"""

# The distribution of session lengths, in fixed buckets of minutes (minutes_to NULL: open bucket).
sessions_by_length = """
with bucketed as (
    select
        case
            when seconds < 10 * 60 then 0
            when seconds < 30 * 60 then 10
            when seconds < 60 * 60 then 30
            when seconds < 120 * 60 then 60
            when seconds < 240 * 60 then 120
            when seconds < 480 * 60 then 240
            else 480
        end as minutes_from
    from report_sessions
)

select
    minutes_from,
    case minutes_from
        when 0 then 10 when 10 then 30 when 30 then 60 when 60 then 120 when 120 then 240 when 240 then 480
    end as minutes_to,
    count(*) as sessions
from bucketed
group by minutes_from
order by minutes_from
"""

# Where listeners are: the locations with most listeners (distinct users), then most plays.
top_locations = """
with user_locations as (
    select coalesce(location, '(unknown)') as location, user_id, sum(plays) as plays
    from report_listeners
    group by coalesce(location, '(unknown)'), user_id
)

select location, count(*) as listeners, cast(sum(plays) as bigint) as plays
from user_locations
group by location
order by listeners desc, plays desc, location
limit 10
"""

# What listeners use: browser and operating system parsed from the user agent with LIKE patterns, in
# order (the first that matches wins: Chromium's and Edge's agents also name Chrome and Safari; an
# iPhone's says "like Mac OS X"). The patterns run on the distinct (user, agent) pairs only.
user_agent_browser = """
case
    when user_agent is null or user_agent = '' then '(unknown)'
    when user_agent like '%Edg/%' or user_agent like '%Edge/%' then 'Edge'
    when user_agent like '%OPR/%' or user_agent like '%Opera%' then 'Opera'
    when user_agent like '%Chromium/%' then 'Chromium'
    when user_agent like '%Chrome/%' or user_agent like '%CriOS/%' then 'Chrome'
    when user_agent like '%Firefox/%' or user_agent like '%FxiOS/%' then 'Firefox'
    when user_agent like '%MSIE %' or user_agent like '%Trident/%' then 'Internet Explorer'
    when user_agent like '%Safari/%' then 'Safari'
    else 'other'
end
"""

user_agent_os = """
case
    when user_agent is null or user_agent = '' then '(unknown)'
    when user_agent like '%Windows Phone%' then 'Windows Phone'
    when user_agent like '%Windows%' then 'Windows'
    when user_agent like '%iPhone%' or user_agent like '%iPad%' or user_agent like '%iPod%' then 'iOS'
    when user_agent like '%Android%' then 'Android'
    when user_agent like '%Macintosh%' or user_agent like '%Mac OS X%' then 'macOS'
    when user_agent like '%CrOS%' then 'Chrome OS'
    when user_agent like '%Linux%' or user_agent like '%X11%' then 'Linux'
    else 'other'
end
"""


def _listeners_by(expression: str, name: str) -> str:
    """Listeners and plays per value of `expression` (a CASE over user_agent), most listeners first."""
    case = expression.strip().replace("\n", "\n        ")
    return f"""
with classified as (
    select
        {case} as {name},
        user_id,
        plays
    from report_listeners
),

user_totals as (
    select {name}, user_id, sum(plays) as plays
    from classified
    group by {name}, user_id
)

select {name}, count(*) as listeners, cast(sum(plays) as bigint) as plays
from user_totals
group by {name}
order by listeners desc, plays desc, {name}
"""


listeners_by_browser = _listeners_by(user_agent_browser, "browser")
listeners_by_os = _listeners_by(user_agent_os, "os")

# The share of plays matched to a catalog song (same title, artist name and duration; see the merge).
catalog_match = """
select
    cast(sum(plays) as bigint) as plays,
    cast(sum(matched_plays) as bigint) as matched_plays,
    cast(sum(plays) - sum(matched_plays) as bigint) as unmatched_plays
from report_plays
"""

# --------------------------------------------------------------------------- ordered lists
drop_table_queries = [
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
]

create_table_queries = [
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
]

# etl.py, in this order (sparkify.pipeline.etl_plan):
# 1. the lock, the run's id and the previous run's totals;
etl_lock_queries = [etl_lock_timeout_set, etl_lock, etl_lock_timeout_reset]
etl_start_queries = [etl_run_next_id, latest_etl_totals]
# 2. the ledger of each staging table (loaded_objects_select), then staging emptied and the new objects
#    COPYed (copy_table_queries, in this order), then their ledger rows (loaded_objects_delete/_insert);
clear_staging_queries = [staging_events_clear, staging_songs_clear]
copy_table_queries = [staging_events_copy, staging_songs_copy]
# 3. when song records were staged: the catalog, songs, artists, and the plays that now match;
song_merge_queries = [
    analyze_staging_songs,
    song_records_insert,
    analyze_song_records,
    batch_songs_drop,
    batch_songs_create,
    song_table_delete,
    song_table_insert,
    analyze_songs,
    batch_artists_drop,
    batch_artists_create,
    artist_table_delete,
    artist_table_insert,
    analyze_artists,
    songplay_rematch,
]
# 4. when events were staged: users, then plays (corrected, then new), then their times
#    (time_orphans_delete only after songplay_conflict_update changed a row);
event_merge_queries = [
    analyze_staging_events,
    batch_users_drop,
    batch_users_create,
    user_table_delete,
    user_table_insert,
    analyze_users,
    batch_stored_keys_drop,
    batch_stored_keys_create,
    songplay_conflict_update,
    songplay_table_insert,
    analyze_songplays,
    time_table_insert,
    analyze_time,
]
# 5. the row counts of the tables the run changed, RUN_CHECKS, and the run's etl_runs row.

# analytics.py: the temporary tables the analytics read (report_sessions after report_plays, which it reads).
analytics_setup_queries = [
    report_plays_create,
    report_sessions_create,
    report_listeners_create,
    report_song_plays_create,
]

analytics_queries = {
    "most_played_songs": most_played_songs,
    "most_played_artists": most_played_artists,
    "plays_by_hour": plays_by_hour,
    "plays_by_level": plays_by_level,
    "most_active_users": most_active_users,
    # the analysts' report
    "plays_by_day": plays_by_day,
    "level_summary": level_summary,
    "level_changes_by_day": level_changes_by_day,
    "session_summary": session_summary,
    "sessions_by_plays": sessions_by_plays,
    "sessions_by_length": sessions_by_length,
    "top_locations": top_locations,
    "listeners_by_browser": listeners_by_browser,
    "listeners_by_os": listeners_by_os,
    "catalog_match": catalog_match,
}
