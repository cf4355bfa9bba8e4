"""Run a script with psycopg2.connect refused: `python -m tests.helpers.dataapi.guarded etl.py --config dwh.cfg ...`.

For the subprocess tests of TRANSPORT = data-api: a connection attempt fails the script with a message that
names it (exit 97), so a test sees it even where the toolkit would catch the error.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys

import psycopg2


def _refuse(*args, **kwargs):
    print("guarded: psycopg2.connect was called with TRANSPORT = data-api", file=sys.stderr)
    os._exit(97)


if __name__ == "__main__":
    # Ctrl-C as in a terminal, even where the test runner inherited SIGINT ignored (a job started with `&` in a
    # non-interactive shell), which Python would keep for this child too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    psycopg2.connect = _refuse
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    runpy.run_path(sys.argv[0], run_name="__main__")
