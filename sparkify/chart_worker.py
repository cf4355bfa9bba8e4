"""The chart worker of `analytics.py --html`: a process of its own that renders the report's charts.

Why a process. Starting the renderer costs the same for any report: altair's import and vl-convert's first
chart, its JavaScript engine and the Vega-Lite library (0.8 s on the 2-core development machine). Started
before the report's queries, the worker pays that on the other core while the warehouse runs them, and the
page then asks it for each chart. A thread would not do: vl-convert holds the GIL while it renders, so the
queries' thread stalls behind it (measured: the queries took 0.7 s longer and the page no less).

The protocol: one JSON line each way. The worker first answers `{"vegalite_version": ...}` once it has
rendered a chart (or `{"error": ...}` if it cannot); then, for each `{"chart": name, "args": [...],
"kwargs": {...}}`, `{"svg": ...}` or `{"error": ...}`. It renders only the chart builders of
sparkify.charts.CHARTS, from plain JSON values: it reads no file and runs nothing else. A chart that fails, or
a worker that dies (vl-convert aborts its process on some inputs), makes the page fail with the chart's name
and why, in one line.

The worker is this interpreter (sys.executable) run isolated (-I: nothing from the working directory or the
environment), with this process's module path, so that it loads the same code from the same places. Whatever
happens, the worker is stopped before the report returns (close).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Self

from sparkify.errors import ReportError

log = logging.getLogger(__name__)

# The worker's command line after `python -I -c`: the module path comes as JSON in argv[1].
BOOT = "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); from sparkify.chart_worker import serve; serve()"
STDERR_LINES = 20  # of the worker's stderr, kept to say why it stopped
CLOSE_SECONDS = 5.0  # for a worker told to stop (its input closed), before it is killed


def module_path() -> list[str]:
    """The directory this package was loaded from, then this process's module path (absolute, without the
    working directory's '' entry): the worker imports the same modules from the same places."""
    root = str(Path(__file__).resolve().parent.parent)
    rest = [os.path.abspath(p) for p in sys.path if p]
    return [root, *(p for p in rest if p != root)]


class ChartWorker:
    """A chart renderer (sparkify.charts.Renderer) in a worker process, started at once. Use it as a context
    manager, or call close()."""

    def __init__(self) -> None:
        command = [sys.executable, "-I", "-c", BOOT, json.dumps(module_path())]
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
        except OSError as exc:
            raise ReportError(f"the chart renderer could not start ({sys.executable}): {exc.strerror or exc}: "
                              "check that this Python can run") from None
        # The worker's stderr, read as it comes so that a chatty worker never blocks on a full pipe.
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._drain = threading.Thread(target=self._read_stderr, name="sparkify-chart-worker-stderr", daemon=True)
        self._drain.start()
        self._version: str | None = None

    # ---------------------------------------------------------------- the renderer
    def svg(self, name: str, *args, **kwargs) -> str:
        self.vegalite_version()  # (the worker has started, or this raises why not)
        return self._ask({"chart": name, "args": args, "kwargs": kwargs},
                         f"the report's chart {name} could not be rendered")["svg"]

    def vegalite_version(self) -> str:
        if self._version is None:
            self._version = self._answer("the chart renderer could not start")["vegalite_version"]
        return self._version

    # ---------------------------------------------------------------- the protocol
    def _ask(self, request: dict, failed: str) -> dict:
        try:
            line = json.dumps(request)
        except (TypeError, ValueError) as exc:
            raise ReportError(f"{failed}: its values cannot be sent to the chart renderer: {exc}") from None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except OSError:  # (BrokenPipeError: the worker is gone)
            raise self._stopped(failed) from None
        return self._answer(failed)

    def _answer(self, failed: str) -> dict:
        """The worker's next answer; `failed` begins the error's message if there is none or it is an error."""
        line = self.process.stdout.readline()
        if not line:
            raise self._stopped(failed)
        try:
            answer = json.loads(line)
        except ValueError:
            answer = {"error": f"the chart renderer answered {line.strip()[:80]!r}, which is not its protocol"}
        if "error" in answer:
            raise ReportError(f"{failed}: {answer['error']}")
        return answer

    def _stopped(self, failed: str) -> ReportError:
        """The error of a worker that is gone: how it ended, and the last line it wrote to stderr (its last
        STDERR_LINES lines are logged, with --verbose)."""
        code = self.process.wait()
        self._drain.join(timeout=1.0)
        how = (f"killed by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
               else f"exit status {code}")
        said = next((line.strip() for line in reversed(self._stderr) if line.strip()), "")
        if self._stderr:
            log.debug("the chart renderer's last %d lines on stderr:\n%s", len(self._stderr),
                      "".join(self._stderr).rstrip())
        return ReportError(f"{failed}: the chart renderer's process stopped ({how})"
                           + (f": {said}" if said else "") + ": run analytics.py --html again; "
                           "if it stops again, run with --verbose")

    def _read_stderr(self) -> None:
        with self.process.stderr:  # (closed at its end, which comes when the worker has exited)
            for line in self.process.stderr:
                self._stderr.append(line)

    # ---------------------------------------------------------------- stopping
    def close(self, *, kill: bool = False) -> None:
        """Stop the worker: its input closed (it exits when it reads the end), or terminated at once when
        `kill` (a report that failed: the worker may still be starting). Killed if it has not stopped within
        CLOSE_SECONDS."""
        p = self.process
        if kill and p.poll() is None:
            p.terminate()
        try:
            p.stdin.close()
        except OSError:
            pass  # (a worker that is gone took its pipe with it)
        try:
            p.wait(timeout=CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()
        self._drain.join(timeout=1.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)


# ------------------------------------------------------------------------------------------ the worker's side
def serve() -> None:
    """The worker's loop (run by BOOT): start the renderer, say so, then answer each request until stdin ends.

    Only the protocol's lines go to stdout: anything else the libraries print goes to stderr."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr

    def send(answer: dict) -> None:
        out.write(json.dumps(answer) + "\n")
        out.flush()

    from sparkify import charts

    try:
        charts.warm_up()
        send({"vegalite_version": charts.vegalite_version()})
    except Exception as exc:  # noqa: BLE001 - any: the report says it, in one line
        send({"error": f"{type(exc).__name__}: {exc}"})
        return
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"svg": charts.render(request["chart"], *request["args"], **request["kwargs"])}
        except Exception as exc:  # noqa: BLE001 - any: the page fails with the chart's name and this
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        send(answer)
