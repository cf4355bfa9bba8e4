"""The report's tables (sql_queries.ddl: report_user_days, report_hours, report_listeners, report_song_plays,
report_sessions, report_users, report_level_changes), kept up to date from songplays in etl.py's transaction.

Each is a function of songplays alone, so it is the same whatever the order or the batches the files came in:
- when songplays had no rows before the run (a first load), they are computed from it once the run's plays are
  in (`report_rebuild_queries`, also the upgrade's way to fill them: sql_queries.versions);
- otherwise the run records what it changed in songplays in batch_play_changes, one row per play it added
  (+1), and for a play it corrected or re-matched one row for its old values (-1) and one for its new (+1), and
  the tables take those changes (`report_upkeep_queries`): the counted ones (plays per day, hour, listener,
  song, session, user) add them to the rows of the keys they touch; a session or user a correction took a play
  from is counted again from songplays. Level changes follow from each user's latest play (report_users): the
  plays a run appends after it are compared with it and each other; a user whose new plays come before it, or
  whose plays a correction changed, has theirs worked out again from all their plays.
A run that changed no play (nothing staged, or songs no play matches) sends none of it.

Keys are compared exactly (sql_queries.rules.same_values: NULL equals NULL, text with its length) and grouped
with the lengths of their text, so that values Redshift compares as equal but which differ in trailing spaces
stay apart, as PostgreSQL keeps them. `analytics.py --check` computes every table again from songplays and
compares (sql_queries.checks.REPORT_CHECKS).
"""

from __future__ import annotations

from sql_queries.merge_events import NEW_PLAYS
from sql_queries.rules import Column, same_values
from sql_queries.statement import Analyze, Statement, When

_FIRST = (When.ANY_STAGED, When.SONGPLAYS_WAS_EMPTY)
_LATER = (When.ANY_STAGED, When.SONGPLAYS_HAD_ROWS)
_UPKEEP = (When.ANY_STAGED, When.SONGPLAYS_HAD_ROWS, When.PLAYS_CHANGED)

# A session's length in whole seconds, from its first play to the start of its last: Redshift's extract(epoch from a
# timestamp) is an integer, PostgreSQL's keeps the milliseconds, so both are floored to agree.
def session_seconds(first: str, last: str) -> str:
    return f"cast(floor(extract(epoch from {last})) - floor(extract(epoch from {first})) as bigint)"


# The order of a user's plays that level changes follow (as analytics' level_changes_by_day reads them).
PLAY_SEQUENCE = "partition by user_id order by start_time, session_id nulls first, item_in_session nulls first"

# --------------------------------------------------------------------------- what a run changed
batch_play_changes_drop = Statement("batch_play_changes_drop", "drop table if exists batch_play_changes", when=_LATER)
batch_play_changes_create = Statement("batch_play_changes_create", """
create temp table batch_play_changes (
    change          integer not null,
    kind            varchar(8) not null,
    start_time      timestamp not null,
    user_id         integer not null,
    level           varchar(16),
    song_id         varchar(32),
    artist_id       varchar(32),
    session_id      integer not null,
    item_in_session integer not null,
    location        varchar(512),
    user_agent      varchar(512)
)
""", when=_LATER, note="the plays this run changes, for the report's tables")

_CHANGE_COLUMNS = ("change, kind, start_time, user_id, level, song_id, artist_id, session_id, item_in_session, "
                   "location, user_agent")

# Plays a late song re-matched ('match': only their song changes): their old match out, the new one in.
play_changes_rematched = Statement("play_changes_rematched", f"""
insert into batch_play_changes ({_CHANGE_COLUMNS})
select -1, 'match', start_time, user_id, level, old_song_id, old_artist_id, session_id, item_in_session, null, null
from batch_rematches
union all
select 1, 'match', start_time, user_id, level, song_id, artist_id, session_id, item_in_session, null, null
from batch_rematches
""", when=(When.SONGS_STAGED, When.SONGPLAYS_HAD_ROWS), proves=When.PLAYS_CHANGED)

