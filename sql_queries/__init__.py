"""Every statement of the Sparkify warehouse, in Redshift's dialect, and the jobs that send them in order.

Each statement is a named object (sql_queries.statement) defined beside its SQL, with what it writes and
when it runs; `sql_queries.<name>` is the statement called <name>. The jobs (sql_queries.jobs) are the
ordered tuples each script walks and its --dry-run prints. Nothing here reads the configuration or
imports sparkify: the COPY statements are templates that sparkify binds to the [S3] settings, the
conditions are data that sparkify evaluates, and the few statements built by pure functions at import
(the checks, the "ranks before" comparisons) can be read as text by the tests.

The modules, in the order a warehouse meets them:
  statement     what a statement is: kinds, conditions (When), what is bound to it and kept of it
  tables        the tables by role, and one table's row count
  ddl           create_tables.py: drop, create
  run           etl.py's lock, the run's id, the PostgreSQL session settings, the row counts around the merge
  ledger        the load ledger (loaded_objects): read before the COPYs, written after them
  load          staging emptied and COPYed from S3; the NOLOAD COPYs of etl.py --preflight
  rules         the total orders, the catalog match and the natural key the merge and the checks share
  merge_songs   the catalog, songs, artists, and the plays that now match a song
  merge_events  users, plays, their start times
  checks        the data-quality checks and their counting statements; those of whole tables
  run_checks    the checks that gate every run, on the keys it touched
  record        the run's etl_runs and etl_run_checks rows
  analytics     analytics.py: row counts, temporary tables, the analysts' queries
  versions      the schema versions: each release's tables, the migrations between them, reading a version
  jobs          what each script sends, in order

How daily runs stay cheap and exact:
- loaded_objects, the load ledger, records every source object a run loaded (its size and ETag,
  or size and modification time for local files). Each run lists the source prefixes and COPYs
  only objects that are new or changed (sparkify.ledger); staging then holds just those.
- The star schema is a function of the files loaded, not of the order or batches they came in:
  * song_records keeps every distinct song record ever loaded; songs and artists are re-derived
    from it for the ids a run touched, and plays are matched against it (the whole catalog);
  * songplays keeps the event's own title, artist name and length (song_title, artist_name,
    song_length: the song's natural key, as Kimball keeps it for late-arriving dimensions), so a
    song that arrives after its plays re-matches them (songplay_rematch);
  * where two records compete for one key, the winner is the first in a total order over the stored
    columns (sql_queries.rules).
"""

