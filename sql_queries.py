"""Every statement of the Sparkify warehouse, in Redshift's dialect, grouped by phase.

This file is the single source of truth for the SQL. Nothing here reads the configuration:
the COPY statements are templates (sparkify.copy.spec.CopyTemplate) bound to the [S3]
settings at run time and rendered by a pure function (sparkify.copy.redshift.render_copy).
On the `local` and `postgres` engines, sparkify.warehouse.translate_for_postgres removes the
Redshift-only clauses (DISTSTYLE, DISTKEY, SORTKEY, ENCODE) and rewrites IDENTITY; nothing else
differs in these statements (the merge's PostgreSQL-only memory settings are not SQL of this file:
sparkify.warehouse.POSTGRES_ETL_SETTINGS). The ordered lists at the end are what the scripts execute,
in order.

Distribution and sort keys, and why (a dc2.large cluster has 2 slices per node):
- songplays and time are the two tables that grow with the event stream; both are distributed
  on start_time so that their join is collocated, and sorted on it because analysts filter by
  time. song_id would be a poor DISTKEY: most plays match no catalog song, so NULLs would pile
  onto one slice.
- users, songs and artists are small (thousands to tens of thousands of rows): DISTSTYLE ALL
  puts a copy on every node, so joins to them never redistribute the fact table.
- staging_events is spread evenly (it is only scanned); staging_songs is ALL, so the
  songplays match (a join of every NextSong event to the catalog) runs without moving events.

Primary keys are declared for the planner and documentation only: Redshift does not enforce
them, and the local engines drop them too (like Redshift). The transforms below guarantee
uniqueness themselves, and sparkify.checks verifies it after every load.
"""

from sparkify.copy.spec import CopyTemplate

# --------------------------------------------------------------------------- drop
# One statement per table; the order does not matter (no foreign keys are declared).
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
STAGING_TABLES = ("staging_events", "staging_songs")
ALL_TABLES = STAGING_TABLES + STAR_TABLES

staging_events_table_drop = "drop table if exists staging_events"
staging_songs_table_drop = "drop table if exists staging_songs"
songplay_table_drop = "drop table if exists songplays"
user_table_drop = "drop table if exists users"
song_table_drop = "drop table if exists songs"
artist_table_drop = "drop table if exists artists"
time_table_drop = "drop table if exists time"
etl_runs_table_drop = "drop table if exists etl_runs"

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
# app's log (all 6,820 NextSong events of the real data have distinct pairs). Re-runs only add
# plays whose natural key is new, so songplay_id values never change once assigned.
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
    user_agent      varchar(512)
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

# One row per etl.py run. Also the lock that keeps two runs from interleaving: every run starts
# with `lock etl_runs`, which a second run waits on until the first commits or rolls back.
etl_runs_table_create = """
create table etl_runs (
    run_id           bigint identity(1, 1),
    finished_at      timestamp not null,
    staged_events    bigint not null,
    staged_songs     bigint not null,
    songplays_added  bigint not null,
    users_merged     bigint not null,
    songs_merged     bigint not null,
    artists_merged   bigint not null,
    time_added       bigint not null
)
diststyle all
"""

# --------------------------------------------------------------------------- copy (templates)
# Bound to [S3] LOG_DATA / LOG_JSONPATH / SONG_DATA, REGION and [IAM_ROLE] ARN at run time. The
# fixed options every COPY gets (TRUNCATECOLUMNS BLANKSASNULL EMPTYASNULL COMPUPDATE OFF
# STATUPDATE OFF, MAXERROR from [ETL]) are in sparkify.copy.spec.CopySpec's defaults.
staging_events_copy = CopyTemplate(
    table="staging_events", source_key="log_data", json_key="log_jsonpath", timeformat="epochmillisecs"
)
staging_songs_copy = CopyTemplate(table="staging_songs", source_key="song_data")

# Redshift only, right after a successful COPY: how many records MAXERROR let it skip.
copy_rejected_count = "select count(*) from stl_load_errors where query = pg_last_copy_id()"

# --------------------------------------------------------------------------- transform
# The run's lock, then staging is emptied inside the transaction (DELETE, not TRUNCATE: on
# Redshift TRUNCATE commits the open transaction, which would break atomicity).
etl_lock = "lock etl_runs"
staging_events_clear = "delete from staging_events"
staging_songs_clear = "delete from staging_songs"

# Each star table is merged from a de-duplicated batch with the staging-table upsert pattern that
# Redshift documents (delete the keys being replaced, then insert), so re-runs never duplicate.
# The batches are temporary tables, dropped with the session.

