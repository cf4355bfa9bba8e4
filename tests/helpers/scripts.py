"""The toolkit's scripts run as a user runs them: a subprocess in the project directory, with the tests' fake-AWS
environment and the local endpoints. `guarded` runs it with psycopg2.connect refused (tests.helpers.dataapi
.guarded), for TRANSPORT = data-api."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import PROJECT
from tests.helpers.environment import script_environment


def _argv(name: str, cfg: Path, args, guarded: bool) -> list[str]:
    runner = ["-m", "tests.helpers.dataapi.guarded"] if guarded else []
    return [sys.executable, *runner, name, "--config", str(cfg), *args]


def run_script(name: str, cfg: Path, *args: str, env: dict | None = None, guarded: bool = False,
               timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    """Run `name` ("etl.py") with --config `cfg`; `env` defaults to script_environment(); `check` asserts exit 0."""
    proc = subprocess.run(_argv(name, cfg, args, guarded), cwd=PROJECT,
                          env=env if env is not None else script_environment(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, f"{name} exited {proc.returncode}: {proc.stderr[-3000:]}"
    return proc


def start_script(name: str, cfg: Path, *args: str, env: dict | None = None, guarded: bool = False) -> subprocess.Popen:
    """Start a script like run_script does, without waiting for it."""
    return subprocess.Popen(_argv(name, cfg, args, guarded), cwd=PROJECT,
                            env=env if env is not None else script_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_guarded(name: str, cfg: Path, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """run_script with psycopg2.connect refused (TRANSPORT = data-api: a connection attempt exits 97); asserts
    exit 0 unless check=False."""
    return run_script(name, cfg, *args, guarded=True, check=check, **kwargs)


def start_guarded(name: str, cfg: Path, *args: str, **kwargs) -> subprocess.Popen:
    """start_script with psycopg2.connect refused."""
    return start_script(name, cfg, *args, guarded=True, **kwargs)