# Plays corrected in place: their stored values out, the new ones in.
play_changes_corrected = Statement("play_changes_corrected", f"""
insert into batch_play_changes ({_CHANGE_COLUMNS})
select -1, 'play', old_start_time, old_user_id, old_level, old_song_id, old_artist_id, session_id, item_in_session,
       old_location, old_user_agent
from batch_corrections
union all
select 1, 'play', start_time, user_id, level, song_id, artist_id, session_id, item_in_session, location, user_agent
from batch_corrections
""", when=(When.EVENTS_STAGED, When.SONGPLAYS_HAD_ROWS, When.PLAYS_CORRECTED), proves=When.PLAYS_CHANGED)

# The plays the run added.
play_changes_added = Statement("play_changes_added", f"""
insert into batch_play_changes ({_CHANGE_COLUMNS})
select 1, 'play', b.start_time, b.user_id, b.level, b.song_id, b.artist_id, b.session_id, b.item_in_session,
       b.location, b.user_agent
{NEW_PLAYS}
""", when=(When.EVENTS_STAGED, When.SONGPLAYS_HAD_ROWS), proves=When.PLAYS_CHANGED)


# The planners need its size and its values' spread (a temporary table has no statistics until analyzed: both take
# it for a few rows and join it with nested loops; at a day's 40,000 changes that is minutes).
analyze_batch_play_changes = Analyze("analyze_batch_play_changes",
                                     "analyze batch_play_changes (change, kind, user_id, session_id, start_time)",
                                     table="batch_play_changes", when=_UPKEEP)

# --------------------------------------------------------------------------- counted tables
def _grouped(columns: tuple[Column, ...]) -> str:
    """A GROUP BY list of `columns`, each text column followed by its length (see the module docstring)."""
    return ", ".join(f"{c.name}, octet_length({c.name})" if c.text else c.name for c in columns)


def _counted(table: str, keys: tuple[Column, ...], key_sources: dict[str, str], measures: dict[str, str],
             where: str) -> tuple[Statement, Statement, Statement, Statement]:
    """The four statements that add a run's changes to a counted table: the new totals of the keys the changes
    touch (`key_sources`: each key from batch_play_changes; `measures`: each count's change), then the upsert
    (delete those keys, insert the totals that are not zero)."""
    batch = f"batch_{table}"
    names = [k.name for k in keys]
    key_list = ", ".join(names)
    measure_list = ", ".join(measures)
    sources = ",\n        ".join(f"{key_sources.get(k, k)} as {k}" for k in names)
    sums = ",\n        ".join(f"sum({expression}) as {name}" for name, expression in measures.items())
    totals = ",\n    ".join(f"c.{m} + coalesce(r.{m}, 0) as {m}" for m in measures)
    create = Statement(f"{batch}_create", f"""
create temp table {batch} as
with changes as (
    select
        {sources},
        {sums}
    from batch_play_changes
    where {where}
    group by {_grouped(tuple(k._replace(name=key_sources.get(k.name, k.name)) for k in keys))}
)

select
    {", ".join(f"c.{k}" for k in names)},
    {totals}
from changes as c
left join {table} as r
    on {same_values("r", "c", keys, joiner=chr(10) + "    and ")}
""", when=_UPKEEP)
    drop = Statement(f"{batch}_drop", f"drop table if exists {batch}", when=_UPKEEP)
    delete = Statement(f"{table}_delete", f"""
delete from {table}
using {batch} as b
where {same_values(table, "b", keys, joiner=chr(10) + "  and ")}
""", writes=(table,), when=_UPKEEP)
    insert = Statement(f"{table}_insert", f"""
insert into {table} ({key_list}, {measure_list})
select {key_list}, {measure_list}
from {batch}
where plays <> 0
""", writes=(table,), when=_UPKEEP)
    return drop, create, delete, insert


_PLAYS = {"plays": "change"}
_DAY = Column("day")
_LEVEL = Column("level", nullable=True, text=True)
(batch_report_user_days_drop, batch_report_user_days_create, report_user_days_delete,
 report_user_days_insert) = _counted(
    "report_user_days", (_DAY, _LEVEL, Column("user_id")), {"day": "cast(start_time as date)"},
    {**_PLAYS, "matched_plays": "case when song_id is not null then change else 0 end"}, "true")
batch_report_hours_drop, batch_report_hours_create, report_hours_delete, report_hours_insert = _counted(
    "report_hours", (Column("hour"),), {"hour": "cast(date_part('hour', start_time) as smallint)"}, _PLAYS,
    "kind = 'play'")