# One row per NextSong event of the batch (a duplicated event is kept once), matched to a catalog
# song on exact title, artist name and duration. When several catalog records share those three
# values, the lowest song_id wins, so the match can never multiply a play.
# The events are matched before they are de-duplicated: the match keeps one row per event (at most
# one catalog row has match_rank 1 for a title, artist and duration), so the result is the same as
# matching the de-duplicated events, and the planner sizes the join from the events' real row count
# (it cannot estimate how many rows a `duplicate_rank = 1` filter keeps, guesses a handful, and
# then picks a nested loop over the catalog).
batch_songplays_create = """
create temp table batch_songplays as
with next_song_events as (
    select
        ts as start_time,
        user_id,
        level,
        song,
        artist,
        length,
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
),

catalog_matches as (
    select
        title,
        artist_name,
        duration,
        song_id,
        artist_id,
        row_number() over (
            partition by title, artist_name, duration
            order by song_id, artist_id
        ) as match_rank
    from staging_songs
    where song_id is not null
),

matched_events as (
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
        row_number() over (
            partition by e.session_id, e.item_in_session
            order by e.start_time, e.user_id, e.level
        ) as duplicate_rank
    from next_song_events as e
    left join catalog_matches as m
        on m.title = e.song
        and m.artist_name = e.artist
        and m.duration = e.length
        and m.match_rank = 1
)

select
    start_time,
    user_id,
    level,
    song_id,
    artist_id,
    session_id,
    item_in_session,
    location,
    user_agent
from matched_events
where duplicate_rank = 1
"""

# Plays already in songplays keep their row (and songplay_id): only new natural keys are added.
songplay_table_insert = """
insert into songplays (
    start_time, user_id, level, song_id, artist_id, session_id, item_in_session, location, user_agent
)
select
    b.start_time,
    b.user_id,
    b.level,
    b.song_id,
    b.artist_id,
    b.session_id,
    b.item_in_session,
    b.location,
    b.user_agent
from batch_songplays as b
where not exists (
    select 1
    from songplays as p
    where p.session_id = b.session_id
      and p.item_in_session = b.item_in_session
)
"""

# One row per user over ALL events of the batch (not only NextSong): the user's most recent
# event gives the level and the names. Ties on ts are broken deterministically.
batch_users_create = """
create temp table batch_users as
with ranked_events as (
    select
        user_id,
        first_name,
        last_name,
        gender,
        level,
        ts,
        row_number() over (
            partition by user_id
            order by ts desc, session_id desc, item_in_session desc, level desc
        ) as recency_rank
    from staging_events
    where user_id is not null
      and level is not null
      and ts is not null
)

select
    user_id,
    first_name,
    last_name,
    gender,
    level,
    ts as last_event_at
from ranked_events
where recency_rank = 1
"""

# A stored user is replaced only by a batch row whose latest event is at least as recent, so
# loading older days after newer ones never brings back an old level.
user_table_delete = """
delete from users
using batch_users as b
where users.user_id = b.user_id
  and b.last_event_at >= users.last_event_at
"""

user_table_insert = """
insert into users (user_id, first_name, last_name, gender, level, last_event_at)
select b.user_id, b.first_name, b.last_name, b.gender, b.level, b.last_event_at
from batch_users as b
where not exists (select 1 from users as u where u.user_id = b.user_id)
"""

# One row per song_id; if song files disagree, the first by (title, artist_id, year, duration).
batch_songs_create = """
create temp table batch_songs as
with ranked_songs as (
    select
        song_id,
        title,
        artist_id,
        year,
        duration,
        row_number() over (
            partition by song_id
            order by title, artist_id, year, duration
        ) as song_rank
    from staging_songs
    where song_id is not null
      and title is not null
      and artist_id is not null
)

select song_id, title, artist_id, year, duration
from ranked_songs
where song_rank = 1
"""

song_table_delete = """
delete from songs
using batch_songs as b
where songs.song_id = b.song_id
"""

song_table_insert = """
insert into songs (song_id, title, artist_id, year, duration)
select song_id, title, artist_id, year, duration
from batch_songs
"""

# One row per artist_id. Song files of one artist often disagree (a blank location in one file,
# a city in another; "feat." variants of the name): the most complete record wins (a location,
# then coordinates), then the alphabetically first name, so the choice is deterministic.
batch_artists_create = """
create temp table batch_artists as
with ranked_artists as (
    select
        artist_id,
        artist_name,
        artist_location,
        artist_latitude,
        artist_longitude,
        row_number() over (
            partition by artist_id
            order by
                case when artist_location is null then 1 else 0 end,
                case when artist_latitude is null then 1 else 0 end,
                artist_name,
                artist_location,
                artist_latitude,
                artist_longitude
        ) as completeness_rank
    from staging_songs
    where artist_id is not null
)

select
    artist_id,
    artist_name as name,
    artist_location as location,
    artist_latitude as latitude,
    artist_longitude as longitude
from ranked_artists
where completeness_rank = 1
"""

