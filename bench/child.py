"""One measured load in a fresh interpreter (multiprocessing's spawn), as a script would run it.

The child's target takes its arguments and, last, the sending end of a pipe; it sends one dict: its
measurements, or {"error": ..., "traceback": ...}.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable

log = logging.getLogger("bench.child")


def run_in_child(target: Callable[..., None], args: tuple, *, name: str, what: str) -> dict:
    """Run target(*args, conn_out) in a child process and return the dict it sent; RuntimeError if it sent an
    error or ended without sending anything (`what` names the load in messages)."""
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, child_end), name=name)
    proc.start()
    child_end.close()
    try:
        result = parent_end.recv()
    except EOFError:
        result = {"error": f"the {what} process ended without a result (exit code {proc.exitcode})"}
    proc.join()
    if "error" in result:
        log.error("%s failed:\n%s", what, result.get("traceback", result["error"]))
        raise RuntimeError(f"{what} failed: {result['error']}")
    return result
