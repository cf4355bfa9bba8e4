"""The load ledger's statements: what a run loaded before (read before its COPYs), and the objects it loads
(written after them, in its transaction). sparkify.ledger compares the ledger with the listing."""

from __future__ import annotations

from sql_queries.statement import Params, Result, Statement, Values

# What a run loaded before, for each staging table a COPY of the run loads.
loaded_objects_select = Statement("loaded_objects_select", """
select object_url, size, version
from loaded_objects
where table_name = %(table_name)s
""", params=Params.COPY_TABLE, result=Result.LEDGER, note="{table}: {objects} under {prefix}{gone}")

# A changed object (or, with etl.py --reload, any object loaded again) replaces its row.
loaded_objects_delete = Statement("loaded_objects_delete", """
delete from loaded_objects
where table_name = %(table_name)s
  and object_url in %(object_urls)s
""", params=Params.RELOADED_OBJECTS, writes=("loaded_objects",),
    note="the load ledger: rows of the objects loaded again are replaced")

# The PostgreSQL engines send the ledger's rows with COPY FROM STDIN (100,000 rows take seconds as literals).
loaded_objects_copy = Statement(
    "loaded_objects_copy",
    "copy loaded_objects (table_name, object_url, size, version, last_modified, run_id, loaded_at) from stdin",
    writes=("loaded_objects",))

# The rows of the objects this run loaded: multi-row INSERTs of up to LEDGER_ROWS_PER_INSERT rows ({rows}
# becomes one `(%s, ...)` group of parameters per row); loaded_objects_copy instead on PostgreSQL.
LEDGER_ROWS_PER_INSERT = 1000
loaded_objects_insert = Values("loaded_objects_insert", """
insert into loaded_objects (table_name, object_url, size, version, last_modified, run_id, loaded_at)
values {rows}
""", params=Params.LOADED_OBJECTS, writes=("loaded_objects",), rows_per_statement=LEDGER_ROWS_PER_INSERT,
    postgres=loaded_objects_copy, note="the load ledger: the objects this run loads")