from sql_queries.analytics import (
    analytics_queries,
    analytics_setup_queries,
    catalog_match,
    latest_run_checks,
    level_changes_by_day,
    level_summary,
    listeners_by_browser,
    listeners_by_os,
    most_active_users,
    most_played_artists,
    most_played_songs,
    plays_by_day,
    plays_by_hour,
    plays_by_level,
    report_listeners_create,
    report_plays_create,
    report_row_counts,
    report_sessions_create,
    report_song_plays_create,
    session_summary,
    sessions_by_length,
    sessions_by_plays,
    top_locations,
    user_agent_browser,
    user_agent_os,
)
from sql_queries.checks import (
    CHECKS,
    Check,
    CheckGroup,
    check_examples,
    group_counter,
    table_check_groups,
    unique_check,
)
from sql_queries.ddl import (
    artist_table_create,
    artist_table_drop,
    create_table_queries,
    drop_table_queries,
    etl_run_checks_table_create,
    etl_run_checks_table_drop,
    etl_runs_table_create,
    etl_runs_table_drop,
    loaded_objects_table_create,
    loaded_objects_table_drop,
    schema_versions_table_create,
    schema_versions_table_drop,
    song_records_table_create,
    song_records_table_drop,
    song_table_create,
    song_table_drop,
    songplay_table_create,
    songplay_table_drop,
    staging_events_table_create,
    staging_events_table_drop,
    staging_songs_table_create,
    staging_songs_table_drop,
    table_columns_select,
    table_row_counts,
    time_table_create,
    time_table_drop,
    user_table_create,
    user_table_drop,
)
from sql_queries.jobs import (
    JOBS,
    analytics_job,
    create_tables_job,
    etl_job,
    merge_queries,
    noload_job,
    upgrade_job,
    upgrade_job_of,
)
from sql_queries.ledger import (
    LEDGER_ROWS_PER_INSERT,
    loaded_objects_copy,
    loaded_objects_delete,
    loaded_objects_insert,
    loaded_objects_select,
)
from sql_queries.load import (
    LOAD_ERRORS_VIEW,
    clear_staging_queries,
    copy_rejected_count,
    copy_table_queries,
    load_errors,
    noload_copies,
    server_version,
    staged_row_count,
    staging_events_clear,
    staging_events_copy,
    staging_events_noload,
    staging_songs_clear,
    staging_songs_copy,
    staging_songs_noload,
)
from sql_queries.merge_events import (
    analyze_songplays,
    analyze_staging_events,
    analyze_time,
    analyze_users,
    batch_stored_keys_create,
    batch_stored_keys_drop,
    batch_users_create,
    batch_users_drop,
    event_merge_queries,
    songplay_conflict_update,
    songplay_table_insert,
    time_orphans_delete,
    time_table_insert,
    user_table_delete,
    user_table_insert,
)
from sql_queries.merge_songs import (
    analyze_artists,
    analyze_song_records,
    analyze_songs,
    analyze_staging_songs,
    artist_table_delete,
    artist_table_insert,
    batch_artists_create,
    batch_artists_drop,
    batch_songs_create,
    batch_songs_drop,
    song_merge_queries,
    song_records_insert,
    song_table_delete,
    song_table_insert,
    songplay_rematch,
)
from sql_queries.record import ETL_RUN_COLUMNS, etl_run_checks_insert, etl_run_insert
from sql_queries.rules import ARTIST_ORDER_SQL, SONG_ORDER, SONGPLAY_NATURAL_KEY, SONGPLAY_ORDER, USER_ORDER
from sql_queries.run import (
    etl_lock,
    etl_lock_queries,
    etl_lock_timeout_reset,
    etl_lock_timeout_set,
    etl_run_next_id,
    etl_start_queries,
    latest_etl_totals,
    lock_etl_runs,
    postgres_settings,
    row_counts_before,
    run_row_counts,
)
from sql_queries.run_checks import RUN_CHECKS, RUN_PLAYS_FIRST_LOAD, run_check_groups
from sql_queries.statement import (
    Analyze,
    CheckRun,
    Copy,
    Job,
    Lock,
    Migration,
    Params,
    Result,
    RowCounts,
    SchemaGate,
    Scope,
    Settings,
    Statement,
    Values,
    When,
)
from sql_queries.tables import (
    ALL_TABLES,
    BOOKKEEPING_TABLES,
    ROW_COUNT,
    SCHEMA_TABLES,
    STAGING_TABLES,
    STAR_TABLES,
    VERSION_TABLE,
    quote_ident,
    row_count_query,
)
from sql_queries.versions import (
    BASELINE,
    DESCRIPTIONS,
    KNOWN_TABLES,
    MIGRATIONS,
    RELEASE_TABLES,
    SCHEMA_VERSION,
    schema_current,
    schema_tables_select,
    schema_upgradable,
    schema_v2,
    schema_version_queries,
    schema_version_select,
    schema_versions_insert,
)

