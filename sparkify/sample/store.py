"""Samples on disk: generating one in place of another atomically, reusing one made with the same
parameters (SAMPLE.json records them), and never replacing a directory that is not a sample."""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import date, datetime
from pathlib import Path

from filelock import FileLock

from sparkify.sample.formats import GENERATOR_VERSION, SAMPLE_FILE, SampleError, SampleSummary
from sparkify.sample.writer import write_sample, write_text

log = logging.getLogger("sparkify.sample")

MAX_EVENTS_PER_USER_DAY = 15  # the scheduler fits 20+ (busier users get their sessions cut); real data: ~3


def default_users(events: int, days: int = 30) -> int:
    """The number of users when none is given: about 80 events per user (like the real month), at least 10,
    and enough for the busiest average a short range allows (MAX_EVENTS_PER_USER_DAY)."""
    return max(10, round(events / 80), -(-events // (max(1, days) * MAX_EVENTS_PER_USER_DAY)))


def generate(out_dir: Path, *, events: int = 8000, songs: int = 500, seed: int = 42, users: int | None = None,
             start: date = date(2018, 11, 1), days: int = 30) -> SampleSummary:
    """Write a fresh sample into `out_dir` (replacing an earlier sample there) and return its summary.

    `events` and `songs` are exact counts; `users` defaults to `default_users(events, days)`; events fall on the
    `days` days from `start` (UTC). The sample is built in a temporary sibling directory and renamed into
    place, so an interrupted run never leaves a half-written sample. Raises SampleError for bad parameters
    or when `out_dir` exists, is not empty and is not a generated sample.
    """
    params = _normalize(events=events, songs=songs, seed=seed, users=users, start=start, days=days)
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        counts = write_sample(tmp, params)
        summary = SampleSummary(out_dir=out_dir, **counts)
        write_text(tmp / SAMPLE_FILE, json.dumps(
            {"generator": "sparkify.sample", "params": params, "summary": summary.to_dict()},
            indent=2, sort_keys=True) + "\n")
        _swap_into_place(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return summary


def ensure_sample(out_dir: Path, *, events: int = 8000, songs: int = 500, seed: int = 42, users: int | None = None,
                  start: date = date(2018, 11, 1), days: int = 30) -> SampleSummary:
    """Return the sample in `out_dir`, generating it only if SAMPLE.json is missing or its parameters differ.

    Concurrent callers are serialized by a lock on the parent directory.
    """
    params = _normalize(events=events, songs=songs, seed=seed, users=users, start=start, days=days)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _check_replaceable(out_dir)
    with _locked(out_dir):
        cached = read_sample(out_dir)
        if cached is not None and cached[0] == params:
            log.info("reusing the sample in %s (same parameters)", out_dir)
            return cached[1]
        if cached is not None:
            log.info("parameters differ from %s: regenerating", out_dir / SAMPLE_FILE)
        return generate(out_dir, events=events, songs=songs, seed=seed, users=users, start=start, days=days)


def ensure_default_sample(sample_dir: Path) -> SampleSummary:
    """The sources of the built-in default configuration (etl.py without a dwh.cfg): the default sample in
    `sample_dir`, generated first if it is not there, with an INFO line naming the directory either way.
    Called by scripts only: the library (sparkify.pipeline.run_etl) never generates data."""
    if read_sample(sample_dir) is None:
        log.info("built-in default: generating the sample data it loads, in %s", sample_dir)
    else:
        log.info("built-in default: loading the sample data in %s", sample_dir)
    return ensure_sample(sample_dir)


def read_sample(out_dir: Path) -> tuple[dict, SampleSummary] | None:
    """The (normalized parameters, summary) recorded in out_dir/SAMPLE.json, or None if there is no valid one."""
    path = Path(out_dir) / SAMPLE_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        summary = SampleSummary(out_dir=Path(out_dir), **{k: int(doc["summary"][k]) for k in (
            "events", "next_song_events", "songs", "users", "log_files", "matched_plays")})
        params = dict(doc["params"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable %s (%s): the sample will be regenerated", path, exc)
        return None
    if not (Path(out_dir) / "log_json_path.json").is_file():
        return None
    return params, summary


def _normalize(*, events: int, songs: int, seed: int, users: int | None, start: date, days: int) -> dict:
    """Validate the parameters; return them as a JSON-ready dict (what SAMPLE.json records and compares)."""
    problems = []
    for name, value in (("events", events), ("songs", songs), ("seed", seed), ("days", days)):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{name} must be an integer, not {value!r}")
    if users is not None and (not isinstance(users, int) or isinstance(users, bool)):
        problems.append(f"users must be an integer, not {users!r}")
    if not isinstance(start, date) or isinstance(start, datetime):
        problems.append(f"start must be a datetime.date, not {start!r}")
    if problems:
        raise SampleError("invalid sample parameters: " + "; ".join(problems))
    if events < 0 or songs < 0:
        problems.append("events and songs must be >= 0")
    if not 0 <= seed < 2**63:
        problems.append(f"seed must be in 0 .. 2**63-1, not {seed}")
    if days < 1:
        problems.append(f"days must be >= 1, not {days}")
    n_users = default_users(events, days) if users is None else users
    if n_users < 1:
        problems.append(f"users must be >= 1, not {n_users}")
    elif days >= 1 and events > n_users * days * MAX_EVENTS_PER_USER_DAY:
        need = -(-events // (days * MAX_EVENTS_PER_USER_DAY))
        problems.append(f"{events} events over {days} days need at least {need} users (at most "
                        f"{MAX_EVENTS_PER_USER_DAY} events per user per day on average); pass users={need} or more")
    if problems:
        raise SampleError("invalid sample parameters: " + "; ".join(problems))
    return {"version": GENERATOR_VERSION, "events": events, "songs": songs, "seed": seed, "users": n_users,
            "start": start.isoformat(), "days": days}


SAMPLE_ENTRIES = frozenset((SAMPLE_FILE, "log_json_path.json", "log_data", "song_data"))


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace anything but a missing or empty directory or one holding only a sample's entries."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SampleError(f"{out_dir} exists and is not a directory: choose another output directory")
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in SAMPLE_ENTRIES)
        if foreign:
            raise SampleError(f"refusing to replace {out_dir}: it holds {', '.join(foreign[:3])}"
                              f"{', ...' if len(foreign) > 3 else ''}, so it is not a generated sample; "
                              "choose an empty or new output directory")


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        _check_replaceable(out_dir)
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old)
        os.rename(out_dir, old)
    os.rename(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _locked(out_dir: Path) -> FileLock:
    """An exclusive lock for generating into `out_dir`: a lock file beside it (filelock: flock on POSIX, msvcrt
    on Windows), released when its holder ends, even if killed. The file is left in place: removing a lock
    file another process may be opening would let two processes hold "the" lock."""
    return FileLock(out_dir.parent / f".{out_dir.name}.lock")
