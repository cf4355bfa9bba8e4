"""The analysts' queries of analytics.py: every number of its text tables, --json and --html report is an
aggregate computed here; only small results are fetched, never a table's rows. Days and hours are UTC, like
start_time.

The queries read the report's tables, which etl.py keeps up to date from songplays in its own transaction
(sql_queries.report_tables): a few thousand rows per table (per day and user, per listener, per catalog song,
per user; the sessions' one grows with the sessions), never every play, so the report's cost does not follow the
size of the warehouse. analytics.py --check compares each of those tables with songplays.
"""

from __future__ import annotations

from sql_queries.statement import Result, RowCounts, Statement, When
from sql_queries.tables import ALL_TABLES, ROW_COUNT

# The seven tables' row counts first.
report_row_counts = RowCounts("report_row_counts", ROW_COUNT, tables=ALL_TABLES)

# The most played catalog songs (plays that matched no song are not counted).
most_played_songs = Statement("most_played_songs", """
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
""", result=Result.REPORT_TABLE)

most_played_artists = Statement("most_played_artists", """
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
""", result=Result.REPORT_TABLE)

# The hour of start_time (UTC), as time.hour holds it.
plays_by_hour = Statement("plays_by_hour", """
select cast(hour as integer) as hour, cast(sum(plays) as bigint) as plays
from report_hours
group by cast(hour as integer)
order by hour
""", result=Result.REPORT_TABLE)

plays_by_level = Statement("plays_by_level", """
select level, cast(sum(plays) as bigint) as plays
from report_user_days
group by level
order by plays desc, level
""", result=Result.REPORT_TABLE)

most_active_users = Statement("most_active_users", """
select p.user_id, u.first_name, u.last_name, u.level, p.plays
from report_users as p
left join users as u on u.user_id = p.user_id
order by p.plays desc, p.user_id
limit 10
""", result=Result.REPORT_TABLE)

# Plays and listeners (distinct users) per day and subscription level (the level at the time of the play).
# Users are counted from one row per (day, level, user) rather than with count(distinct), which sorts.
plays_by_day = Statement("plays_by_day", """
with user_days as (
    select day, level, user_id, sum(plays) as plays
    from report_user_days
    group by day, level, user_id
)

select day, level, cast(sum(plays) as bigint) as plays, count(*) as listeners
from user_days
group by day, level
order by day, level
""", result=Result.REPORT_TABLE)

# Free vs paid: plays and listeners at each level, and users by their current level (users.level,
# from each user's latest event). A user who upgraded counts as a listener at both levels.
level_summary = Statement("level_summary", """
with play_levels as (
    select level, user_id, sum(plays) as plays
    from report_user_days
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
""", result=Result.REPORT_TABLE)

# Upgrades and downgrades: a play whose level differs from the same user's previous play (report_level_changes
# holds exactly those). songplays holds every play ever loaded (staging only the latest batch), so this sees every
# change between plays; a change and its reversal between two plays are invisible.
level_changes_by_day = Statement("level_changes_by_day", """
select
    cast(start_time as date) as day,
    count(case when previous_level = 'free' and level = 'paid' then 1 end) as upgrades,
    count(case when previous_level = 'paid' and level = 'free' then 1 end) as downgrades
from report_level_changes
group by cast(start_time as date)
order by day
""", result=Result.REPORT_TABLE)

# A session is one user's session_id (the app numbers sessions; a session belongs to one user). Its
# length runs from its first play to the start of its last one, in whole seconds (report_sessions.seconds):
# plays carry no duration (most match no catalog song), so a one-play session lasts 0 seconds. The listeners are
# the users with plays (report_users), so the sessions need no count(distinct), which sorts.
session_summary = Statement("session_summary", """
select
    count(*) as sessions,
    (select count(*) from report_users) as listeners,
    avg(cast(plays as double precision)) as plays_per_session,
    cast(max(plays) as bigint) as most_plays,
    avg(cast(seconds as double precision)) / 60 as average_minutes,
    cast(max(seconds) as double precision) / 60 as longest_minutes
from report_sessions
""", result=Result.REPORT_TABLE)

# The distribution of plays per session, in fixed buckets (plays_from..plays_to; plays_to is NULL for
# the open last bucket). Only buckets with sessions are returned.
sessions_by_plays = Statement("sessions_by_plays", """
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
""", result=Result.REPORT_TABLE)

# The distribution of session lengths, in fixed buckets of minutes (minutes_to NULL: open bucket).
sessions_by_length = Statement("sessions_by_length", """
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
""", result=Result.REPORT_TABLE)

# Where listeners are: the locations with most listeners (distinct users), then most plays.
top_locations = Statement("top_locations", """
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
""", result=Result.REPORT_TABLE)

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


listeners_by_browser = Statement("listeners_by_browser", _listeners_by(user_agent_browser, "browser"),
                                 result=Result.REPORT_TABLE)
listeners_by_os = Statement("listeners_by_os", _listeners_by(user_agent_os, "os"), result=Result.REPORT_TABLE)

# The share of plays matched to a catalog song (same title, artist name and duration; see the merge).
catalog_match = Statement("catalog_match", """
select
    cast(sum(plays) as bigint) as plays,
    cast(sum(matched_plays) as bigint) as matched_plays,
    cast(sum(plays) - sum(matched_plays) as bigint) as unmatched_plays
from report_user_days
""", result=Result.REPORT_TABLE)

# The report's tables, by name, in the order of the text report (the first five, then the analysts' report).
analytics_queries = {q.name: q for q in (
    most_played_songs,
    most_played_artists,
    plays_by_hour,
    plays_by_level,
    most_active_users,
    plays_by_day,
    level_summary,
    level_changes_by_day,
    session_summary,
    sessions_by_plays,
    sessions_by_length,
    top_locations,
    listeners_by_browser,
    listeners_by_os,
    catalog_match,
)}

# The checks the latest load passed, for the analysts' report (analytics.py without --check). A run with
# nothing new checks nothing and records no row, so this is the latest run that loaded something.
latest_run_checks = Statement("latest_run_checks", """
select r.run_id, r.finished_at, c.check_name, c.description, c.offenders
from etl_run_checks as c
join etl_runs as r on r.run_id = c.run_id
where c.run_id = (select max(run_id) from etl_run_checks)
order by c.check_name
""", result=Result.LATEST_RUN_CHECKS, when=(When.CHECKS_NOT_ASKED,),
    note="the checks the latest etl.py run passed (--check runs those of whole tables)")
