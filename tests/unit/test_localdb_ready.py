"""localdb.wait_until_ready: a script that finds the embedded server still starting (replaying its WAL after a
crash) waits for it instead of failing."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from sparkify import localdb
from sparkify.errors import WarehouseError

_stand_ins: dict[str, int] = {}


@pytest.fixture(autouse=True)
def server_stand_in(tmp_path):
    """A process working in tmp_path, as a server works in its data directory (localdb checks that a pid file's
    process is one: a pid that another program reuses is no server)."""
    # SIGINT stops it as it stops a server, even where the test runner inherited SIGINT ignored (a job started with
    # `&` in a non-interactive shell), which Python would keep for this child too
    code = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_DFL); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"  # its SIGINT disposition set
    _stand_ins[str(tmp_path)] = proc.pid
    yield proc
    proc.kill()
    proc.wait()


def write_pid_file(data_dir, status: str, pid: int | None = None) -> None:
    # the layout PostgreSQL writes: pid, data dir, start time, port, socket dir, listen address, shmem key, status
    pid = pid or _stand_ins[str(data_dir)]
    lines = [str(pid), str(data_dir), "1764540000", "5432", ".", "", "0 0", f"{status:<8}"]
    (data_dir / "postmaster.pid").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("status, expected", [("starting", "starting"), ("ready", "ready"), ("stopping", "stopping")])
def test_status_is_read_from_a_running_servers_pid_file(tmp_path, status, expected):
    write_pid_file(tmp_path, status)
    assert localdb.postmaster_status(tmp_path) == expected


def test_no_server_has_no_status(tmp_path):
    assert localdb.postmaster_status(tmp_path) is None
    write_pid_file(tmp_path, "starting", pid=2**22 + 12345)  # no such process
    assert localdb.postmaster_status(tmp_path) is None


def test_a_pid_that_another_program_reuses_is_no_server(tmp_path):
    """After a crash or a reboot postmaster.pid may name a pid that another program has now: stop_local.py must
    not signal it, and the server is not taken for running."""
    other = tmp_path / "other"
    other.mkdir()
    write_pid_file(other, "ready", pid=_stand_ins[str(tmp_path)])  # a live process, working elsewhere
    assert localdb.postmaster_status(other) is None
    assert localdb.stop_server(other) is False


def test_waits_while_the_server_is_starting(tmp_path, caplog):
    write_pid_file(tmp_path, "starting")
    timer = threading.Timer(0.3, write_pid_file, (tmp_path, "ready"))
    timer.start()
    try:
        with caplog.at_level("INFO", logger="sparkify.localdb"):
            localdb.wait_until_ready(tmp_path, timeout=30, poll=0.05)
    finally:
        timer.cancel()
    assert localdb.postmaster_status(tmp_path) == "ready"
    assert "is starting (recovering after a crash?): waiting until it is ready" in caplog.text


def test_a_server_that_never_gets_ready_fails_naming_the_directory(tmp_path):
    write_pid_file(tmp_path, "starting")
    with pytest.raises(WarehouseError, match=rf"{tmp_path}: the embedded PostgreSQL server is still starting "
                                             r"after 0 s; see .*log"):
        localdb.wait_until_ready(tmp_path, timeout=0.2, poll=0.05)



def test_stopping_a_server_that_is_left_unreaped_returns(tmp_path, server_stand_in, monkeypatch):
    """Where the toolkit is PID 1 (a container without an init) a server that ended stays a zombie until reaped:
    stop_server must see it gone, not wait STOP_TIMEOUT for it (the stand-in is our child, left unreaped)."""
    monkeypatch.setattr(localdb, "STOP_TIMEOUT", 10.0)
    write_pid_file(tmp_path, "ready")
    assert localdb.stop_server(tmp_path) is True  # (WarehouseError after 10 s if the zombie looked alive)
    assert server_stand_in.poll() is not None