(batch_report_listeners_drop, batch_report_listeners_create, report_listeners_delete,
 report_listeners_insert) = _counted(
    "report_listeners",
    (Column("user_id"), Column("location", nullable=True, text=True), Column("user_agent", nullable=True, text=True)),
    {}, _PLAYS, "kind = 'play'")
# (song_id and artist_id come from one catalog match: both NULL, or neither.)
(batch_report_song_plays_drop, batch_report_song_plays_create, report_song_plays_delete,
 report_song_plays_insert) = _counted(
    "report_song_plays", (Column("song_id", text=True), Column("artist_id", text=True)),
    {}, _PLAYS, "song_id is not null and artist_id is not null")

# --------------------------------------------------------------------------- sessions
# A session that only gained plays takes them (its first and last play move out if they must); one a correction
# took a play from is counted again from songplays (it may have lost its last play, or all of them).
batch_report_sessions_drop = Statement("batch_report_sessions_drop", "drop table if exists batch_report_sessions",
                                       when=_UPKEEP)
batch_report_sessions_create = Statement("batch_report_sessions_create", f"""
create temp table batch_report_sessions as
with touched_sessions as (
    select user_id, session_id, min(change) as least_change
    from batch_play_changes
    where kind = 'play'
    group by user_id, session_id
),

recounted as (
    select p.user_id, p.session_id, count(*) as plays, min(p.start_time) as first_play, max(p.start_time) as last_play
    from songplays as p
    join touched_sessions as t
        on t.user_id = p.user_id
        and t.session_id = p.session_id
    where t.least_change < 0
    group by p.user_id, p.session_id
),

added as (
    select c.user_id, c.session_id, sum(c.change) as plays, min(c.start_time) as first_play,
           max(c.start_time) as last_play
    from batch_play_changes as c
    join touched_sessions as t
        on t.user_id = c.user_id
        and t.session_id = c.session_id
    where c.kind = 'play'
      and t.least_change > 0
    group by c.user_id, c.session_id
),

sessions as (
    select t.user_id, t.session_id, coalesce(r.plays, 0) as plays, r.first_play, r.last_play
    from touched_sessions as t
    left join recounted as r
        on r.user_id = t.user_id
        and r.session_id = t.session_id
    where t.least_change < 0
    union all
    select
        a.user_id,
        a.session_id,
        a.plays + coalesce(s.plays, 0) as plays,
        case when s.first_play < a.first_play then s.first_play else a.first_play end as first_play,
        case when s.last_play > a.last_play then s.last_play else a.last_play end as last_play
    from added as a
    left join report_sessions as s
        on s.user_id = a.user_id
        and s.session_id = a.session_id
)

select user_id, session_id, plays, first_play, last_play, {session_seconds("first_play", "last_play")} as seconds
from sessions
""", when=_UPKEEP)
report_sessions_delete = Statement("report_sessions_delete", """
delete from report_sessions
using batch_report_sessions as b
where report_sessions.user_id = b.user_id
  and report_sessions.session_id = b.session_id
""", writes=("report_sessions",), when=_UPKEEP)
report_sessions_insert = Statement("report_sessions_insert", """
insert into report_sessions (user_id, session_id, plays, first_play, last_play, seconds)
select user_id, session_id, plays, first_play, last_play, seconds
from batch_report_sessions
where plays <> 0
""", writes=("report_sessions",), when=_UPKEEP)

# --------------------------------------------------------------------------- users and level changes
# Each user the run's plays touch: their change in plays, and whether their level changes must be worked out again
# from all their plays (recount: a correction took a play from them, or a new play comes at or before their
# latest one); otherwise the new plays follow their latest play (last_play, last_level).
batch_level_users_drop = Statement("batch_level_users_drop", "drop table if exists batch_level_users", when=_UPKEEP)
batch_level_users_create = Statement("batch_level_users_create", """
create temp table batch_level_users as
with touched_users as (
    select
        user_id,
        sum(change) as plays,
        min(change) as least_change,
        min(case when change > 0 then start_time end) as first_new_play
    from batch_play_changes
    where kind = 'play'
    group by user_id
)

select
    t.user_id,
    t.plays,
    u.plays as stored_plays,
    u.last_play,
    u.last_level,
    case when t.least_change < 0 or t.first_new_play <= u.last_play then 1 else 0 end as recount
from touched_users as t
left join report_users as u on u.user_id = t.user_id
""", when=_UPKEEP)

