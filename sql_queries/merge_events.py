"""The merge of staged events: users, then plays (those seen again corrected in place, the new ones inserted),
then the start times of the plays.

Every statement here runs when the run staged events. A stored user or play is replaced only by a row that
comes before it in a total order over the stored columns (sql_queries.rules), so loading older days after
newer ones never brings back an old level; songplays only gains new natural keys (session_id,
item_in_session) or corrects one in place, so songplay_ids are stable and re-runs never duplicate.
"""

from __future__ import annotations

from sql_queries.rules import CATALOG_MATCH_COLUMNS, MATCHABLE, SONGPLAY_ORDER, USER_ORDER, order_by, ranks_before
from sql_queries.statement import Analyze, Statement, When

_EVENTS = (When.EVENTS_STAGED,)

analyze_staging_events = Analyze(
    "analyze_staging_events",
    "analyze staging_events (page, user_id, session_id, item_in_session, ts, level, song, artist, length, location, "
    "user_agent)",
    table="staging_events", when=_EVENTS, note="events were staged: users, plays, their times")

# One row per user of the batch (events of any page): the user's most recent event, ties broken by
# USER_ORDER. max(ts) per user first (a hash aggregate), then only the events at that time are ranked:
# sorting every event of a large batch would cost more than the rest of the users merge.
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
        row_number() over (partition by user_id order by {order_by(USER_ORDER)}) as recency_rank
    from latest_events
)

select user_id, first_name, last_name, gender, level, last_event_at
from ranked_events
where recency_rank = 1
""", when=_EVENTS)

# A stored user is replaced only by a batch row that comes before it in USER_ORDER (a more recent
# event), so loading older days after newer ones never brings back an old level.
user_table_delete = Statement("user_table_delete", f"""
delete from users
using batch_users as b
where users.user_id = b.user_id
  and {ranks_before("b", "users", USER_ORDER)}
""", writes=("users",), when=_EVENTS)

user_table_insert = Statement("user_table_insert", """
insert into users (user_id, first_name, last_name, gender, level, last_event_at)
select b.user_id, b.first_name, b.last_name, b.gender, b.level, b.last_event_at
from batch_users as b
where not exists (select 1 from users as u where u.user_id = b.user_id)
""", writes=("users",), tally="users_merged", when=_EVENTS)
analyze_users = Analyze("analyze_users", "analyze users", table="users", when=_EVENTS)

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
            order by {order_by(SONGPLAY_ORDER)}
        ) as duplicate_rank
    from {events}
),

catalog_matches as (
    select{CATALOG_MATCH_COLUMNS}
    from song_records as r
    where {MATCHABLE}
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
# correction runs at all: it proves When.PLAYS_SEEN_AGAIN.)
batch_stored_keys_drop = Statement("batch_stored_keys_drop", "drop table if exists batch_stored_keys", when=_EVENTS)
batch_stored_keys_create = Statement("batch_stored_keys_create", """
create temp table batch_stored_keys as
select distinct p.session_id, p.item_in_session
from songplays as p
join staging_events as e
    on e.session_id = p.session_id
    and e.item_in_session = p.item_in_session
where e.page = 'NextSong'
  and e.user_id is not null
  and e.ts is not null
""", proves=When.PLAYS_SEEN_AGAIN, when=_EVENTS)

# A play loaded before and seen again (the same natural key): it is corrected in place, keeping its
# songplay_id, only if the new event comes before the stored one in SONGPLAY_ORDER. Identical
# re-deliveries (a log file loaded again after an event was appended to it) change nothing. Only the
# events whose key is already stored are ranked, so a first load pays nothing here.
songplay_conflict_update = Statement("songplay_conflict_update", f"""
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
  and {ranks_before("c", "songplays", SONGPLAY_ORDER)}
""", writes=("songplays",), tally="songplays_changed",
    when=(When.EVENTS_STAGED, When.PLAYS_SEEN_AGAIN), proves=When.PLAYS_CORRECTED)

# New plays, straight from staging (each fact row written once): the anti-join comes first, so only
# events with a new natural key are ranked and matched.
songplay_table_insert = Statement("songplay_table_insert", f"""
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
""", writes=("songplays",), tally="songplays_added", when=_EVENTS)

analyze_songplays = Analyze("analyze_songplays", "analyze songplays", table="songplays", when=_EVENTS)

# The start times of plays that time does not have yet, among the plays between the run's first and last
# event (the run's plays are all there: a play's start_time is its event's ts; plays loaded by earlier runs
# in that range have their time rows already). A scan of songplays' time range and a small anti-join,
# instead of matching the run's events with songplays. date_part and extract take the same date parts on
# both engines (ISO week; dow 0 = Sunday); date_part returns a double precision, which PostgreSQL
# computes about twice as fast as extract's numeric.
time_table_insert = Statement("time_table_insert", """
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
""", writes=("time",), tally="time_added", when=_EVENTS)
analyze_time = Analyze("analyze_time", "analyze time", table="time", when=_EVENTS)

# Only after songplay_conflict_update changed a play (it may have moved it to another time):
# time holds the distinct start times of songplays, so a time no play has any more goes.
time_orphans_delete = Statement("time_orphans_delete", """
delete from time
where not exists (select 1 from songplays as p where p.start_time = time.start_time)
""", writes=("time",), when=(When.EVENTS_STAGED, When.PLAYS_CORRECTED))

# In this order; time_orphans_delete, which only runs after songplay_conflict_update changed a play, comes last
# (sql_queries.jobs).
event_merge_queries = (
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
)
