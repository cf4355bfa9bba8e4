"""The data-quality gate of every etl.py run, on the keys the run touched (staging holds exactly the run's new
objects), before it commits: a failing check rolls the run back. What passed is recorded in etl_run_checks.

The plays of the run: every staged NextSong event's natural key must be in songplays exactly once,
and those plays must find their user, song and artist; their start times must be in time exactly once,
with the right parts. run_plays joins songplays with the staged keys as they are (a key staged s times
gives s rows per play): if every key is in songplays, the rows equal the staged keys only when each key
has exactly one play, so the counts prove "exactly once" without de-duplicating the staged keys first. The
run's users, songs and artists must be in their tables exactly once.
A play of the run has its event's time, so it lies in the run's time range (run_range), unless it was
loaded before (batch_stored_keys, see batch_corrections_create) and kept its own: run_plays reads those
two slices of songplays, and matches neither against all of it.
"Exactly once" is first proved by counting (the keys' rows, distinct keys, and the run's distinct keys all
equal), which costs a sort of the keys; only when that fails is the exact number of offending keys
counted. At a first load the run touches every key, so these are whole-table checks at that moment, and
their first-load form reads each table once.

Each count is a SELECT whose FROM clause names the one-row tables of the group's WITH clause it compares
(sql_queries.checks.group_counter).
"""

from __future__ import annotations

from sql_queries.checks import Check, CheckGroup, count_unless
from sql_queries.rules import SONGPLAY_NATURAL_KEY, time_columns_differ
from sql_queries.statement import CheckRun, When


def _exactly_once(stats: str, offenders: str) -> str:
    """The count of a "run keys in the table exactly once" check: 0 when the CTE `stats` (rows, keys: the
    table's rows and distinct keys among the run's) and `wanted` (the run's distinct keys) agree, else the
    exact count of `offenders`."""
    return count_unless("s.rows = s.wanted and s.keys = s.wanted", offenders, f"{stats} as s")


def _key_rows(name: str, table: str, key: str, run: str) -> str:
    """Two CTEs of a "run keys in the table exactly once" check: `<name>_rows`, the rows of `table` whose `key`
    is one of the run's (the CTE `run`), and `<name>_stats`, the counts _exactly_once compares."""
    alias = table[0]
    return f"""{name}_rows as (
    select {alias}.{key}
    from {table} as {alias}
    where {alias}.{key} in (select {key} from {run})
),

{name}_stats as (
    select (select count(*) from {run}) as wanted, count(*) as rows, count(distinct {key}) as keys
    from {name}_rows
)"""


def _copies(run: str, rows: str, key: str) -> str:
    """The run's keys (`run`) that `rows` does not hold exactly once."""
    return (f"select r.{key} from {run} as r "
            f"left join (select {key}, count(*) as copies from {rows} group by {key}) as c "
            f"on c.{key} = r.{key} where c.copies is null or c.copies <> 1")


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
    select start_time, count(*) as copies, max(case when {time_columns_differ()} then 1 else 0 end) as wrong
    from run_time_rows
    group by start_time
) as c on c.start_time = r.start_time
where c.copies is null or c.copies <> 1 or c.wrong = 1"""

_RUN_KEYS = """run_keys as (
    select session_id, item_in_session, ts
    from staging_events
    where page = 'NextSong'
      and user_id is not null
      and session_id is not null
      and item_in_session is not null
      and ts is not null
)"""

RUN_CHECKS: tuple[CheckGroup, ...] = (
    CheckGroup(
        "run plays",
        when=(When.EVENTS_STAGED, When.SONGPLAYS_HAD_ROWS),
        with_clause=f"""
with {_RUN_KEYS},

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

run_play_stats as (
    select
        (select count(*) from run_keys) as keys,
        (select count(distinct {SONGPLAY_NATURAL_KEY}) from run_keys) as distinct_keys,
        count(*) as plays,
        count(distinct {SONGPLAY_NATURAL_KEY}) as distinct_plays
    from run_plays
),

run_times as (
    select distinct start_time
    from run_plays
),

run_time_rows as (
    select t.start_time, t.hour, t.day, t.week, t.month, t.year, t.weekday
    from time as t
    join run_times as r on r.start_time = t.start_time
),

run_time_stats as (
    select
        (select count(*) from run_times) as times,
        count(*) as rows,
        count(distinct start_time) as distinct_times,
        count(case when {time_columns_differ()} then 1 end) as wrong
    from run_time_rows
)
""",
        checks=(
            Check("songplays.run_plays_once",
                  "NextSong events of this run not in songplays exactly once (missing or duplicated)",
                  _RUN_PLAYS_ONCE,
                  count_unless("s.plays = s.keys and s.distinct_plays = s.distinct_keys", _RUN_PLAYS_ONCE,
                               "run_play_stats as s")),
            Check("songplays.run_user_id_in_users", "songplays.user_id of this run's plays not found in users; a "
                  "user's row comes from their events with a level, so a user none of whose events loaded so far "
                  "has a level has none (fix the events' level, or load the user's other events with this run)",
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
                  count_unless("s.rows = s.times and s.distinct_times = s.times and s.wrong = 0", _RUN_TIMES_ONCE,
                               "run_time_stats as s")),
        ),
    ),
    CheckGroup(
        "run users",
        when=(When.EVENTS_STAGED,),
        with_clause=f"""
with run_users as (
    select distinct user_id
    from staging_events
    where user_id is not null
      and level is not null
      and ts is not null
),