analyze_batch_level_users = Analyze("analyze_batch_level_users", "analyze batch_level_users", table="batch_level_users",
                                    when=_UPKEEP)

# Their plays in order, with each play's previous level and whether a play follows: for a user whose new plays
# follow their latest play, that play (previous_play = 1, its level only) then the new ones; for a recounted user,
# all their plays.
batch_level_sequence_drop = Statement("batch_level_sequence_drop", "drop table if exists batch_level_sequence",
                                      when=_UPKEEP)
batch_level_sequence_create = Statement("batch_level_sequence_create", f"""
create temp table batch_level_sequence as
with user_plays as (
    select
        u.user_id,
        u.last_play as start_time,
        cast(null as integer) as session_id,
        cast(null as integer) as item_in_session,
        u.last_level as level,
        1 as previous_play
    from batch_level_users as u
    where u.recount = 0
      and u.last_play is not null
    union all
    select c.user_id, c.start_time, c.session_id, c.item_in_session, c.level, 0 as previous_play
    from batch_play_changes as c
    join batch_level_users as u on u.user_id = c.user_id
    where c.kind = 'play'
      and c.change > 0
      and u.recount = 0
    union all
    select p.user_id, p.start_time, p.session_id, p.item_in_session, p.level, 0 as previous_play
    from songplays as p
    join batch_level_users as u on u.user_id = p.user_id
    where u.recount = 1
)

select
    user_id,
    start_time,
    session_id,
    item_in_session,
    level,
    previous_play,
    lag(level) over ({PLAY_SEQUENCE}) as previous_level,
    lead(start_time) over ({PLAY_SEQUENCE}) as next_play
from user_plays
""", when=_UPKEEP)

report_level_changes_delete = Statement("report_level_changes_delete", """
delete from report_level_changes
using batch_level_users as u
where report_level_changes.user_id = u.user_id
  and u.recount = 1
""", writes=("report_level_changes",), when=_UPKEEP)
report_level_changes_insert = Statement("report_level_changes_insert", """
insert into report_level_changes (user_id, start_time, session_id, item_in_session, level, previous_level)
select user_id, start_time, session_id, item_in_session, level, previous_level
from batch_level_sequence
where previous_play = 0
  and previous_level <> level
""", writes=("report_level_changes",), when=_UPKEEP)
report_users_delete = Statement("report_users_delete", """
delete from report_users
using batch_level_users as u
where report_users.user_id = u.user_id
""", writes=("report_users",), when=_UPKEEP)
report_users_insert = Statement("report_users_insert", """
insert into report_users (user_id, plays, last_play, last_level)
select u.user_id, coalesce(u.stored_plays, 0) + u.plays, s.start_time, s.level
from batch_level_users as u
join batch_level_sequence as s
    on s.user_id = u.user_id
    and s.next_play is null
where coalesce(u.stored_plays, 0) + u.plays <> 0
""", writes=("report_users",), when=_UPKEEP)

report_upkeep_queries = (
    analyze_batch_play_changes,
    batch_report_user_days_drop, batch_report_user_days_create, report_user_days_delete, report_user_days_insert,
    batch_report_hours_drop, batch_report_hours_create, report_hours_delete, report_hours_insert,
    batch_report_listeners_drop, batch_report_listeners_create, report_listeners_delete, report_listeners_insert,
    batch_report_song_plays_drop, batch_report_song_plays_create, report_song_plays_delete, report_song_plays_insert,
    batch_report_sessions_drop, batch_report_sessions_create, report_sessions_delete, report_sessions_insert,
    batch_level_users_drop, batch_level_users_create, analyze_batch_level_users, batch_level_sequence_drop,
    batch_level_sequence_create,
    report_level_changes_delete, report_level_changes_insert, report_users_delete, report_users_insert,
)

