"""Staging: emptied, then loaded by COPY from S3 (only the objects the ledger says are new or changed), with
the statements that follow a COPY; and the same COPYs with NOLOAD, for etl.py --preflight."""

from __future__ import annotations

from dataclasses import replace

from sql_queries.statement import Copy, Result, RowCounts, Statement, When
from sql_queries.tables import ROW_COUNT

# Staging is emptied inside the run's transaction (DELETE, not TRUNCATE: on Redshift TRUNCATE commits
# the open transaction, which would break atomicity).
staging_events_clear = Statement("staging_events_clear", "delete from staging_events", writes=("staging_events",),
                                 note="empty staging (DELETE, not TRUNCATE: TRUNCATE would commit the transaction)")
staging_songs_clear = Statement("staging_songs_clear", "delete from staging_songs", writes=("staging_songs",))
clear_staging_queries = (staging_events_clear, staging_songs_clear)

# Load errors are read from SYS_LOAD_ERROR_DETAIL, on a provisioned cluster as on Redshift Serverless: the
# STL/STV/SVL/SVCS views are "System monitoring (provisioned only)" and STL_LOAD_ERRORS "doesn't contain queries
# run on ... serverless namespaces", while the SYS monitoring views serve both deployments
# (https://docs.aws.amazon.com/redshift/latest/dg/cm_chap_system-tables.html). A row's query_id is the COPY's
# pg_last_copy_id(), as AWS's SYS_LOAD_DETAIL example joins them
# (https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_DETAIL.html); pg_last_copy_id() is updated when the
# COPY starts loading, also when it then fails on invalid data
# (https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html).

LOAD_ERRORS_VIEW = "sys_load_error_detail"

# Redshift only, right after a successful COPY: how many records MAXERROR let it skip.
copy_rejected_count = Statement("copy_rejected_count",
                                f"select count(*) from {LOAD_ERRORS_VIEW} where query_id = pg_last_copy_id()",
                                result=Result.REJECTED)
# Then how many rows it loaded.
staged_row_count = RowCounts("staged_row_count", ROW_COUNT)

# Redshift only, when a COPY failed (after the rollback of its transaction, in the same session: the view keeps
# the rows across it): the rejected records of that COPY. pg_last_copy_id() is -1 when the session ran no COPY
# that reached its load; the fallback takes the session's latest COPY with errors (session_id is the process id
# of the session that ran the COPY, pg_backend_pid() that of this one). The view has no raw_line or
# raw_field_value: the message names the file, line and column, and error_message quotes the value.
load_errors = Statement("load_errors", f"""
select le.query_id,
       trim(le.file_name) as file_name,
       le.line_number,
       trim(le.column_name) as column_name,
       trim(le.column_type) as column_type,
       trim(le.column_length) as column_length,
       le.position,
       le.error_code,
       trim(le.error_message) as error_message
from {LOAD_ERRORS_VIEW} le
where le.query_id = coalesce(
    nullif(pg_last_copy_id(), -1),
    (select max(query_id) from {LOAD_ERRORS_VIEW} where session_id = pg_backend_pid())
)
order by le.start_time, le.file_name, le.line_number
limit 100
""".strip(), result=Result.LOAD_ERRORS)

# The COPYs: bound to [S3] LOG_DATA / LOG_JSONPATH / SONG_DATA, REGION and [IAM_ROLE] ARN at run time; a run
# loads the new and changed objects only, through a manifest ([S3] MANIFEST_PREFIX) or, on the local engines,
# their list. The fixed options every COPY gets (TRUNCATECOLUMNS BLANKSASNULL EMPTYASNULL COMPUPDATE OFF
# STATUPDATE OFF, MAXERROR from [ETL]) are sparkify.copy.spec.CopySpec's defaults.
_COPY_NOTE = ("COPY into {table} from {source}; if it fails, the transaction is rolled back and "
              f"{LOAD_ERRORS_VIEW} is read (sql_queries.load_errors) to name the first rejected record")
staging_events_copy = Copy(
    "staging_events_copy", "", table="staging_events", source_key="log_data", json_key="log_jsonpath",
    timeformat="epochmillisecs", writes=("staging_events",), when=(When.OBJECTS_TO_LOAD,),
    then=(copy_rejected_count, staged_row_count), on_failure=(load_errors,), note=_COPY_NOTE,
)
staging_songs_copy = Copy(
    "staging_songs_copy", "", table="staging_songs", source_key="song_data", writes=("staging_songs",),
    when=(When.OBJECTS_TO_LOAD,), then=(copy_rejected_count, staged_row_count), on_failure=(load_errors,),
    note=_COPY_NOTE,
)
copy_table_queries = (staging_events_copy, staging_songs_copy)

# --------------------------------------------------------------------------- etl.py --preflight
# Each COPY with NOLOAD, in a transaction that is rolled back: the warehouse itself proves that the loads can
# read their sources (on Redshift: the role's attachment, bucket policies, KMS keys, the region). A server that
# answers ENGINE = redshift but is not Redshift (a PostgreSQL standing in) is told by its version.
server_version = Statement("server_version", "select version()", result=Result.SERVER_VERSION,
                           when=(When.REDSHIFT,))
staging_events_noload = replace(staging_events_copy, name="staging_events_noload", noload=True, writes=(), when=(),
                                then=(copy_rejected_count,), note="")
staging_songs_noload = replace(staging_songs_copy, name="staging_songs_noload", noload=True, writes=(), when=(),
                               then=(copy_rejected_count,), note="")
noload_copies = (staging_events_noload, staging_songs_noload)
