"""Sparkify warehouse toolkit: load the Sparkify JSON logs and song catalog into a star schema.

The top-level scripts (create_cluster.py, create_tables.py, etl.py, analytics.py, delete_cluster.py,
generate_data.py, stop_local.py) are thin wrappers around this package, which sends the statements of
sql_queries.
"""

__version__ = "0.1.0"
