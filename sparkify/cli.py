"""What every script shares: argument parsing, logging set-up and turning errors into exit codes.

Scripts stay thin: they parse arguments, call one package function and return its exit code.
Library code raises typed errors (sparkify.errors); only `run()` here turns them into one line
on stderr and a non-zero exit code. Both the error lines and the log lines may quote the data (a value, a
file name, a database error): their control characters are shown escaped (sparkify.text), never sent raw.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Callable
from pathlib import Path

from sparkify.config import BUILT_IN
from sparkify.errors import SparkifyError
from sparkify.text import visible

log = logging.getLogger("sparkify")


def parser(prog: str, description: str | None, *, config_help: str | None = None,
           config: bool = True) -> argparse.ArgumentParser:
    """An ArgumentParser with the options every script has: --config, --verbose, --quiet.

    The scripts that fall back on the built-in local default also get --sample (that default, whatever
    ./dwh.cfg holds). config_help replaces the --config help for the scripts whose config file has no
    built-in default (and they get no --sample); config=False leaves both out, for a script that reads no
    configuration. The description is the docstring's first paragraph, the epilog the rest.
    """
    first, rest = _paragraphs(description)
    p = argparse.ArgumentParser(prog=prog, description=first, epilog=rest,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    if config:
        g = p.add_mutually_exclusive_group()
        g.add_argument(
            "--config",
            metavar="PATH",
            type=Path,
            default=None,
            help=config_help or "configuration file (default: ./dwh.cfg if present, else the built-in local "
                                "default)",
        )
        if config_help is None:
            g.add_argument("--sample", dest="config", action="store_const", const=BUILT_IN,
                           help="use the built-in local default (the embedded warehouse and the generated sample "
                                "data, in a database of their own), even if ./dwh.cfg exists")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    g.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    return p


def _paragraphs(doc: str | None) -> tuple[str | None, str | None]:
    """A docstring's first paragraph (up to the first blank line) and the rest, each None when empty."""
    if not doc:
        return None, None
    first, _, rest = doc.strip().partition("\n\n")
    return first.strip() or None, rest.strip() or None


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


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on its write end)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no real stdout (a test's capture), or no poll
        return False


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
        if isinstance(exc, BrokenPipeError) and _stdout_closed():
            # The reader of stdout went away (`... | head`): nothing is left to say to it. As Python's docs
            # advise (signal, "Note on SIGPIPE"), point stdout at devnull, so that the exit's flush does not
            # fail again, and exit 1.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
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