# The public names: every statement under its own name, the jobs and lists, the kinds and their conditions.
__all__ = (
    "ALL_TABLES", "ARTIST_ORDER_SQL", "BASELINE", "BOOKKEEPING_TABLES", "CHECKS", "DESCRIPTIONS", "ETL_RUN_COLUMNS",
    "JOBS", "KNOWN_TABLES", "LEDGER_ROWS_PER_INSERT", "LOAD_ERRORS_VIEW", "MIGRATIONS", "RELEASE_TABLES", "ROW_COUNT", "RUN_CHECKS",
    "RUN_PLAYS_FIRST_LOAD", "SCHEMA_TABLES", "SCHEMA_VERSION", "SONGPLAY_NATURAL_KEY", "SONGPLAY_ORDER", "SONG_ORDER",
    "STAGING_TABLES", "STAR_TABLES", "USER_ORDER", "VERSION_TABLE", "Analyze", "Check", "CheckGroup", "CheckRun",
    "Copy", "Job", "Lock", "Migration", "Params", "Result", "RowCounts", "SchemaGate", "Scope", "Settings", "Statement",
    "Values", "When", "analytics_job", "analytics_queries", "analytics_setup_queries", "analyze_artists",
    "analyze_song_records", "analyze_songplays", "analyze_songs", "analyze_staging_events", "analyze_staging_songs",
    "analyze_time", "analyze_users", "artist_table_create", "artist_table_delete", "artist_table_drop",
    "artist_table_insert", "batch_artists_create", "batch_artists_drop", "batch_songs_create", "batch_songs_drop",
    "batch_stored_keys_create", "batch_stored_keys_drop", "batch_users_create", "batch_users_drop", "catalog_match",
    "check_examples", "clear_staging_queries", "copy_rejected_count", "copy_table_queries", "create_table_queries",
    "create_tables_job", "drop_table_queries", "etl_job", "etl_lock", "etl_lock_queries", "etl_lock_timeout_reset",
    "etl_lock_timeout_set", "etl_run_checks_insert", "etl_run_checks_table_create", "etl_run_checks_table_drop",
    "etl_run_insert", "etl_run_next_id", "etl_runs_table_create", "etl_runs_table_drop", "etl_start_queries",
    "event_merge_queries", "group_counter", "latest_etl_totals", "latest_run_checks", "level_changes_by_day",
    "level_summary", "listeners_by_browser", "listeners_by_os", "load_errors", "loaded_objects_copy",
    "loaded_objects_delete", "loaded_objects_insert", "loaded_objects_select", "loaded_objects_table_create",
    "loaded_objects_table_drop", "lock_etl_runs", "merge_queries", "most_active_users", "most_played_artists",
    "most_played_songs", "noload_copies", "noload_job", "plays_by_day", "plays_by_hour", "plays_by_level",
    "postgres_settings", "quote_ident", "report_listeners_create", "report_plays_create", "report_row_counts",
    "report_sessions_create", "report_song_plays_create", "row_count_query", "row_counts_before", "run_check_groups",
    "run_row_counts", "schema_current", "schema_tables_select", "schema_upgradable", "schema_v2",
    "schema_version_queries", "schema_version_select", "schema_versions_insert", "schema_versions_table_create",
    "schema_versions_table_drop", "server_version", "session_summary", "sessions_by_length", "sessions_by_plays",
    "song_merge_queries", "song_records_insert", "song_records_table_create", "song_records_table_drop",
    "song_table_create", "song_table_delete", "song_table_drop", "song_table_insert", "songplay_conflict_update",
    "songplay_rematch", "songplay_table_create", "songplay_table_drop", "songplay_table_insert", "staged_row_count",
    "staging_events_clear", "staging_events_copy", "staging_events_noload", "staging_events_table_create",
    "staging_events_table_drop", "staging_songs_clear", "staging_songs_copy", "staging_songs_noload",
    "staging_songs_table_create", "staging_songs_table_drop", "table_check_groups", "table_columns_select",
    "table_row_counts", "time_orphans_delete", "time_table_create", "time_table_drop", "time_table_insert",
    "top_locations", "unique_check", "upgrade_job", "upgrade_job_of", "user_agent_browser", "user_agent_os",
    "user_table_create", "user_table_delete", "user_table_drop", "user_table_insert",
)