{_key_rows("user", "users", "user_id", "run_users")}
""",
        checks=(
            Check("users.run_user_id_once", "users of this run not in users exactly once",
                  _copies("run_users", "user_rows", "user_id"),
                  _exactly_once("user_stats", _copies("run_users", "user_rows", "user_id"))),
        ),
    ),
    CheckGroup(
        "run songs",
        when=(When.SONGS_STAGED,),
        with_clause=f"""
with run_songs as (
    select distinct r.song_id
    from song_records as r
    where r.song_id in (select song_id from staging_songs)
      and r.title is not null
      and r.artist_id is not null
),

{_key_rows("song", "songs", "song_id", "run_songs")},

run_artists as (
    select distinct artist_id
    from staging_songs
    where artist_id is not null
),

{_key_rows("artist", "artists", "artist_id", "run_artists")}
""",
        checks=(
            Check("songs.run_song_id_once", "songs of this run not in songs exactly once",
                  _copies("run_songs", "song_rows", "song_id"),
                  _exactly_once("song_stats", _copies("run_songs", "song_rows", "song_id"))),
            Check("artists.run_artist_id_once", "artists of this run not in artists exactly once",
                  _copies("run_artists", "artist_rows", "artist_id"),
                  _exactly_once("artist_stats", _copies("run_artists", "artist_rows", "artist_id"))),
        ),
    ),
)

# The same checks of the run's plays when songplays was empty before the run (a first load, or the first
# after create_tables.py): every play is then one of the run's, so nothing needs matching with the staged
# keys, and one pass over each of staging, songplays and time gives what proves the checks: as many plays as
# staged keys (when those are distinct; else the exact count runs), all distinct, with the same sum of natural
# keys (a play with a key that is not the run's would have to be offset exactly by another); every play's user,
# song and artist found; as many time rows as distinct play start times, no play start time missing, and their
# parts right. Those two counts prove time's rows distinct without counting them: the plays' distinct start times
# are all among time's (none missing; time.start_time is not null, so `not in` is exact), so time has at least as
# many distinct start times as it has rows, hence exactly one row each. (Counting them distinct read time through
# its just-built index, row by row: 0.5 s of a first load of 1,000,000 events.) A play whose user, song or artist
# is missing is counted as a play, which needs no sort; only when there is one are the distinct ones counted.
_KEY_SUM = f"sum(cast({SONGPLAY_NATURAL_KEY} as numeric(38, 0)))"
_FIRST_LOAD_PLAYS_ONCE = count_unless(
    "s.keys = s.distinct_keys and p.plays = s.keys and p.distinct_keys = p.plays and p.key_sum = s.key_sum",
    _RUN_PLAYS_ONCE, "play_stats as p, staged_stats as s")
_FIRST_LOAD_TIMES_ONCE = count_unless("t.time_rows = p.start_times and p.missing_times = 0 and t.wrong = 0",
                                      _RUN_TIMES_ONCE, "time_stats as t, play_stats as p")


def _first_load_found(check: Check, plays_without: str) -> Check:
    """`check` (a play's user, song or artist found) in its first-load form: every play is the run's, so its
    offenders are read from songplays; counted exactly only when play_stats' `plays_without` is not 0."""
    offenders = check.offenders.replace("from run_plays", "from songplays")
    return check._replace(offenders=offenders, count=count_unless(f"p.{plays_without} = 0", offenders, "play_stats as p"))


RUN_PLAYS_FIRST_LOAD = CheckGroup(
    "run plays (first load)",
    when=(When.EVENTS_STAGED, When.SONGPLAYS_WAS_EMPTY),
    with_clause=f"""
with {_RUN_KEYS},

run_times as (
    select distinct start_time
    from songplays
),

run_time_rows as (
    select t.start_time, t.hour, t.day, t.week, t.month, t.year, t.weekday
    from time as t
    join run_times as r on r.start_time = t.start_time
),

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
    select
        count(*) as plays,
        count(distinct {SONGPLAY_NATURAL_KEY}) as distinct_keys,
        {_KEY_SUM} as key_sum,
        count(case when user_id not in (select user_id from users) then 1 end) as plays_without_user,
        count(case when song_id not in (select song_id from songs) then 1 end) as plays_without_song,
        count(case when artist_id not in (select artist_id from artists) then 1 end) as plays_without_artist,
        count(distinct start_time) as start_times,
        count(case when start_time not in (select start_time from time) then 1 end) as missing_times
    from songplays
),

time_stats as (
    select
        count(*) as time_rows,
        count(case when {time_columns_differ()} then 1 end) as wrong
    from time
)
""",
    checks=(
        RUN_CHECKS[0].checks[0]._replace(count=_FIRST_LOAD_PLAYS_ONCE),
        *(_first_load_found(check, plays_without)
          for check, plays_without in zip(RUN_CHECKS[0].checks[1:4],
                                          ("plays_without_user", "plays_without_song", "plays_without_artist"))),
        RUN_CHECKS[0].checks[4]._replace(count=_FIRST_LOAD_TIMES_ONCE),
    ),
)

# The run's gate, in this order: the plays (in their first-load form when songplays was empty before the run),
# the users, the songs; then the never-shrinks comparison of the row counts before and after the merge.
run_check_groups = CheckRun(
    "run_check_groups", "", groups=(RUN_CHECKS[0], RUN_PLAYS_FIRST_LOAD, *RUN_CHECKS[1:]), never_shrinks=True,
    raises=True,
    note="data-quality checks on the keys this run touched (sql_queries.RUN_CHECKS); a failing check also lists up to "
         "{examples} offenders, then the run rolls back",
)
