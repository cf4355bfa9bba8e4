"""The COPY tests' inputs: the bad-input corpus (tests/copy/bad_inputs/, one file or folder per scenario) and
the small table `t` most scenarios load into."""

from __future__ import annotations

from tests.helpers import PROJECT

BAD = PROJECT / "tests" / "copy" / "bad_inputs"

# JSON 'auto' maps member names to these columns. COPY skips identity columns (they take their defaults), so
# `seq` numbers the rows in load order: ctid order is not load order (PostgreSQL 16+ extends tables by several
# pages at once during bulk loads).
T_DDL = """
create table t (
    id integer, name varchar(8), score double precision, ts timestamp, flag boolean, small smallint,
    big bigint, tags varchar(32), seq bigint generated always as identity)
"""
