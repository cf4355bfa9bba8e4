"""Reading and driving the embedded PostgreSQL from tests: rows of a query, a script's main() on a config, a
Config for a database, and CopyDB (emulated COPYs run and read back one at a time)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg2
import psycopg2.extras

from sparkify.config import ClusterSettings, Config, S3Settings
from sparkify.copy.emulator import CopyResult, emulate_copy
from sparkify.copy.spec import CopySpec
from sparkify.errors import LoadError


def query(conn, sql: str, params=None) -> list[tuple]:
    """The rows of `sql` on the test's connection, read outside any transaction it has open (rolled back)."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.rollback()
    return rows


def query_once(dsn: str, sql: str, params=()) -> list[tuple]:
    """The rows of `sql` on a connection of its own (closed after)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def run(script, cfg_path, *extra) -> None:
    """A script's main() with --config and --quiet; it must succeed."""
    assert script.main(["--config", str(cfg_path), "--quiet", *extra]) == 0


def dsn_parts(dsn: str) -> tuple[str, str]:
    """(host: the server's socket directory, database name) of a DSN of the embedded server."""
    u = urlparse(dsn)
    return parse_qs(u.query)["host"][0], u.path.lstrip("/")


def postgres_config(dsn: str, *, log_data: str | Path, log_jsonpath: str | Path, song_data: str | Path) -> Config:
    """A Config for the `postgres` engine on the database of `dsn`, loading those sources."""
    host, db_name = dsn_parts(dsn)
    return Config(engine="postgres",
                  s3=S3Settings(log_data=str(log_data), log_jsonpath=str(log_jsonpath), song_data=str(song_data)),
                  cluster=ClusterSettings(host=host, db_name=db_name, db_user="postgres", db_port=5432),
                  lock_timeout=5)


class CopyDB:
    """One database: create tables, run emulated COPYs (each committed), read results."""

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
