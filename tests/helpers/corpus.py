"""The COPY tests' inputs: the bad-input corpus (tests/copy/bad_inputs/, one file or folder per scenario), the
small table `t` most scenarios load into, and the log files' members in staging_events' column order."""

from __future__ import annotations

from tests.helpers import PROJECT

BAD = PROJECT / "tests" / "copy" / "bad_inputs"

# The members of an event in the app's log files, in the order log_json_path.json maps them to staging_events.
LOG_KEYS = ("artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level", "location",
            "method", "page", "registration", "sessionId", "song", "status", "ts", "userAgent", "userId")


def jsonpaths(style: str = "$.{}") -> dict:
    """A JSONPaths document for the log files (LOG_KEYS), each path written in `style`."""
    return {"jsonpaths": [style.format(k) for k in LOG_KEYS]}

# JSON 'auto' maps member names to these columns. COPY skips identity columns (they take their defaults), so
# `seq` numbers the rows in load order: ctid order is not load order (PostgreSQL 16+ extends tables by several
# pages at once during bulk loads).
T_DDL = """
create table t (
    id integer, name varchar(8), score double precision, ts timestamp, flag boolean, small smallint,
    big bigint, tags varchar(32), seq bigint generated always as identity)
"""
