"""What the benchmark scripts (bench/load.py, bench/report.py) share as command-line programs: the cache, output
and logging options, the log set-up, printing the results, and their errors as one line on stderr."""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache"


def add_cache_option(p: argparse.ArgumentParser) -> None:
    """--cache-dir DIR (see start)."""
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, metavar="DIR",
                   help="generated samples and the local server's data (default: bench/.cache)")


def start(args: argparse.Namespace) -> int:
    """The log set-up for -v / -q, and --cache-dir made absolute and created; returns the log level."""
    level = log_level(args)
    setup_logging(level)
    args.cache_dir = args.cache_dir.resolve()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    return level


def add_output_options(p: argparse.ArgumentParser) -> None:
    """--json, --output FILE, -v / -q."""
    p.add_argument("--json", action="store_true", help="print only one JSON object on stdout")
    p.add_argument("--output", type=Path, default=None, metavar="FILE", help="also write the JSON object to FILE")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    g.add_argument("-q", "--quiet", action="store_true", help="warnings only")


def log_level(args: argparse.Namespace) -> int:
    return logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO


def setup_logging(level: int) -> None:
    from sparkify import cli

    cli.setup_logging(level=level, loggers=("sparkify", "bench"), show_names=True)


def emit(result: dict, args: argparse.Namespace, format_table: Callable[[dict], str]) -> None:
    """The results: to --output as JSON if given, and to stdout as JSON (--json) or as the table."""
    text = json.dumps(result, indent=2, default=str)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    print(text if args.json else format_table(result))


def run(main: Callable[[list[str] | None], int], prog: str, argv: list[str] | None = None) -> int:
    """main(argv) with the toolkit's errors (configuration, connection, load) as one line on stderr."""
    from sparkify.errors import SparkifyError

    try:
        return main(argv)
    except SparkifyError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1) or 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def slowest_steps(runs: list[dict], top: int = 10) -> dict[str, float]:
    """The `top` statements that took longest, median seconds over `runs` (each a RunResult.steps: step name ->
    seconds), longest first: the profile a missed target is explained by."""
    names = dict.fromkeys(name for run in runs for name in run)
    medians = {name: statistics.median(run.get(name, 0.0) for run in runs) for name in names}
    return {name: round(s, 3) for name, s in sorted(medians.items(), key=lambda kv: -kv[1])[:top]}


def format_steps(title: str, steps: dict[str, float], total: float) -> list[str]:
    """Lines of a slowest_steps profile, each with its share of `total` seconds."""
    lines = [f"{title} (slowest statements, median seconds, share of the run):"]
    lines += [f"  {name:<42}{s:9.3f}{s / total:11.1%}" for name, s in steps.items()] if total else []
    return lines
