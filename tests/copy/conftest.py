"""Fixtures for the COPY tests: a helper that runs emulated COPYs on the embedded PostgreSQL and reads
back the table and sys_load_error_detail; the bad-input corpus lives in bad_inputs/ (files named by scenario)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from sparkify import localdb
from sparkify.copy.emulator import CopyResult, emulate_copy
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError

BAD = Path(__file__).resolve().parent / "bad_inputs"

# staging_events in PostgreSQL DDL (the column order of log_json_path.json), as the warehouse creates it.
EVENTS_DDL = """
create table staging_events (
    artist varchar(512), auth varchar(32), first_name varchar(256), gender varchar(16), item_in_session integer,
    last_name varchar(256), length double precision, level varchar(16), location varchar(512), method varchar(16),
    page varchar(64), registration double precision, session_id integer, song varchar(512), status smallint,
    ts timestamp, user_agent varchar(512), user_id integer)
"""
SONGS_DDL = """
create table staging_songs (
    num_songs integer, artist_id varchar(32), artist_latitude double precision, artist_longitude double precision,
    artist_location varchar(512), artist_name varchar(512), song_id varchar(32), title varchar(512),
    duration double precision, year smallint)
"""
# The small table most corpus scenarios load into ('auto': JSON member name = column name). COPY skips
# identity columns (they take their defaults), so `seq` numbers the rows in load order: ctid order is not
# load order (PostgreSQL 16+ extends tables by several pages at once during bulk loads).
T_DDL = """
create table t (
    id integer, name varchar(8), score double precision, ts timestamp, flag boolean, small smallint,
    big bigint, tags varchar(32), seq bigint generated always as identity)
"""


class CopyDB:
    """One fresh database: create tables, run emulated COPYs (each committed), read results."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.conn = psycopg2.connect(dsn)

    def execute(self, statement: str, params=None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(statement, params)
        self.conn.commit()

    def query(self, statement: str, params=None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(statement, params)
            rows = cur.fetchall()
        self.conn.commit()
        return rows

    def copy(self, table: str = "t", source: str | Path = "", progress=None, **options) -> CopyResult:
        """Run one emulated COPY and commit it; on LoadError roll back (as the pipeline does) and re-raise."""
        spec = CopySpec(table=table, source=str(source), **{k: (str(v) if isinstance(v, Path) else v)
                                                              for k, v in options.items()})
        try:
            result = emulate_copy(self.conn, spec, error_conn_factory=lambda: psycopg2.connect(self.dsn),
                                  progress=progress)
        except LoadError:
            self.conn.rollback()
            raise
        self.conn.commit()
        return result

    def load_errors(self) -> list[dict]:
        """sys_load_error_detail, oldest first ([] if the table was never created)."""
        if not self.query("select to_regclass('sys_load_error_detail') is not null")[0][0]:
            return []
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("select * from sys_load_error_detail order by query_id, file_name, line_number")
            rows = [dict(r) for r in cur.fetchall()]
        self.conn.commit()
        return rows

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(scope="session")
def copy_dsn(pg_server):
    """One database for all COPY tests (creating one per test costs ~0.5 s); `db` empties it per test."""
    name = f"copytests_{os.getpid()}"
    dsn = localdb.ensure_database(pg_server, name)
    yield dsn
    localdb.drop_database(pg_server, name)


@pytest.fixture
def db(copy_dsn):
    helper = CopyDB(copy_dsn)
    helper.execute("drop schema public cascade; create schema public")
    yield helper
    helper.close()


@pytest.fixture
def t_table(db):
    db.execute(T_DDL)
    return db


def spec_with(spec: CopySpec, **changes) -> CopySpec:
    return replace(spec, **changes)
