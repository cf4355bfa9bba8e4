"""The merge of staged song records: the catalog (song_records), then songs and artists re-derived from it
for the ids the run touched, then the plays loaded before that now match a song.

Every statement here runs when the run staged song records. songs and artists use Redshift's staging-table
upsert (delete the keys being replaced, insert), limited to rows that change, so re-runs never duplicate.

Fresh planner statistics after bulk changes, each right after the statement that changed the table, so
that the next statement reading it is planned right. COPY runs with STATUPDATE OFF, and PostgreSQL's
autovacuum cannot see inside our transaction: without statistics, both planners take the just-loaded
tables for tiny ones and pick nested-loop joins; at a million events the anti-joins of the merge and
the checks then take minutes instead of seconds. ANALYZE is allowed inside a transaction on both
engines. Staging is analyzed on the columns the merge's plans filter, join, group or rank on; the star
tables on every column.
"""

from __future__ import annotations

from sql_queries.rules import (
    ARTIST_COLUMNS,
    ARTIST_ORDER,
    MATCHABLE,
    SONG_COLUMNS,
    SONG_ORDER,
    catalog_match_columns,
    matches_play,
    order_by,
    same_text,
    same_values,
)
from sql_queries.statement import Analyze, Statement, When

_SONGS = (When.SONGS_STAGED,)

analyze_staging_songs = Analyze("analyze_staging_songs", "analyze staging_songs (song_id, title, artist_id, artist_name, "
                                "duration)", table="staging_songs", when=_SONGS,
                                note="song records were staged: catalog, songs, artists, plays that now match")

# New distinct records join the catalog. EXCEPT compares whole rows (NULLs equal) and de-duplicates; the
# lengths of the text columns go with them, so that two records that differ only in trailing spaces, which
# Redshift compares as equal, are both kept, as PostgreSQL keeps them.
_RECORD = ("num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title,\n"
           "        duration, year")
_LENGTHS = ("octet_length(artist_id), octet_length(artist_location), octet_length(artist_name),\n"
            "        octet_length(song_id), octet_length(title)")
song_records_insert = Statement("song_records_insert", f"""
insert into song_records (
    num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title,
    duration, year
)
select
    num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title,
    duration, year
from (
    select
        {_RECORD},
        {_LENGTHS}
    from staging_songs
    except
    select
        {_RECORD},
        {_LENGTHS}
    from song_records
) as new_records
""", writes=("song_records",), when=_SONGS)
analyze_song_records = Analyze("analyze_song_records", "analyze song_records", table="song_records", when=_SONGS)

# The songs row of every song_id the run staged, chosen among ALL its records loaded so far: the
# first by title, artist_id, year, duration. Re-derived from the catalog, so the choice does not depend
# on which run brought which record. (A temporary table: the delete and the insert both read it.)
batch_songs_drop = Statement("batch_songs_drop", "drop table if exists batch_songs", when=_SONGS)
batch_songs_create = Statement("batch_songs_create", f"""
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
            order by {order_by(SONG_ORDER, "r")}
        ) as song_rank
    from song_records as r
    join touched_songs as t on t.song_id = r.song_id
    where r.title is not null
      and r.artist_id is not null
)

select song_id, title, artist_id, year, duration
from ranked_records
where song_rank = 1
""", when=_SONGS)

# Redshift's staging-table upsert (delete the keys being replaced, insert), limited to rows that change.
song_table_delete = Statement("song_table_delete", f"""
delete from songs
using batch_songs as b
where songs.song_id = b.song_id
  and not (
      {same_values("b", "songs", SONG_COLUMNS)}
  )
""", writes=("songs",), when=_SONGS)

song_table_insert = Statement("song_table_insert", """
insert into songs (song_id, title, artist_id, year, duration)
select b.song_id, b.title, b.artist_id, b.year, b.duration
from batch_songs as b
where not exists (select 1 from songs as s where s.song_id = b.song_id)
""", writes=("songs",), tally="songs_merged", when=_SONGS)
analyze_songs = Analyze("analyze_songs", "analyze songs", table="songs", when=_SONGS)

# The artists row of every artist_id the run staged, chosen among all its records loaded so far.
batch_artists_drop = Statement("batch_artists_drop", "drop table if exists batch_artists", when=_SONGS)
batch_artists_create = Statement("batch_artists_create", f"""
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
            order by {order_by(ARTIST_ORDER, "r")}
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
""", when=_SONGS)

artist_table_delete = Statement("artist_table_delete", f"""
delete from artists
using batch_artists as b
where artists.artist_id = b.artist_id
  and not (
      {same_values("b", "artists", ARTIST_COLUMNS)}
  )
""", writes=("artists",), when=_SONGS)

artist_table_insert = Statement("artist_table_insert", """
insert into artists (artist_id, name, location, latitude, longitude)
select b.artist_id, b.name, b.location, b.latitude, b.longitude
from batch_artists as b
where not exists (select 1 from artists as a where a.artist_id = b.artist_id)
""", writes=("artists",), tally="artists_merged", when=_SONGS)
analyze_artists = Analyze("analyze_artists", "analyze artists", table="artists", when=_SONGS)

# Late-arriving songs: plays already loaded whose title, artist name and length are those of a record this run
# staged get the catalog's best match for them (only plays whose match changes), with the match they had, for
# the report's tables. Then songplays is updated from it (UPDATE ... FROM a table joined on the key).
_REMATCH = (When.SONGS_STAGED, When.SONGPLAYS_HAD_ROWS)
batch_rematches_drop = Statement("batch_rematches_drop", "drop table if exists batch_rematches", when=_REMATCH)
batch_rematches_create = Statement("batch_rematches_create", f"""
create temp table batch_rematches as
with new_song_keys as (
    select title, artist_name, duration
    from staging_songs
    group by title, octet_length(title), artist_name, octet_length(artist_name), duration
),

best_matches as (
    select{catalog_match_columns("r")}
    from song_records as r
    join new_song_keys as k
        on {same_text("k.title", "r.title")}
        and {same_text("k.artist_name", "r.artist_name")}
        and k.duration = r.duration
    where {MATCHABLE}
)

select
    p.session_id,
    p.item_in_session,
    p.start_time,
    p.user_id,
    p.level,
    m.song_id,
    m.artist_id,
    p.song_id as old_song_id,
    p.artist_id as old_artist_id
from songplays as p
join best_matches as m
    on {matches_play("m", "p")}
where m.match_rank = 1
  and (p.song_id is null or p.song_id <> m.song_id or p.artist_id <> m.artist_id)
""", when=_REMATCH)

songplay_rematch = Statement("songplay_rematch", """
update songplays
set song_id = m.song_id,
    artist_id = m.artist_id
from batch_rematches as m
where songplays.session_id = m.session_id
  and songplays.item_in_session = m.item_in_session
""", writes=("songplays",), tally="songplays_changed", when=_REMATCH)

song_merge_queries = (
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
    batch_rematches_drop,
    batch_rematches_create,
    songplay_rematch,
)