artist_table_delete = """
delete from artists
using batch_artists as b
where artists.artist_id = b.artist_id
"""

artist_table_insert = """
insert into artists (artist_id, name, location, latitude, longitude)
select artist_id, name, location, latitude, longitude
from batch_artists
"""

# The distinct start times of the batch's plays, once: the time merge and the run's count both read it.
batch_time_create = """
create temp table batch_time as
select distinct start_time
from batch_songplays
"""

# One row per distinct start_time of the batch's plays that time does not have yet. date_part and
# extract take the same date parts on both engines (ISO week; dow 0 = Sunday); date_part returns a
# double precision, which PostgreSQL computes about twice as fast as extract's numeric.
time_table_insert = """
insert into time (start_time, hour, day, week, month, year, weekday)
with new_start_times as (
    select b.start_time
    from batch_time as b
    where not exists (select 1 from time as t where t.start_time = b.start_time)
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

# Records the run (finished_at is the only parameter: the client's UTC clock, as Redshift and
# PostgreSQL name "now" differently). The counts describe the batch just merged:
# - staged_events, staged_songs: the rows COPY put into staging;
# - songplays_added: the batch's plays (its distinct NextSong events), all of which are in songplays
#   once songplay_table_insert has run (those already there kept their row, the others were added),
#   so a re-run of the same files records the same number;
# - users_merged, songs_merged, artists_merged: the batch's distinct users, songs and artists;
# - time_added: the distinct start times of the batch's plays (batch_time), all in time afterwards.
etl_run_insert = """
insert into etl_runs (
    finished_at, staged_events, staged_songs, songplays_added,
    users_merged, songs_merged, artists_merged, time_added
)
select
    %(finished_at)s,
    (select count(*) from staging_events),
    (select count(*) from staging_songs),
    (select count(*) from batch_songplays),
    (select count(*) from batch_users),
    (select count(*) from batch_songs),
    (select count(*) from batch_artists),
    (select count(*) from batch_time)
"""

latest_etl_run = """
select staged_events, staged_songs, songplays_added, users_merged, songs_merged, artists_merged, time_added
from etl_runs
order by run_id desc
limit 1
"""

batch_tables_drop = [
    "drop table if exists batch_songplays",
    "drop table if exists batch_users",
    "drop table if exists batch_songs",
    "drop table if exists batch_artists",
    "drop table if exists batch_time",
]

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
    etl_runs_table_drop,
]

create_table_queries = [
    staging_events_table_create,
    staging_songs_table_create,
    songplay_table_create,
    user_table_create,
    song_table_create,
    artist_table_create,
    time_table_create,
    etl_runs_table_create,
]

# etl.py: lock, empty staging, then the COPYs (in this order), then the merge.
clear_staging_queries = [staging_events_clear, staging_songs_clear]
copy_table_queries = [staging_events_copy, staging_songs_copy]

# Fresh planner statistics after bulk changes. COPY runs with STATUPDATE OFF, and PostgreSQL's
# autovacuum cannot see inside our transaction: without statistics, both planners take the just-loaded
# tables for tiny ones and pick nested-loop joins; at a million events the anti-joins of the merge and
# the checks then take minutes instead of seconds. ANALYZE is allowed inside a transaction on both
# engines; on Redshift it skips tables that changed little (analyze_threshold_percent).
# Staging and the batch of plays are only read by the merge, so they are analyzed on the columns its
# plans filter, join, group or rank on (plus, for staging_events, the two wide text columns the plays
# carry through their sort, so that row widths are estimated right); the star tables get every column,
# for the analysts' queries too.
analyze_staging_queries = [
    ("analyze staging_events (page, user_id, session_id, item_in_session, ts, level, song, artist, length, "
     "location, user_agent)"),
    "analyze staging_songs (song_id, title, artist_id, artist_name, duration)",
]
analyze_batch_queries = [
    "analyze batch_songplays (session_id, item_in_session, start_time)",
    "analyze batch_users",
    "analyze batch_songs",
    "analyze batch_artists",
]
analyze_star_queries = [
    "analyze songplays",
    "analyze users",
    "analyze songs",
    "analyze artists",
    "analyze time",
]

# The batches (batch_time after the analyzed batch of plays, whose statistics size its DISTINCT), then
# the dimensions, then the fact, then time.
insert_table_queries = [
    *batch_tables_drop,
    batch_songplays_create,
    batch_users_create,
    batch_songs_create,
    batch_artists_create,
    *analyze_batch_queries,
    batch_time_create,
    user_table_delete,
    user_table_insert,
    song_table_delete,
    song_table_insert,
    artist_table_delete,
    artist_table_insert,
    songplay_table_insert,
    time_table_insert,
]

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