# --------------------------------------------------------------------------- from songplays, whole
# Each table as a function of songplays, one SELECT each: what the upgrade fills them with (sql_queries.versions)
# and what analytics.py --check compares them with (sql_queries.checks.REPORT_CHECKS).
REPORT_TABLE_COLUMNS = {
    "report_user_days": ("day", "level", "user_id", "plays", "matched_plays"),
    "report_hours": ("hour", "plays"),
    "report_listeners": ("user_id", "location", "user_agent", "plays"),
    "report_song_plays": ("song_id", "artist_id", "plays"),
    "report_sessions": ("user_id", "session_id", "plays", "first_play", "last_play", "seconds"),
    "report_users": ("user_id", "plays", "last_play", "last_level"),
    "report_level_changes": ("user_id", "start_time", "session_id", "item_in_session", "level", "previous_level"),
}
# Their text columns (compared with their lengths where rows are compared whole).
REPORT_TEXT_COLUMNS = frozenset({"level", "location", "user_agent", "song_id", "artist_id", "last_level",
                                 "previous_level"})
_SONGPLAYS_ORDER = "partition by user_id order by start_time, session_id, item_in_session"
REPORT_FROM_SONGPLAYS = {
    "report_user_days": f"""
select cast(start_time as date) as day, level, user_id, count(*) as plays, count(song_id) as matched_plays
from songplays
group by cast(start_time as date), {_grouped((_LEVEL,))}, user_id""",
    "report_hours": """
select cast(date_part('hour', start_time) as smallint) as hour, count(*) as plays
from songplays
group by cast(date_part('hour', start_time) as smallint)""",
    "report_listeners": f"""
select user_id, location, user_agent, count(*) as plays
from songplays
group by user_id, {_grouped((Column("location", text=True), Column("user_agent", text=True)))}""",
    "report_song_plays": f"""
select song_id, artist_id, count(*) as plays
from songplays
where song_id is not null
  and artist_id is not null
group by {_grouped((Column("song_id", text=True), Column("artist_id", text=True)))}""",
    "report_sessions": f"""
select
    user_id,
    session_id,
    count(*) as plays,
    min(start_time) as first_play,
    max(start_time) as last_play,
    {session_seconds("min(start_time)", "max(start_time)")} as seconds
from songplays
group by user_id, session_id""",
    "report_users": """
select user_id, plays, start_time as last_play, level as last_level
from (
    select
        user_id,
        start_time,
        level,
        count(*) over (partition by user_id) as plays,
        row_number() over (partition by user_id order by start_time desc, session_id desc, item_in_session desc)
            as latest
    from songplays
) as user_plays
where latest = 1""",
    "report_level_changes": f"""
select user_id, start_time, session_id, item_in_session, level, previous_level
from (
    select user_id, start_time, session_id, item_in_session, level, lag(level) over ({_SONGPLAYS_ORDER}) as previous_level
    from songplays
) as user_plays
where previous_level <> level""",
}


def fill_from_songplays(table: str, name: str, when: tuple[When, ...] = ()) -> Statement:
    """INSERT of `table`'s rows computed from songplays (REPORT_FROM_SONGPLAYS)."""
    columns = ", ".join(REPORT_TABLE_COLUMNS[table])
    return Statement(name, f"insert into {table} ({columns}){REPORT_FROM_SONGPLAYS[table]}", writes=(table,), when=when)


# A first load: one pass over songplays groups its plays by user, session, level, UTC day and hour, location and
# user agent (a few rows per session: at a million plays, 170,000), and the day, hour, listener and session tables
# are sums of it; the catalog songs' plays take a second pass over the matched plays, and the level changes a third
# over the plays of the users with more than one level (or an unknown one), in order. Every other user's latest
# play has their one level.
batch_report_plays_drop = Statement("batch_report_plays_drop", "drop table if exists batch_report_plays", when=_FIRST)
batch_report_plays_create = Statement("batch_report_plays_create", f"""
create temp table batch_report_plays as
select
    user_id,
    session_id,
    level,
    cast(start_time as date) as day,
    cast(date_part('hour', start_time) as smallint) as hour,
    location,
    user_agent,
    count(*) as plays,
    count(song_id) as matched_plays,
    min(start_time) as first_play,
    max(start_time) as last_play
from songplays
group by user_id, session_id, {_grouped((_LEVEL,))}, cast(start_time as date),
         cast(date_part('hour', start_time) as smallint),
         {_grouped((Column("location", text=True), Column("user_agent", text=True)))}
""", when=_FIRST, note="songplays had no rows before this run: the report's tables are computed from it")
report_user_days_fill = Statement("report_user_days_fill", f"""
insert into report_user_days (day, level, user_id, plays, matched_plays)
select day, level, user_id, sum(plays), sum(matched_plays)
from batch_report_plays
group by day, {_grouped((_LEVEL,))}, user_id
""", writes=("report_user_days",), when=_FIRST)
report_hours_fill = Statement("report_hours_fill", """
insert into report_hours (hour, plays)
select hour, sum(plays)
from batch_report_plays
group by hour
""", writes=("report_hours",), when=_FIRST)
report_listeners_fill = Statement("report_listeners_fill", f"""
insert into report_listeners (user_id, location, user_agent, plays)
select user_id, location, user_agent, sum(plays)
from batch_report_plays
group by user_id, {_grouped((Column("location", text=True), Column("user_agent", text=True)))}
""", writes=("report_listeners",), when=_FIRST)
report_sessions_fill = Statement("report_sessions_fill", f"""
insert into report_sessions (user_id, session_id, plays, first_play, last_play, seconds)
select
    user_id,
    session_id,
    sum(plays),
    min(first_play),
    max(last_play),
    {session_seconds("min(first_play)", "max(last_play)")}
from batch_report_plays
group by user_id, session_id
""", writes=("report_sessions",), when=_FIRST)
report_song_plays_fill = fill_from_songplays("report_song_plays", "report_song_plays_fill", _FIRST)
batch_level_history_drop = Statement("batch_level_history_drop", "drop table if exists batch_level_history",
                                     when=_FIRST)
