"""What every script shares: argument parsing, logging set-up and turning errors into exit codes.

Scripts stay thin: they parse arguments, call one package function and return its exit code.
Library code raises typed errors (sparkify.errors); only `run()` here turns them into one line
on stderr and a non-zero exit code. Both the error lines and the log lines may quote the data (a value, a
file name, a database error): their control characters are shown escaped (sparkify.text), never sent raw.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from sparkify.errors import SparkifyError
from sparkify.text import visible

log = logging.getLogger("sparkify")


def parser(prog: str, description: str | None, *, config_help: str | None = None) -> argparse.ArgumentParser:
    """An ArgumentParser with the options every script has: --config, --verbose, --quiet.

    config_help replaces the --config help for scripts whose config file has no built-in default.
    """
    p = argparse.ArgumentParser(
        prog=prog,
        description=(description or "").strip().splitlines()[0] if description else None,
        epilog=_epilog(description),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        default=None,
        help=config_help or "configuration file (default: dwh.cfg if present, else the built-in local default)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    g.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    return p


def _epilog(doc: str | None) -> str | None:
    if not doc:
        return None
    rest = doc.strip().splitlines()[1:]
    text = "\n".join(rest).strip()
    return text or None


def setup_logging(args: argparse.Namespace | None = None, *, level: int | None = None,
                  loggers: tuple[str, ...] = ("sparkify",), show_names: bool = False) -> None:
    """Log to stderr: INFO by default, DEBUG with --verbose, WARNING with --quiet (or `level`), for `loggers`;
    everything else (boto, urllib3, ...) at WARNING."""
    if level is None:
        level = logging.INFO
        if args is not None and getattr(args, "verbose", False):
            level = logging.DEBUG
        elif args is not None and getattr(args, "quiet", False):
            level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    name = " %(name)s:" if show_names else ""
    handler.setFormatter(VisibleFormatter(f"%(asctime)s %(levelname)s{name} %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for logger in loggers:
        logging.getLogger(logger).setLevel(level)


class VisibleFormatter(logging.Formatter):
    """A log line whose message shows control characters escaped: one line each, whatever the data holds (the
    traceback --verbose adds keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = visible(record.message)
        return super().formatMessage(record)


def error_line(prog: str, message) -> str:
    """The one line a script prints on stderr for an error: its control characters escaped."""
    return f"{prog}: {visible(message)}"


def run(prog: str, body: Callable[[], int | None]) -> int:
    """Run a script body; map library errors to one line on stderr and an exit code."""
    try:
        code = body()
        return 0 if code is None else int(code)
    except SparkifyError as exc:
        print(error_line(prog, exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort: one line, the traceback only with --verbose
        import psycopg2

        if isinstance(exc, psycopg2.Error):
            msg = (exc.pgerror or str(exc)).strip().splitlines()[0] if (exc.pgerror or str(exc)) else repr(exc)
            print(error_line(prog, f"database error: {msg}"), file=sys.stderr)
            log.debug("traceback", exc_info=True)
            return 1
        if log.isEnabledFor(logging.DEBUG):
            raise
        print(error_line(prog, f"unexpected error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)"),
              file=sys.stderr)
        return 1
