"""The merge of staged events: users, then plays (those seen again corrected in place, the new ones inserted),
then the start times of the plays.

Every statement here runs when the run staged events. A stored user or play is replaced only by a row that
comes before it in a total order over the stored columns (sql_queries.rules): the candidates of a key, the
stored row among them, are ranked by one window, so loading older days after newer ones never brings back an
old level; songplays only gains new natural keys (session_id, item_in_session) or corrects one in place, so
songplay_ids are stable and re-runs never duplicate.

Two forms where a first load can skip work: when songplays had no rows before the run (When.SONGPLAYS_WAS_EMPTY)
no staged play can be stored already, so the plays go straight from staging into songplays and the start times
straight from songplays into time; otherwise the run's plays are gathered once in batch_plays, which the
correction, the insert, the new start times and the report's tables (sql_queries.report_tables, through
batch_play_changes) read.

Shapes, as the Redshift developer guide documents them: CREATE TEMP TABLE ... AS and INSERT INTO ... SELECT
with a WITH clause whose tables the query's FROM clause reads ("WITH clause"); UPDATE ... FROM a table joined
on the target's key ("Examples of UPDATE statements": updating a table based on the result of a join
condition); DELETE ... USING.
"""

from __future__ import annotations

from sql_queries.rules import (
    SONGPLAY_ORDER,
    USER_ORDER,
    Key,
    catalog_match_columns,
    matches_play,
    order_by,
    renamed,
)
from sql_queries.statement import Analyze, Statement, When

_EVENTS = (When.EVENTS_STAGED,)
_FIRST = (When.EVENTS_STAGED, When.SONGPLAYS_WAS_EMPTY)
_LATER = (When.EVENTS_STAGED, When.SONGPLAYS_HAD_ROWS)

# On the columns the merge filters, joins, groups or ranks on (the plays carry location and user_agent through,
# which PostgreSQL sizes from the table's width without their statistics).
analyze_staging_events = Analyze(
    "analyze_staging_events",
    "analyze staging_events (page, user_id, session_id, item_in_session, ts, level, song, artist, length)",
    table="staging_events", when=_EVENTS, note="events were staged: users, plays, their times")

# --------------------------------------------------------------------------- users
# One row per user of the batch whose row changes: the user's most recent event (events of any page), ties
# broken by USER_ORDER, ranked together with the user's stored row, which stays when it comes first (or is the
# same: `stored desc` last). max(ts) per user first (a hash aggregate), then only the events at that time are
# ranked: sorting every event of a large batch would cost more than the rest of the users merge.
batch_users_drop = Statement("batch_users_drop", "drop table if exists batch_users", when=_EVENTS)
batch_users_create = Statement("batch_users_create", f"""
create temp table batch_users as
with latest_times as (
    select user_id, max(ts) as last_event_at
    from staging_events
    where user_id is not null
      and level is not null
      and ts is not null
    group by user_id
),

candidates as (
    select
        e.user_id,
        e.first_name,
        e.last_name,
        e.gender,
        e.level,
        e.ts as last_event_at,
        0 as stored
    from staging_events as e
    join latest_times as l
        on l.user_id = e.user_id
        and l.last_event_at = e.ts
    where e.level is not null
    union all
    select
        u.user_id,
        u.first_name,
        u.last_name,
        u.gender,
        u.level,
        u.last_event_at,
        1 as stored
    from users as u
    join latest_times as l on l.user_id = u.user_id
),

ranked_candidates as (
    select
        user_id,
        first_name,
        last_name,
        gender,
        level,
        last_event_at,
        stored,
        row_number() over (
            partition by user_id
            order by {order_by((*USER_ORDER, Key("stored", "desc")))}
        ) as recency_rank
    from candidates
)

select user_id, first_name, last_name, gender, level, last_event_at
from ranked_candidates
where recency_rank = 1
  and stored = 0
""", when=_EVENTS)

# The stored rows of those users are replaced (Redshift's staging-table upsert: delete, then insert).
user_table_delete = Statement("user_table_delete", """
delete from users
using batch_users as b
where users.user_id = b.user_id
""", writes=("users",), when=_EVENTS)

user_table_insert = Statement("user_table_insert", """
insert into users (user_id, first_name, last_name, gender, level, last_event_at)
select user_id, first_name, last_name, gender, level, last_event_at
from batch_users
""", writes=("users",), tally="users_merged", when=_EVENTS)
analyze_users = Analyze("analyze_users", "analyze users", table="users", when=_EVENTS)

# --------------------------------------------------------------------------- plays
# The plays of the batch: NextSong events that name a user, a session, a position and a time; one per natural
# key (the first in SONGPLAY_ORDER when an event came twice), matched to the catalog: the CTE `plays`.
_PLAY_COLUMNS = ("start_time", "user_id", "level", "song_id", "artist_id", "session_id", "item_in_session",
                 "location", "user_agent", "song_title", "artist_name", "song_length")
_COLUMNS = ",\n    ".join(_PLAY_COLUMNS)