batch_level_history_create = Statement("batch_level_history_create", """
create temp table batch_level_history as
with several_levels as (
    select user_id
    from batch_report_plays
    group by user_id
    having count(distinct level) > 1
        or count(level) < count(*)
)

select
    p.user_id,
    p.start_time,
    p.session_id,
    p.item_in_session,
    p.level,
    lag(p.level) over (partition by p.user_id order by p.start_time, p.session_id, p.item_in_session)
        as previous_level,
    lead(p.start_time) over (partition by p.user_id order by p.start_time, p.session_id, p.item_in_session)
        as next_play
from songplays as p
join several_levels as u on u.user_id = p.user_id
""", when=_FIRST)
report_level_changes_fill = Statement("report_level_changes_fill", """
insert into report_level_changes (user_id, start_time, session_id, item_in_session, level, previous_level)
select user_id, start_time, session_id, item_in_session, level, previous_level
from batch_level_history
where previous_level <> level
""", writes=("report_level_changes",), when=_FIRST)
report_users_fill = Statement("report_users_fill", """
insert into report_users (user_id, plays, last_play, last_level)
select
    u.user_id,
    u.plays,
    u.last_play,
    case when h.user_id is not null then h.level else u.level end
from (
    select user_id, sum(plays) as plays, max(last_play) as last_play, min(level) as level
    from batch_report_plays
    group by user_id
) as u
left join batch_level_history as h
    on h.user_id = u.user_id
    and h.next_play is null
""", writes=("report_users",), when=_FIRST)

report_tables_clear = tuple(Statement(f"{t}_clear", f"delete from {t}", writes=(t,), when=_FIRST)
                            for t in REPORT_TABLE_COLUMNS)
(report_user_days_clear, report_hours_clear, report_listeners_clear, report_song_plays_clear, report_sessions_clear,
 report_users_clear, report_level_changes_clear) = report_tables_clear
report_rebuild_queries = (
    *report_tables_clear,
    batch_report_plays_drop, batch_report_plays_create, report_user_days_fill, report_hours_fill,
    report_listeners_fill, report_sessions_fill, report_song_plays_fill, batch_level_history_drop,
    batch_level_history_create, report_level_changes_fill, report_users_fill,
)

# The upgrade to the schema version that added these tables fills them from songplays, one statement each.
report_migration_fills = tuple(fill_from_songplays(t, f"{t}_migration_fill") for t in REPORT_TABLE_COLUMNS)
(report_user_days_migration_fill, report_hours_migration_fill, report_listeners_migration_fill,
 report_song_plays_migration_fill, report_sessions_migration_fill, report_users_migration_fill,
 report_level_changes_migration_fill) = report_migration_fills

# Every statement of this module, for whoever times them apart (sparkify.pipeline.plans: etl.py's "report" timing).
report_statements = (batch_play_changes_drop, batch_play_changes_create, play_changes_rematched, play_changes_corrected,
                     play_changes_added, *report_rebuild_queries, *report_upkeep_queries)
