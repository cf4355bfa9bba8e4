"""Sparkify warehouse toolkit: load the Sparkify JSON logs and song catalog into a star schema.

The top-level scripts (create_tables.py, etl.py, analytics.py, create_cluster.py,
delete_cluster.py) are thin wrappers around this package.
"""

__version__ = "0.1.0"