def _listed(columns, prefix: str = "", indent: int = 4, suffix: str = "") -> str:
    """`columns` as a SELECT list, one per line at `indent`, each `prefix`column`suffix` (suffix may use {c})."""
    return (",\n" + " " * indent).join(f"{prefix}{c}{suffix.format(c=c)}" for c in columns)
# The staging_events columns the play's are taken from (the window ranks on them, in the SELECT that renames them).
_STAGED_NAMES = {"start_time": "ts", "song_title": "song", "artist_name": "artist", "song_length": "length"}
def _plays(songs_played_only: bool) -> str:
    """The CTEs that give `plays`. `songs_played_only`: rank only the catalog records of the titles, artists and
    lengths the run's events name (a day's few thousand, rather than the whole catalog; every record of such a key
    is kept, so the best one is the same)."""
    played = f"""
    join (
        select song_title, artist_name, song_length
        from next_song_events
        group by song_title, octet_length(song_title), artist_name, octet_length(artist_name), song_length
    ) as k
        on {matches_play("r", "k")}""" \
        if songs_played_only else ""
    return f"""next_song_events as (
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
        user_agent,
        row_number() over (
            partition by session_id, item_in_session
            order by {order_by(renamed(SONGPLAY_ORDER, _STAGED_NAMES))}
        ) as duplicate_rank
    from staging_events
    where page = 'NextSong'
      and user_id is not null
      and session_id is not null
      and item_in_session is not null
      and ts is not null
),

catalog_matches as (
    select{catalog_match_columns("r")}
    from song_records as r{played}
    where r.song_id is not null
      and r.artist_id is not null
      and r.title is not null
      and r.artist_name is not null
      and r.duration is not null
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
    from next_song_events as e
    left join catalog_matches as m
        on {matches_play("m", "e")}
        and m.match_rank = 1
    where e.duplicate_rank = 1
)"""


# A first load (songplays had no rows): every play of the batch is new, so it goes straight from staging
# into songplays, written once.
songplay_first_insert = Statement("songplay_first_insert", f"""
insert into songplays (
    {", ".join(_PLAY_COLUMNS)}
)
with {_plays(songs_played_only=False)}

select
    {_COLUMNS}
from plays
""", writes=("songplays",), tally="songplays_added", when=_FIRST,
    note="songplays had no rows before this run: its plays go straight in")

# Later runs: the run's plays, once, for the statements below.
batch_plays_drop = Statement("batch_plays_drop", "drop table if exists batch_plays", when=_LATER)
batch_plays_create = Statement("batch_plays_create", f"""
create temp table batch_plays as
with {_plays(songs_played_only=True)}

select
    {_COLUMNS}
from plays
""", when=_LATER)

# The run's play keys that songplays has already (usually none: a day's plays are new). Its row count decides
# whether the correction runs at all: it proves When.PLAYS_SEEN_AGAIN.
batch_stored_keys_drop = Statement("batch_stored_keys_drop", "drop table if exists batch_stored_keys", when=_LATER)
batch_stored_keys_create = Statement("batch_stored_keys_create", """
create temp table batch_stored_keys as
select distinct p.session_id, p.item_in_session
from songplays as p
join batch_plays as b
    on b.session_id = p.session_id
    and b.item_in_session = p.item_in_session
""", proves=When.PLAYS_SEEN_AGAIN, when=_LATER)

# A play loaded before and seen again (the same natural key) is corrected in place, keeping its songplay_id,
# only if the new one comes before the stored one in SONGPLAY_ORDER (ranked together; the stored row stays on
# a tie, so identical re-deliveries change nothing). The stored values are kept beside the new ones for the
# time rows and the report's tables. (Made, empty, on every later run: the statements after it read it.)
_OLD = ("start_time", "user_id", "level", "song_id", "artist_id", "location", "user_agent")
batch_corrections_drop = Statement("batch_corrections_drop", "drop table if exists batch_corrections",
                                   when=(*_LATER, When.PLAYS_SEEN_AGAIN))
batch_corrections_create = Statement("batch_corrections_create", f"""
create temp table batch_corrections as
with candidates as (
    select
        {_listed(_PLAY_COLUMNS, "b.", 8)},
        0 as stored
    from batch_plays as b
    join batch_stored_keys as s
        on s.session_id = b.session_id
        and s.item_in_session = b.item_in_session
    union all
    select
        {_listed(_PLAY_COLUMNS, "p.", 8)},
        1 as stored
    from songplays as p
    join batch_stored_keys as s
        on s.session_id = p.session_id
        and s.item_in_session = p.item_in_session
),

ranked_candidates as (
    select
        {_listed(_PLAY_COLUMNS, "", 8)},
        stored,
        row_number() over (
            partition by session_id, item_in_session
            order by {order_by((*SONGPLAY_ORDER, Key("stored", "desc")))}
        ) as play_rank
    from candidates
)

select
    {_listed(_PLAY_COLUMNS, "c.")},
    {_listed(_OLD, "p.", suffix=" as old_{c}")}
from ranked_candidates as c
join songplays as p
    on p.session_id = c.session_id
    and p.item_in_session = c.item_in_session
where c.play_rank = 1
  and c.stored = 0
""", proves=When.PLAYS_CORRECTED, when=(*_LATER, When.PLAYS_SEEN_AGAIN))

