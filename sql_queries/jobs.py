"""What each script sends, in order: the jobs sparkify walks and the dry run prints.

A statement whose conditions do not hold is skipped (sparkify evaluates them against the run's state); the
kinds of statement whose text is completed at run time (sql_queries.statement) send zero, one or several
statements. The statements sent only on failure paths are each statement's `on_failure`.
"""

from __future__ import annotations

from sql_queries.analytics import analytics_queries, latest_run_checks, report_row_counts
from sql_queries.checks import table_check_groups
from sql_queries.ddl import create_table_queries, drop_table_queries, postgres_index_queries, table_row_counts
from sql_queries.ledger import loaded_objects_delete, loaded_objects_insert, loaded_objects_select
from sql_queries.load import clear_staging_queries, copy_table_queries, noload_copies, server_version
from sql_queries.merge_events import event_merge_queries
from sql_queries.merge_songs import song_merge_queries
from sql_queries.record import etl_run_checks_insert, etl_run_insert
from sql_queries.report_tables import (
    batch_play_changes_create,
    batch_play_changes_drop,
    play_changes_added,
    play_changes_corrected,
    play_changes_rematched,
    report_rebuild_queries,
    report_upkeep_queries,
)
from sql_queries.run import (
    etl_lock,
    etl_start_queries,
    first_load_indexes_create,
    first_load_indexes_drop,
    first_load_truncate,
    postgres_settings,
    row_counts_before,
    run_row_counts,
)
from sql_queries.run_checks import run_check_groups
from sql_queries.statement import Job
from sql_queries.versions import (
    MIGRATIONS,
    schema_current,
    schema_upgradable,
    schema_version_queries,
    schema_versions_insert,
)

# create_tables.py: every table dropped and created again at the current schema version, which it records,
# then counted.
create_tables_job = Job(
    "create_tables_job",
    (*drop_table_queries, *create_table_queries, *postgres_index_queries, schema_versions_insert, table_row_counts),
    note="one transaction: every table is dropped and created again (all data is lost)",
)


def upgrade_job_of(migrations=MIGRATIONS) -> Job:
    """create_tables.py --upgrade with these migrations (sql_queries.versions.MIGRATIONS; tests add their own):
    under the ETL lock, the warehouse's version (recorded, or recognised by its tables), then each migration it
    has not reached and the rows that record them."""
    return Job(
        "upgrade_job",
        (etl_lock, *schema_version_queries, schema_upgradable, *migrations, schema_versions_insert),
        note="one transaction, under the ETL lock: the schema is brought to the current version in place, every "
             "row and the load ledger kept; any failure rolls back",
    )


# create_tables.py --upgrade
upgrade_job = upgrade_job_of()

# The merge of what was staged, the report's tables, the run's gate and its record: the end of etl.py's transaction
# (also run alone on hand-staged batches, after etl_start_queries, by the tests of the merge).
merge_queries = (
    postgres_settings,
    row_counts_before,
    first_load_truncate,
    first_load_indexes_drop,
    batch_play_changes_drop,
    batch_play_changes_create,
    *song_merge_queries,
    play_changes_rematched,
    *event_merge_queries,
    *first_load_indexes_create,
    play_changes_corrected,
    play_changes_added,
    *report_rebuild_queries,
    *report_upkeep_queries,
    run_row_counts,
    run_check_groups,
    etl_run_insert,
    etl_run_checks_insert,
)

# etl.py: the lock and the run's id; each COPY's ledger against the listing of its prefix; staging emptied and
# loaded with the new and changed objects, which the ledger records; then the merge.
etl_job = Job(
    "etl_job",
    (
        etl_lock,
        *schema_version_queries,
        schema_current,
        *etl_start_queries,
        loaded_objects_select,
        *clear_staging_queries,
        *copy_table_queries,
        loaded_objects_delete,
        loaded_objects_insert,
        *merge_queries,
    ),
    note="one transaction: it commits only if every statement below succeeds; any failure rolls back",
)

# analytics.py: read only, rolled back at the end.
analytics_job = Job(
    "analytics_job",
    (
        *schema_version_queries,
        schema_current,
        postgres_settings,
        report_row_counts,
        *analytics_queries.values(),
        table_check_groups,
        latest_run_checks,
    ),
    note="read only: the transaction is rolled back at the end",
    end="rollback",
)

# etl.py --preflight: each COPY with NOLOAD, each in its own transaction, rolled back.
noload_job = Job(
    "noload_job",
    (server_version, *noload_copies),
    note="each statement in a transaction of its own, rolled back",
    end="rollback",
)

JOBS = (create_tables_job, upgrade_job, etl_job, analytics_job, noload_job)
