"""Run one program of the embedded PostgreSQL server for sparkify.localdb, never through a shell.

    python -I -S localdb_launch.py SPEC PROGRAM [ARGUMENT ...]

SPEC is a JSON object; every member is optional:
- "cover", "expose": directories (absolute paths). Each `cover` directory is hidden under an empty tmpfs in a
  private mount namespace, and each `expose` directory beneath it is bind-mounted back at its own path: the
  server's OS user then reaches its data directory and binaries through parents it could not traverse,
  while the host's directories and their modes stay as they are. Linux, as root (CAP_SYS_ADMIN) only.
- "uid", "gid", "groups": the identity to run as (root drops to it; the mount namespace is made first).
- "files": {path: text} written after the identity change, so that they belong to the server's user and a
  link planted in its directory cannot make root write elsewhere.
- "log": a file that receives the program's standard output and error (opened as that user, appended).
- "detach": fork; the child starts a new session and execs PROGRAM; the parent prints the child's pid and
  exits 0 (the server is then nobody's child here: sparkify.localdb finds it again by postmaster.pid).
Without "detach" PROGRAM replaces this process (initdb, whose output the caller reads).

A separate process because the steps between fork and exec (unshare, mount, setuid) are unsafe in a
preexec_fn of a process that runs threads. Standard library only; on failure one line on stderr, exit 111.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18


class LaunchError(Exception):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise LaunchError(f"{what}: {os.strerror(errno)}")


def private_view(cover: list[str], expose: list[str]) -> None:
    """A mount namespace of this process in which each `cover` directory is an empty tmpfs (mode 0755) and each
    `expose` directory is bind-mounted back at its own path. Nothing of it is visible outside this process and
    its children; it ends with them."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    _check(libc.unshare(CLONE_NEWNS), "cannot make a private mount namespace (unshare)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "cannot make the mounts private")
    # opened in this namespace, before the tmpfs hides them: a bind mount's source must belong to it
    handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in expose]
    os.umask(0o022)
    for top in cover:
        _check(libc.mount(b"sparkify", os.fsencode(top), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          b"mode=0755,size=64k"), f"cannot mount a tmpfs on {top}")
    for path, fd in sorted(handles):
        if not any(path == top or path.startswith(top.rstrip("/") + "/") for top in cover):
            os.close(fd)
            continue
        os.makedirs(path, mode=0o755, exist_ok=True)
        _check(libc.mount(f"/proc/self/fd/{fd}".encode(), os.fsencode(path), None, MS_BIND | MS_REC, None),
               f"cannot bind-mount {path}")
        os.close(fd)


def become(spec: dict) -> None:
    if spec.get("uid") is None:
        return
    os.setgroups(spec.get("groups") or [])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])


def write_files(files: dict[str, str]) -> None:
    for path, text in files.items():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)


def redirect(log: str | None) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)


def main(argv: list[str]) -> int:
    spec, program = json.loads(argv[1]), argv[2:]
    try:
        if spec.get("cover"):
            private_view(spec["cover"], spec.get("expose", []))
        become(spec)
        write_files(spec.get("files", {}))
        if spec.get("detach"):
            pid = os.fork()
            if pid:
                print(pid, flush=True)
                return 0
            os.setsid()
            redirect(spec.get("log"))
        elif spec.get("log"):
            redirect(spec["log"])
        os.execv(program[0], program)
    except (OSError, LaunchError) as exc:
        print(f"{os.path.basename(program[0]) if program else 'launch'}: {exc}", file=sys.stderr, flush=True)
        os._exit(111)
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