songplay_conflict_update = Statement("songplay_conflict_update", f"""
update songplays
set {_listed([c for c in _PLAY_COLUMNS if c not in ("session_id", "item_in_session")], suffix=" = c.{c}")}
from batch_corrections as c
where songplays.session_id = c.session_id
  and songplays.item_in_session = c.item_in_session
""", writes=("songplays",), tally="songplays_changed", when=(*_LATER, When.PLAYS_CORRECTED))

# The run's plays whose natural key songplays did not have before it (batch_stored_keys): what the insert below
# adds, and what the report's tables add (sql_queries.report_tables.play_changes_added).
NEW_PLAYS = """from batch_plays as b
where not exists (
    select 1
    from batch_stored_keys as s
    where s.session_id = b.session_id
      and s.item_in_session = b.item_in_session
)"""

# New plays: those of the run whose natural key songplays does not have (each fact row written once).
songplay_table_insert = Statement("songplay_table_insert", f"""
insert into songplays (
    {", ".join(_PLAY_COLUMNS)}
)
select
    {_listed(_PLAY_COLUMNS, "b.")}
{NEW_PLAYS}
""", writes=("songplays",), tally="songplays_added", when=_LATER)

analyze_songplays = Analyze("analyze_songplays", "analyze songplays", table="songplays", when=_EVENTS)

# --------------------------------------------------------------------------- time
# date_part and extract take the same date parts on both engines (ISO week; dow 0 = Sunday); date_part returns
# a double precision, which PostgreSQL computes about twice as fast as extract's numeric.
_TIME_PARTS = """select
    start_time,
    date_part('hour', start_time),
    date_part('day', start_time),
    date_part('week', start_time),
    date_part('month', start_time),
    date_part('year', start_time),
    date_part('dow', start_time)
from new_start_times"""

# A first load: time holds the distinct start times of songplays, which holds only this run's plays.
# time.year is a SMALLINT (up to 32767): an event's ts in microseconds instead of milliseconds loads (a timestamp
# reaches the year 294276) and fails here.
_TIME_DATA_HINT = ("a play's start time does not fit time's columns (year is a SMALLINT, up to 32767): check the "
                   "events' ts, which must be epoch milliseconds (microseconds give years past 50000)")

time_first_insert = Statement("time_first_insert", f"""
insert into time (start_time, hour, day, week, month, year, weekday)
with new_start_times as (
    select start_time
    from songplays
    group by start_time
)

{_TIME_PARTS}
""", writes=("time",), tally="time_added", when=_FIRST, data_hint=_TIME_DATA_HINT)

# Later runs: the start times of the run's plays (those it inserted, and those it saw again, corrected or not)
# that time does not have yet.
time_table_insert = Statement("time_table_insert", f"""
insert into time (start_time, hour, day, week, month, year, weekday)
with run_start_times as (
    select b.start_time
    from batch_plays as b
    where not exists (
        select 1
        from batch_stored_keys as s
        where s.session_id = b.session_id
          and s.item_in_session = b.item_in_session
    )
    union
    select p.start_time
    from songplays as p
    join batch_stored_keys as s
        on s.session_id = p.session_id
        and s.item_in_session = p.item_in_session
),

new_start_times as (
    select r.start_time
    from run_start_times as r
    where not exists (select 1 from time as t where t.start_time = r.start_time)
)

{_TIME_PARTS}
""", writes=("time",), tally="time_added", when=_LATER, data_hint=_TIME_DATA_HINT)
analyze_time = Analyze("analyze_time", "analyze time", table="time", when=_EVENTS)

# Only after a correction moved plays to other times: time holds the distinct start times of songplays, so a
# time a corrected play left, that no play has any more, goes. The one deletion of a run that puts nothing back
# (`removes`): time may have fewer rows after the run than before it by those rows (checks.never_shrinks).
time_orphans_delete = Statement("time_orphans_delete", """
delete from time
using batch_corrections as c
where time.start_time = c.old_start_time
  and not exists (select 1 from songplays as p where p.start_time = time.start_time)
""", writes=("time",), removes=("time",), when=(*_LATER, When.PLAYS_CORRECTED))

event_merge_queries = (
    analyze_staging_events,
    batch_users_drop,
    batch_users_create,
    user_table_delete,
    user_table_insert,
    analyze_users,
    songplay_first_insert,
    batch_plays_drop,
    batch_plays_create,
    batch_stored_keys_drop,
    batch_stored_keys_create,
    batch_corrections_drop,
    batch_corrections_create,
    songplay_conflict_update,
    songplay_table_insert,
    analyze_songplays,
    time_first_insert,
    time_table_insert,
    analyze_time,
    time_orphans_delete,
)
