"""The run's record, written last in its transaction: its etl_runs row (what it loaded and merged, the star
tables' row counts after it) and the checks it passed (etl_run_checks), which the analysts' report shows."""

from __future__ import annotations

from sql_queries.statement import Params, Statement, Values

# Records the run. The counts come from the run itself (sparkify passes them as parameters):
# objects loaded (new or changed), skipped (unchanged) and missing (loaded before, gone now); rows
# staged; rows the merge wrote (songplays_added: new plays; songplays_changed: plays re-matched or
# corrected; users/songs/artists_merged: rows inserted or replaced; time_added); and the star tables'
# row counts after the run.
ETL_RUN_COLUMNS = (
    "run_id", "finished_at", "objects_loaded", "objects_skipped", "objects_missing", "staged_events",
    "staged_songs", "songplays_added", "songplays_changed", "users_merged", "songs_merged", "artists_merged",
    "time_added", "songplays_rows", "users_rows", "songs_rows", "artists_rows", "time_rows",
)
etl_run_insert = Statement("etl_run_insert", f"""
insert into etl_runs (
    {", ".join(ETL_RUN_COLUMNS)}
)
values (
    {", ".join(f"%({c})s" for c in ETL_RUN_COLUMNS)}
)
""", params=Params.RUN_ROW, writes=("etl_runs",),
    note="record the run (finished_at: the client's UTC clock when it runs)")

# The checks the run passed ({rows}: one `(%s, %s, %s, %s)` group per check), after its etl_runs row.
etl_run_checks_insert = Values("etl_run_checks_insert", """
insert into etl_run_checks (run_id, check_name, description, offenders)
values {rows}
""", params=Params.PASSED_CHECKS, writes=("etl_run_checks",))
