"""Generate sample Sparkify input data in the exact formats and layout of the `udacity-dend` bucket.

Output, under one directory:

- ``log_data/YYYY/MM/YYYY-MM-DD-events.json``: newline-delimited event objects (no trailing newline),
  keys in the real order, ``userId`` a string ("" when logged out), ``registration`` a float, ``ts`` epoch
  milliseconds, ``/`` escaped as ``\\/`` and non-ASCII as ``\\uXXXX``, lines sorted by ``ts`` within a file.
- ``song_data/A/B/C/TRABC....json``: one compact object per file, keys alphabetical, no trailing newline.
- ``log_json_path.json``: the same text as the bucket's JSONPaths file.
- ``SAMPLE.json``: the parameters and the summary, so that `ensure_sample` can reuse a cached sample.

Everything is derived from the seed: the same arguments give byte-identical files. Memory stays bounded:
catalog song ``i`` is a pure function of ``(seed, i)`` (plays reference songs by index, nothing is stored),
and events are generated session by session and merged into ts order through a heap that holds only the
sessions still running (memory depends on the number of users, not of events).

Invariants the ETL relies on: among NextSong events ``(sessionId, itemInSession)`` and ``(userId, ts)``
are unique and ``userId`` is never empty; a sessionId belongs to one user and a user has one session at
a time; within a session ``itemInSession`` runs 0, 1, 2, ... and ``ts`` strictly increases. About a fifth
of the NextSong plays match a catalog song exactly on (song, artist, length); the other plays are of
songs outside the catalog (a few with a catalog title and artist but another length).

Quirks copied from the real data on purpose: every ``ts`` ends in 796 ms; logged-out events keep a
``level``; some artists have several songs and a few song files describe the same artist_id differently
(another location or name); about 0.2% of artists have a numeric (JSON number) artist_name or
artist_location; ~45% of songs have an empty location, about two thirds null coordinates, ~30% year 0.
"""

from __future__ import annotations

import bisect
import fcntl
import heapq
import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import random
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from sparkify.errors import SparkifyError

log = logging.getLogger("sparkify.sample")

GENERATOR_VERSION = 1  # bump when the output for the same parameters changes (invalidates cached samples)
SAMPLE_FILE = "SAMPLE.json"
PROGRESS_SECONDS = 5.0
MAX_EVENTS_PER_USER_DAY = 15  # the scheduler fits 20+ (busier users get their sessions cut); real data: ~3

# The bucket's log_json_path.json, byte for byte (4-space indent, no trailing newline).
LOG_JSON_PATH_TEXT = """{
    "jsonpaths": [
        "$['artist']",
        "$['auth']",
        "$['firstName']",
        "$['gender']",
        "$['itemInSession']",
        "$['lastName']",
        "$['length']",
        "$['level']",
        "$['location']",
        "$['method']",
        "$['page']",
        "$['registration']",
        "$['sessionId']",
        "$['song']",
        "$['status']",
        "$['ts']",
        "$['userAgent']",
        "$['userId']"
    ]
}"""

LOG_KEYS = ("artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level", "location",
            "method", "page", "registration", "sessionId", "song", "status", "ts", "userAgent", "userId")
SONG_KEYS = ("artist_id", "artist_latitude", "artist_location", "artist_longitude", "artist_name", "duration",
             "num_songs", "song_id", "title", "year")


class SampleError(SparkifyError):
    """The sample data could not be generated (bad parameters, or an output directory we must not replace)."""


@dataclass(frozen=True)
class SampleSummary:
    """What `generate` wrote. `users` counts the distinct non-empty userIds that occur in the logs."""

    out_dir: Path
    events: int
    next_song_events: int
    songs: int
    users: int
    log_files: int
    # NextSong events whose (song, artist, length) equals a catalog song's (title, artist_name, duration):
    matched_plays: int

    def to_dict(self) -> dict:
        return {"events": self.events, "next_song_events": self.next_song_events, "songs": self.songs,
                "users": self.users, "log_files": self.log_files, "matched_plays": self.matched_plays}


# --------------------------------------------------------------------------------------------------- public API

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
        counts = _write_sample(tmp, params)
        summary = SampleSummary(out_dir=out_dir, **counts)
        _write_text(tmp / SAMPLE_FILE, json.dumps(
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
    with _locked(out_dir.parent):
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
        log.info("no dwh.cfg: generating the sample data the built-in default loads, in %s", sample_dir)
    else:
        log.info("no dwh.cfg: loading the sample data in %s", sample_dir)
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


# --------------------------------------------------------------------------------------------------- parameters

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


# --------------------------------------------------------------------------------------------------- files

def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="ascii", newline="") as fh:
        fh.write(text)


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


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock on a directory (flock on its descriptor: no lock file is left behind)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_sample(root: Path, params: dict) -> dict:
    """Write log_json_path.json, song_data/ and log_data/ under `root`; return the summary counts.

    For big samples the song files (many small files: file-system bound) are written by a forked child
    process while this one generates the logs (CPU bound); a thread would not overlap them (it waits for
    the GIL after every system call). Only where forking is safe (see _can_fork); otherwise one after the other.
    """
    t0 = time.monotonic()
    _write_text(root / "log_json_path.json", LOG_JSON_PATH_TEXT)
    seed, n_songs = params["seed"], params["songs"]
    logs = _LogGenerator(params, _Catalog(seed, n_songs))
    if n_songs >= PARALLEL_MIN_SONGS and params["events"] >= PARALLEL_MIN_EVENTS and _can_fork():
        songs = _SongProcess(root / "song_data", seed, n_songs)
        try:
            logs.progress_note = songs.progress
            counts = logs.write(root / "log_data")
            _log_logs_done(counts, t0)
            songs.wait()
        finally:
            songs.stop()
    else:
        _write_song_files(root / "song_data", _Catalog(seed, n_songs), _log_song_progress)
        counts = logs.write(root / "log_data")
        _log_logs_done(counts, t0)
    log.info("sample complete: %d events, %d song files in %.1f s", counts["events"], n_songs,
             time.monotonic() - t0)
    return {"songs": n_songs, **counts}


PARALLEL_MIN_SONGS = 2000      # below these sizes a child process costs more than it saves
PARALLEL_MIN_EVENTS = 100_000


def _can_fork() -> bool:
    """Fork a child only on Linux and in a single-threaded process (a fork copies no other thread, and
    their locks could be held). Not "spawn": it re-imports the caller's __main__, which breaks scripts
    without an `if __name__ == "__main__"` guard."""
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def _log_logs_done(counts: dict, t0: float) -> None:
    log.info("wrote %d events in %d log files after %.1f s", counts["events"], counts["log_files"],
             time.monotonic() - t0)


def _log_song_progress(done: int, total: int) -> None:
    log.info("song files: %d / %d", done, total)


def _write_song_files(song_root: Path, catalog: _Catalog, progress: Callable[[int, int], None]) -> None:
    """Write song_data/A/B/C/<track_id>.json for every catalog song; call progress(done, total) now and then."""
    song_root.mkdir()
    made: set[str] = set()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    next_report = time.monotonic() + PROGRESS_SECONDS
    for i in range(catalog.size):
        track_id, text = catalog.song_file(i)
        sub = f"{track_id[2]}/{track_id[3]}/{track_id[4]}"
        if sub not in made:
            os.makedirs(song_root / sub, exist_ok=True)
            made.add(sub)
        fd = os.open(f"{song_root}/{sub}/{track_id}.json", flags, 0o644)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            os.close(fd)
        if i & 255 == 255 and time.monotonic() >= next_report:
            progress(i + 1, catalog.size)
            next_report = time.monotonic() + PROGRESS_SECONDS
    progress(catalog.size, catalog.size)


def _song_worker(song_root: str, seed: int, size: int, conn: multiprocessing.connection.Connection,
                 counter) -> None:
    """Child process body: write the song files, count progress in `counter` (a shared "q" Value),
    then send None or the error text."""
    def progress(done: int, _total: int) -> None:
        counter.value = done

    try:
        _write_song_files(Path(song_root), _Catalog(seed, size), progress)
        conn.send(None)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises SampleError
        conn.send(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


class _SongProcess:
    """Writes the song files in a forked child process (which neither logs nor imports)."""

    def __init__(self, song_root: Path, seed: int, size: int):
        ctx = multiprocessing.get_context("fork")
        self.song_root, self.size = song_root, size
        self.counter = ctx.Value("q", 0, lock=False)
        self.conn, child_conn = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_song_worker, name="sparkify-sample-songs", daemon=True,
                                args=(str(song_root), seed, size, child_conn, self.counter))
        self.proc.start()
        child_conn.close()

    def progress(self) -> str:
        return f"song files: {self.counter.value} / {self.size}"

    def wait(self) -> None:
        """Block until the child is done; raise SampleError if it failed."""
        try:
            error = self.conn.recv()
        except EOFError:
            error = f"the process ended without a result (exit code {self.proc.exitcode})"
        self.proc.join()
        if error:
            raise SampleError(f"writing the song files under {self.song_root} failed: {error}")
        log.info("%s", self.progress())

    def stop(self) -> None:
        """End the child if it is still running (after a failure or an interrupt in this process)."""
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join()
        self.conn.close()


# --------------------------------------------------------------------------------------------------- helpers

# Kinds of derived random streams: each (seed, kind, index) gets its own reproducible generator.
_K_CODEC, _K_SONG, _K_ARTIST, _K_OUTSIDE, _K_USER, _K_LOG = range(6)


def _key(seed: int, kind: int, index: int) -> int:
    """An injective map (seed, kind, index) -> int, used as a random.Random seed."""
    return (seed << 72) | (kind << 64) | index


def _js(value: str) -> str:
    """A JSON string literal written like the bucket's files: ASCII only, with '/' escaped as '\\/'."""
    return json.dumps(value).replace("/", "\\/")


def _digits(x: int, alphabet: str, width: int) -> str:
    base = len(alphabet)
    out = []
    for _ in range(width):
        x, r = divmod(x, base)
        out.append(alphabet[r])
    return "".join(reversed(out))


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = "0123456789" + _LETTERS


class _Codec:
    """A seeded bijection of 0..n-1 (x -> a*x + b mod n): distinct indexes give distinct, random-looking ids."""

    def __init__(self, rng: random.Random, n: int):
        a = rng.randrange(n // 3, n) | 1
        while math.gcd(a, n) != 1:
            a += 2
        self.a, self.b, self.n = a, rng.randrange(n), n

    def __call__(self, i: int) -> int:
        if not 0 <= i < self.n:
            raise SampleError(f"id index {i} out of range 0..{self.n - 1}")
        return (self.a * i + self.b) % self.n


# --------------------------------------------------------------------------------------------------- vocabulary

_WORDS = (
    "Love Heart Night Day Fire Rain Sun Moon Star Dream Light Dark River Road Home Time World Sky Blue Red Gold "
    "Silver Summer Winter Girl Boy Baby Man Woman City Street Dance Song Music Soul Mind Eyes Kiss Tears Angel "
    "Devil Heaven Ocean Wind Storm Shadow Ghost Memory Story Secret Promise Fever Magic Crazy Wild Sweet Lonely "
    "Broken Golden Electric Midnight Morning Yesterday Tomorrow Forever Never Again Away Alone Together Inside "
    "Outside Under Over Back Down Little Big Last First Only Better Fool Paradise Highway Train Letter Window "
    "Mirror Garden Flower Rose Diamond Honey Sugar Whiskey Blues Rock Roll Rhythm Thunder Lightning Ice Stone "
    "Wolf Tiger Bird Butterfly Dragon Machine Radio Telephone Satellite Rocket Kingdom Empire Revolution "
    "Freedom Glory Sorrow Joy Hope Faith Grace Mercy Trouble Danger Escape Runaway Stranger Lover Friend "
    "Brother Sister Mother Father Children Soldier King Queen Prince Coração Café Niño Über Señorita Été"
).split()
_TITLE_FORMS = ("{w}", "{w} {w}", "The {w}", "{w} of {w}", "My {w}", "{w} {w} {w}", "In the {w}", "{w} and {w}",
                "Don't {w}", "I'm {w}", "{w} (Album Version)", "{w} {w} (Live)", "{w}/{w}", "{w} #{n}",
                "{w} {w} (Remix)", "{w} - Remastered", "\"{w}\"", "You {w} Me", "{w} Is {w}", "Rock'n'{w}")
_FIRST_F = ("Lily", "Kaylee", "Jacqueline", "Chloe", "Tegan", "Ava", "Jayden", "Harper", "Layla", "Sophia",
            "Olivia", "Emma", "Isabella", "Mia", "Amelia", "Evelyn", "Abigail", "Emily", "Ella", "Madison", "Zoë",
            "Renée", "Stefany", "Anabelle", "Rylan", "Morris", "Celeste", "Aleena", "Kinsley", "Jordyn")
_FIRST_M = ("Walter", "Ryan", "Jacob", "Lucas", "Aiden", "Mohammad", "Wyatt", "Noah", "Liam", "Ethan", "Mason",
            "Logan", "Elijah", "Oliver", "James", "Benjamin", "Carter", "Owen", "Dylan", "Kevin", "José", "Jürgen",
            "Theodore", "Cienna", "Alivia", "Brayden", "Sebastian", "Connar", "Colm", "Tucker")
_LAST = ("Frye", "Summers", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lynch",
         "Koch", "Cruz", "Ramos", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
         "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark",
         "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
         "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Muñoz",
         "Sørensen", "O'Brien", "Dubois", "Schäfer", "Kowalski", "Ødegaard", "Silva")
_BAND_NOUNS = ("Wolves", "Kings", "Strangers", "Machines", "Rebels", "Saints", "Ghosts", "Lovers", "Tigers",
               "Pilots", "Shadows", "Dreamers", "Brothers", "Sisters", "Angels", "Outlaws", "Rockets", "Monkeys",
               "Drifters", "Hearts", "Crows", "Knights", "Horses", "Giants", "Stars", "Bandits", "Orchestra",
               "Quartet", "Collective", "Experience", "Project", "Sound System", "Band", "Trio")
_BAND_ADJ = ("Black", "White", "Electric", "Silver", "Golden", "Crazy", "Wild", "Lonely", "Midnight", "Velvet",
             "Broken", "Flying", "Burning", "Sonic", "Atomic", "Holy", "Little", "Big", "Red", "Blue")
_CITIES = (  # (artist_location, latitude, longitude) of song files
    ("New York, NY", 40.71455, -74.00712), ("Los Angeles, CA", 34.05349, -118.24532),
    ("London, England", 51.50632, -0.12714), ("Chicago, IL", 41.88415, -87.63241),
    ("Memphis, TN", 35.14968, -90.04892), ("San Francisco, CA", 37.77916, -122.42005),
    ("Nashville, TN", 36.16778, -86.77836), ("Atlanta, GA", 33.74831, -84.39111),
    ("Seattle, WA", 47.60356, -122.32944), ("Detroit, MI", 42.33168, -83.04792),
    ("Austin, TX", 30.26759, -97.74299), ("Berlin, Germany", 52.51607, 13.37698),
    ("Paris, France", 48.85693, 2.3412), ("Stockholm, Sweden", 59.33217, 18.06243),
    ("Toronto, Ontario, Canada", 43.64856, -79.38533), ("Montreal, Quebec, Canada", 45.51228, -73.55439),
    ("Kingston, Jamaica", 17.99702, -76.79358), ("Dublin, Ireland", 53.34376, -6.24953),
    ("Manchester, England", 53.47947, -2.24873), ("Glasgow, Scotland", 55.85729, -4.24232),
    ("Sydney, Australia", -33.86963, 151.20695), ("Reykjavík, Iceland", 64.13554, -21.89541),
    ("Rio de Janeiro, Brazil", -22.97673, -43.19508), ("Mexico City, Mexico", 19.43196, -99.13315),
    ("New Orleans, LA", 29.95369, -90.07771), ("Philadelphia, PA", 39.95227, -75.16237),
    ("Boston, MA", 42.31256, -71.08868), ("Houston, TX", 29.76045, -95.36978),
    ("Brooklyn, NY", 40.65507, -73.94888), ("Minneapolis, MN", 44.97903, -93.26493),
    ("Tokyo, Japan", 35.68344, 139.73355), ("Oslo, Norway", 59.91228, 10.74998),
    ("Bristol, England", 51.45369, -2.59109), ("Athens, GA", 33.95987, -83.37592),
    ("Kansas City, MO", 39.10295, -94.58306), ("Birmingham, England", 52.47859, -1.90885),
)
_LOCATION_ONLY = ("California - LA", "Great Britain / UK", "Texas", "Nebraska", "England", "Germany",
                  "Brooklyn, NY / Boston, MA", "US", "Bay Area, CA", "Canada")
_USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA", "Phoenix-Mesa-Scottsdale, AZ", "New York-Newark-Jersey City, NY-NJ-PA",
    "Los Angeles-Long Beach-Anaheim, CA", "Chicago-Naperville-Elgin, IL-IN-WI", "Atlanta-Sandy Springs-Roswell, GA",
    "Dallas-Fort Worth-Arlington, TX", "Houston-The Woodlands-Sugar Land, TX", "Seattle-Tacoma-Bellevue, WA",
    "Miami-Fort Lauderdale-West Palm Beach, FL", "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD",
    "Washington-Arlington-Alexandria, DC-VA-MD-WV", "Detroit-Warren-Dearborn, MI", "Lansing-East Lansing, MI",
    "Minneapolis-St. Paul-Bloomington, MN-WI", "Tampa-St. Petersburg-Clearwater, FL", "St. Louis, MO-IL",
    "San Jose-Sunnyvale-Santa Clara, CA", "San Diego-Carlsbad, CA", "Sacramento--Roseville--Arden-Arcade, CA",
    "Portland-Vancouver-Hillsboro, OR-WA", "Portland-South Portland, ME", "Salt Lake City, UT", "Eugene, OR",
    "Nashville-Davidson--Murfreesboro--Franklin, TN", "New Orleans-Metairie, LA", "Indianapolis-Carmel-Anderson, IN",
    "Milwaukee-Waukesha-West Allis, WI", "Birmingham-Hoover, AL", "Raleigh, NC", "Richmond, VA", "Columbia, SC",
    "Winston-Salem, NC", "San Antonio-New Braunfels, TX", "Lubbock, TX", "Longview, TX", "Las Cruces, NM",
    "Red Bluff, CA", "Santa Rosa, CA", "Salinas, CA", "Yuba City, CA", "Oxnard-Thousand Oaks-Ventura, CA",
    "Elkhart-Goshen, IN", "Plymouth, IN", "Cedar Rapids, IA", "Waterloo-Cedar Falls, IA", "Klamath Falls, OR",
    "Janesville-Beloit, WI", "La Crosse-Onalaska, WI-MN", "Marinette, WI-MI", "London, KY", "Saginaw, MI",
    "Harrisburg-Carlisle, PA", "Youngstown-Warren-Boardman, OH-PA", "New Haven-Milford, CT",
    "Augusta-Richmond County, GA-SC", "Myrtle Beach-Conway-North Myrtle Beach, SC-NC", "Ogden-Clearfield, UT",
    "Pensacola-Ferry Pass-Brent, FL", "Parkersburg-Vienna, WV", "Lake Havasu City-Kingman, AZ", "Palestine, TX",
)
_USER_AGENTS = (  # written with literal quotes when they contain a comma, as in the bucket's logs
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) "
    "Version/7.0.6 Safari/537.78.2",
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu "
    "Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) "
    "Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062.103 Safari/537.36",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10) AppleWebKit/538.46 (KHTML, like Gecko) Version/8.0 Safari/538.46",
    "Mozilla/5.0 (X11; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_3) AppleWebKit/537.75.14 (KHTML, like Gecko) "
    "Version/7.0.3 Safari/537.75.14",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.7; rv:31.0) Gecko/20100101 Firefox/31.0",
)
_TRACK_MIDDLES = ("128F4", "128F9", "12903", "128F1", "128E0", "128EF", "128F4", "128F9", "12903")
_SONG_MIDDLES = ("12A8C", "12AB0", "12A6D", "12A58", "12AF7", "12AC4", "12A67", "12B0A")
_ARTIST_MIDDLES = ("1187B9", "1187FB", "1187B9", "1187FB", "12454B", "122989")


# --------------------------------------------------------------------------------------------------- catalog

class _Catalog:
    """Song i (0 <= i < size) and the songs outside the catalog, each a pure function of (seed, index).

    Durations are integer counts of 10 microseconds: even for catalog songs, odd for plays that must not
    match, so a play matches a catalog song exactly if and only if it was drawn from the catalog. Each
    derivation draws the fields a play needs first, so a play never computes ids or locations.
    """

    SHARED_ARTIST = 0.08      # share of songs whose artist also has other songs
    DISAGREE = 0.2            # share of those whose file describes the artist differently (location or name)
    NUMERIC = 0.002           # artist_name / artist_location written as a JSON number, like 4 real files

    def __init__(self, seed: int, size: int):
        self.seed, self.size = seed, size
        codec_rng = random.Random(_key(seed, _K_CODEC, 0))
        self._track = _Codec(codec_rng, 26**4 * 16**6)
        self._song = _Codec(codec_rng, 26**5 * 16**6)
        self._artist = _Codec(codec_rng, 36**5 * 16**5)
        self._rng_song = random.Random()
        self._rng_artist = random.Random()
        self._rng_outside = random.Random()
        self.artist_name = lru_cache(maxsize=16384)(self._artist_name)
        self.play = lru_cache(maxsize=32768)(self._catalog_play)
        self.outside_play = lru_cache(maxsize=65536)(self._outside_play)

    # artists -----------------------------------------------------------------------------------------------
    def _artist_stream(self, j: int) -> tuple[random.Random, str | int]:
        rng = self._rng_artist
        rng.seed(_key(self.seed, _K_ARTIST, j))
        name = _artist_name(rng)
        if rng.random() < self.NUMERIC:
            name = rng.choice((112, 2562, 311, 808, 702, 1349))
        return rng, name

    def _artist_name(self, j: int) -> str | int:
        return self._artist_stream(j)[1]

    def artist(self, j: int) -> tuple:
        """(artist_id, name: str|int, location: str|int, latitude, longitude) of artist j."""
        rng, name = self._artist_stream(j)
        lat = lon = None
        r = rng.random()
        if r < 0.45:
            location = ""
        elif r < 0.55:
            location = rng.choice(_LOCATION_ONLY)
        else:
            location, lat, lon = rng.choice(_CITIES)
            if rng.random() < 0.3:
                lat = lon = None
        if rng.random() < self.NUMERIC:
            location = rng.choice((27, 108, 1, 90))
        p = self._artist(j)
        artist_id = "AR" + _digits(p >> 20, _ALNUM, 5) + rng.choice(_ARTIST_MIDDLES) + f"{p & 0xFFFFF:05X}"
        return artist_id, name, location, lat, lon

    # catalog songs -----------------------------------------------------------------------------------------
    def _song_fields(self, i: int, full: bool) -> tuple:
        """(artist name, title, duration units) of catalog song i; with full, also
        (track_id, song_id, (artist_id, name, location, latitude, longitude), year)."""
        if not 0 <= i < self.size:
            raise SampleError(f"catalog song index {i} out of range 0..{self.size - 1}")
        rng = self._rng_song
        rng.seed(_key(self.seed, _K_SONG, i))
        shared = self.size > 1 and rng.random() < self.SHARED_ARTIST
        j = rng.randrange(self.size) if shared else i
        name = self.artist_name(j)
        other_place = None
        if shared and rng.random() < self.DISAGREE:   # this file describes the same artist differently
            if rng.random() < 0.6 or isinstance(name, int):
                other_place = rng.choice(_CITIES) if rng.random() < 0.7 else ("", None, None)
            else:
                name = name[4:] if name.startswith("The ") else "The " + name
        title = _title(rng)
        units = _duration_units(rng, parity=0)
        if not full:
            return name, title, units
        year = 0 if rng.random() < 0.3 else min(2010, 2011 - int(rng.expovariate(1 / 9)))
        t = self._track(i)
        track_id = "TRA" + _digits(t >> 24, _LETTERS, 4) + rng.choice(_TRACK_MIDDLES) + f"{t & 0xFFFFFF:06X}"
        s = self._song(i)
        song_id = "SO" + _digits(s >> 24, _LETTERS, 5) + rng.choice(_SONG_MIDDLES) + f"{s & 0xFFFFFF:06X}"
        artist_id, _, location, lat, lon = self.artist(j)
        if other_place is not None:
            location, lat, lon = other_place
        return name, title, units, track_id, song_id, (artist_id, name, location, lat, lon), year

    def song_file(self, i: int) -> tuple[str, str]:
        """(track_id, the song file's exact text) of catalog song i."""
        _, title, units, track_id, song_id, (artist_id, name, location, lat, lon), year = self._song_fields(i, True)
        text = (f'{{"artist_id":"{artist_id}","artist_latitude":{_num(lat)},"artist_location":{_val(location)},'
                f'"artist_longitude":{_num(lon)},"artist_name":{_val(name)},"duration":{units / 100000!r},'
                f'"num_songs":1,"song_id":"{song_id}","title":{_js(title)},"year":{year}}}')
        return track_id, text

    def _catalog_play(self, i: int) -> tuple[str, str, str, float] | None:
        """(artist, song, length) JSON fragments and the length of a play of catalog song i;
        None if its artist_name is a number."""
        name, title, units = self._song_fields(i, False)
        if isinstance(name, int):
            return None
        return _js(name), _js(title), repr(units / 100000), units / 100000

    def near_miss(self, i: int, rng: random.Random) -> tuple[str, str, str, float]:
        """A play with catalog song i's title and artist but another length (so it does not match)."""
        name, title, units = self._song_fields(i, False)
        length = (units + 2 * rng.randrange(1, 3000) + 1) / 100000
        return _js(str(name)), _js(title), repr(length), length

    # songs outside the catalog -----------------------------------------------------------------------------
    def _outside_play(self, k: int) -> tuple[str, str, str, float]:
        rng = self._rng_outside
        rng.seed(_key(self.seed, _K_OUTSIDE, k))
        if self.size and rng.random() < 0.3:   # another song by a catalog artist
            j = int(self.size * rng.random())
        else:                                   # an artist outside the catalog
            j = self.size + (k if rng.random() < 0.8 else int((k + 1) * rng.random()))
        name = self.artist_name(j)
        length = _duration_units(rng, parity=1) / 100000
        return _js(str(name)), _js(_title(rng)), repr(length), length


def _val(v: str | int) -> str:
    return str(v) if isinstance(v, int) else _js(v)


def _num(v: float | None) -> str:
    return "null" if v is None else repr(v)


_TITLE_PARTS = tuple(tuple(form.split("{w}")) for form in _TITLE_FORMS)


def _title(rng: random.Random) -> str:
    parts = _TITLE_PARTS[int(len(_TITLE_PARTS) * rng.random())]
    words = _WORDS
    n_words = len(words)
    out = [parts[0]]
    for part in parts[1:]:
        out.append(words[int(n_words * rng.random())])
        out.append(part)
    title = "".join(out)
    return title.replace("{n}", str(1 + int(9 * rng.random()))) if "{n}" in title else title


def _artist_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return f"{rng.choice(_FIRST_F + _FIRST_M)} {rng.choice(_LAST)}"
    if r < 0.6:
        return f"The {rng.choice(_BAND_ADJ)} {rng.choice(_BAND_NOUNS)}"
    if r < 0.75:
        return f"{rng.choice(_BAND_ADJ)} {rng.choice(_WORDS)}"
    if r < 0.85:
        return rng.choice(_WORDS) + rng.choice(("", "s", " X", " 77", "ville"))
    if r < 0.92:
        return (f"{rng.choice(_LAST)} {rng.choice(('feat.', '/', '&', 'vs.'))} "
                f"{rng.choice(_FIRST_F + _FIRST_M)} {rng.choice(_LAST)}")
    return f"{rng.choice(_WORDS)} {rng.choice(_BAND_NOUNS)}"


def _duration_units(rng: random.Random, parity: int) -> int:
    """A song length in units of 10 microseconds (5 decimals of a second), 10 s .. 25 min, of the given parity."""
    seconds = min(1500.0, max(10.0, rng.lognormvariate(5.43, 0.38)))
    units = int(seconds * 100000)
    return units - (units % 2) + parity


# --------------------------------------------------------------------------------------------------- logs

_PAGE_HTTP = {"NextSong": ("PUT", 200), "Home": ("GET", 200), "Logout": ("PUT", 307), "Login": ("PUT", 307),
              "Settings": ("GET", 200), "Save Settings": ("PUT", 307), "Help": ("GET", 200), "About": ("GET", 200),
              "Upgrade": ("GET", 200), "Submit Upgrade": ("PUT", 307), "Downgrade": ("GET", 200),
              "Submit Downgrade": ("PUT", 307), "Error": ("GET", 404)}
_PAGE_FRAGMENT = {p: (f',"method":"{m}","page":{_js(p)}', str(s)) for p, (m, s) in _PAGE_HTTP.items()}
_REDIRECTS = frozenset(("Logout", "Login", "Save Settings", "Submit Upgrade", "Submit Downgrade"))  # 1 s after


def _page_table(level: str) -> tuple[list[float], list[str]]:
    weights = {"NextSong": 880, "Home": 42, "Logout": 12, "Settings": 7, "Help": 5, "About": 3, "Error": 1.3}
    if level == "free":
        weights["Upgrade"] = 9
    else:
        weights["Downgrade"] = 10
    total = sum(weights.values())
    cum, acc = [], 0.0
    for w in weights.values():
        acc += w / total
        cum.append(acc)
    cum[-1] = 1.0
    return cum, list(weights)


_PAGES_LOGGED_IN = {"free": _page_table("free"), "paid": _page_table("paid")}
_NO_PLAY = ("null", "null", "null")
_LOGGED_OUT_USER = (',"firstName":null,"gender":null', ',"lastName":null', ',"location":null',
                    ',"registration":null', ',"userAgent":null,"userId":""}')


class _LogGenerator:
    """Plans sessions, renders their lines and writes them, merged into ts order, to one file per day."""

    P_MATCH = 0.2          # NextSong plays of a catalog song (exact match)
    P_NEAR_MISS = 0.01     # catalog title and artist, another length
    P_LOGGED_OUT_START = 0.035
    P_HOME_START = 0.36
    MS = 796               # the bucket's ts values all end in 796 ms

    def __init__(self, params: dict, catalog: _Catalog):
        self.p = params
        self.catalog = catalog
        self.seed = params["seed"]
        self.n_users = params["users"]
        self.rng = random.Random(_key(self.seed, _K_LOG, 0))
        start = params["start"]
        self.t_start = int(datetime.fromisoformat(start).replace(tzinfo=timezone.utc).timestamp())
        self.t_end = self.t_start + params["days"] * 86400   # exclusive
        self.busy = [0] * self.n_users                       # per user: no session may start before this (s)
        self.level = bytearray(b"\xff") * self.n_users       # per user: 0 free, 1 paid, 255 not yet seen
        self.seen = bytearray(self.n_users)
        self.user = lru_cache(maxsize=16384)(self._user)
        self.outside_size = max(2000, params["events"] // 8)  # songs outside the catalog that get played
        self._rng_user = random.Random()
        self.progress_note: Callable[[], str] | None = None  # extra text for the progress line

    # users -------------------------------------------------------------------------------------------------
    def _user(self, k: int) -> tuple:
        """(initial level, the five logged-in JSON fragments) of user k (userId str(k + 1))."""
        rng = self._rng_user
        rng.seed(_key(self.seed, _K_USER, k))
        gender = "F" if rng.random() < 0.5 else "M"
        first = rng.choice(_FIRST_F if gender == "F" else _FIRST_M)
        last = rng.choice(_LAST)
        location = rng.choice(_USER_LOCATIONS)
        agent = rng.choice(_USER_AGENTS)
        if "," in agent:
            agent = f'"{agent}"'
        registration = float((self.t_start - rng.randrange(86400, 86400 * 120)) * 1000 + self.MS)
        level = 1 if rng.random() < (0.75 if k < self.n_users // 5 else 0.4) else 0  # heavy users pay more often
        return level, (f',"firstName":{_js(first)},"gender":"{gender}"', f',"lastName":{_js(last)}',
                       f',"location":{_js(location)}', f',"registration":{registration!r}',
                       f',"userAgent":{_js(agent)},"userId":"{k + 1}"}}')

    def _pick_user(self) -> int:
        """A user for the next session. Skewed activity: low user numbers listen more (P(user 0) ~ users**-2/3)."""
        return int(self.n_users * self.rng.random() ** 1.5)

    # one session -------------------------------------------------------------------------------------------
    def _plan(self, n: int, level: int) -> list[tuple]:
        """Plan a session of up to n events: [(offset_s, page, logged_in, level, play, matches_catalog)]."""
        rng = self.rng
        rnd = rng.random
        events = []
        t = 0
        r = rnd()
        logged_in = True
        logged_out_only = False
        if r < self.P_LOGGED_OUT_START:
            logged_in = False
            logged_out_only = rnd() < 0.3
            if logged_out_only:  # a visitor who never logs in: a few pages only
                n = min(n, rng.randint(1, 4))
            forced = "Home"
        elif r < self.P_LOGGED_OUT_START + self.P_HOME_START:
            forced = "Home"
        else:
            forced = "NextSong"
        gap = 0
        lv = "paid" if level else "free"
        cum, pages = _PAGES_LOGGED_IN[lv]
        p_next = cum[0]
        pick_play = self._pick_play
        append = events.append
        for idx in range(n):
            if forced is not None:
                page, forced = forced, None
            elif not logged_in:
                x = rnd()
                if not logged_out_only and x < 0.55:
                    page = "Login"
                else:
                    page = "Home" if x < 0.85 else ("About" if x < 0.94 else "Help")
            else:
                x = rnd()
                page = "NextSong" if x < p_next else pages[bisect.bisect_right(cum, x)]
            if page == "NextSong":  # the fast path: most events
                t += gap
                play, is_match = pick_play()
                length = play[3]
                gap = int(length) + int(3 * rnd()) if rnd() < 0.92 else 1 + int((length - 1) * rnd())
                append((t, page, logged_in, lv, play, is_match))
                continue
            if idx:
                t += 1 if page in _REDIRECTS else gap
            gap = 2 + int(58 * rnd()) if rnd() < 0.5 else 60 + int(340 * rnd())
            append((t, page, logged_in, lv, None, 0))
            # what this page leads to
            if page == "Upgrade" and rnd() < 0.35:
                forced = "Submit Upgrade"
            elif page == "Submit Upgrade":
                lv, forced = "paid", "Home"
            elif page == "Downgrade" and rnd() < 0.03:
                forced = "Submit Downgrade"
            elif page == "Submit Downgrade":
                lv, forced = "free", "Home"
            elif page == "Settings" and rnd() < 0.2:
                forced = "Save Settings"
            elif page == "Logout":
                logged_in, forced = False, "Home"
            elif page == "Login":
                logged_in = True
                if rnd() < 0.7:
                    forced = "Home"
            if page.startswith("Submit"):
                cum, pages = _PAGES_LOGGED_IN[lv]
                p_next = cum[0]
        return events

    def _pick_play(self) -> tuple[tuple[str, str, str, float], int]:
        rng = self.rng
        r = rng.random()
        size = self.catalog.size
        if size and r < self.P_MATCH:
            k = int(size * rng.random() ** 2)         # popular songs are played more often
            for probe in range(4):
                play = self.catalog.play((k + probe) % size)
                if play is not None:
                    return play, 1
        elif size and r < self.P_MATCH + self.P_NEAR_MISS:
            return self.catalog.near_miss(int(size * rng.random()), rng), 0
        return self.catalog.outside_play(int(self.outside_size * rng.random() ** 2)), 0

    def _schedule(self, n: int, day_start: int, draw: int) -> tuple[int, int, list]:
        """Pick a user and plan a session of up to n events starting on the draw's day: (user, start, events).

        A user never has two sessions at once (so (userId, ts) stays unique), and a session never starts
        before `draw` (events before it are already written) nor after its day. A session that would
        outlast the range is cut at its end, like a month's export; the caller gives the events it did
        not get to another session.
        """
        last_ok = self.t_end - 1
        latest_start = min(day_start + 86399, last_ok)
        busy = self.busy
        for _ in range(12):
            u = self._pick_user()
            if max(draw, busy[u]) <= latest_start:
                break
        else:  # the users drawn are all busy for the rest of the day: the first free one
            offset = self.rng.randrange(self.n_users)
            for step in range(self.n_users):
                u = (offset + step) % self.n_users
                if max(draw, busy[u]) <= latest_start:
                    break
            else:
                raise SampleError(f"cannot fit {self.p['events']} events into {self.p['days']} days with "
                                  f"{self.n_users} users: pass more users or more days")
        start = max(draw, busy[u])
        events = self._plan(n, self._level(u))
        if start + events[-1][0] > last_ok:
            events = [e for e in events if start + e[0] <= last_ok]
        return u, start, events

    def _level(self, u: int) -> int:
        if self.level[u] == 255:
            self.level[u] = self.user(u)[0]
        return self.level[u]

    # the whole log ---------------------------------------------------------------------------------------
    def day_quotas(self) -> list[int]:
        """Events per day (sessions starting that day): rising through the range, a little noise, exact total."""
        days, total = self.p["days"], self.p["events"]
        rng = random.Random(_key(self.seed, _K_LOG, 1))
        start = date.fromisoformat(self.p["start"])
        weights = []
        for d in range(days):
            weekend = (start + timedelta(days=d)).weekday() >= 5
            weights.append((0.5 + d / days) * (0.75 + 0.5 * rng.random()) * (0.85 if weekend else 1.0))
        scale = total / sum(weights)
        exact = [w * scale for w in weights]
        quotas = [int(x) for x in exact]
        order = sorted(range(days), key=lambda d: (quotas[d] - exact[d], d))
        for d in order[: total - sum(quotas)]:
            quotas[d] += 1
        return quotas

    def write(self, log_root: Path) -> dict:
        """Write all day files; return the counts for the summary.

        Sessions are scheduled in order of their drawn start time and merged by (ts, session) through a heap,
        so events come out in global ts order and only the sessions still running are held in memory.
        """
        log_root.mkdir()
        out = _DayFiles(log_root, date.fromisoformat(self.p["start"]), self.t_start)
        try:
            counts = self._write(out)
        finally:
            out.close()
        return {**counts, "log_files": out.files}

    def _write(self, out: _DayFiles) -> dict:
        quotas = self.day_quotas()
        total = self.p["events"]
        rng = self.rng
        heap: list = []
        done = n_next = n_matched = 0
        session_id = 0
        next_report = time.monotonic() + PROGRESS_SECONDS
        for d, quota in enumerate(quotas):
            day_start = self.t_start + d * 86400
            sizes = []
            while quota > 0:
                n = min(quota, 1 + min(249, int(rng.lognormvariate(1.55, 1.05))))
                sizes.append(n)
                quota -= n
            span = 86400 if d < len(quotas) - 1 else 86400 - 7200  # the range's last sessions need room
            draws = sorted(day_start + rng.randrange(span) for _ in sizes)
            for n, draw in zip(sizes, draws):
                _drain(heap, draw * 1000, out)
                while n > 0:  # a session may come out shorter than asked; the rest becomes another session
                    u, start, events = self._schedule(n, day_start, draw)
                    session_id += 1
                    n -= len(events)
                    done += len(events)
                    self.level[u] = _level_after(events[-1])
                    if not self.seen[u] and any(e[2] for e in events):  # logged in at least once
                        self.seen[u] = 1
                    self.busy[u] = start + events[-1][0] + rng.randrange(300, 7200)
                    lines, plays, matched = self._render(events, self.user(u)[1], session_id, start)
                    n_next += plays
                    n_matched += matched
                    heapq.heappush(heap, (lines[0][0], session_id, 0, lines))
                if time.monotonic() >= next_report:
                    note = f"; {self.progress_note()}" if self.progress_note else ""
                    log.info("log events: %d / %d (%.0f%%)%s", done, total, 100.0 * done / max(1, total), note)
                    next_report = time.monotonic() + PROGRESS_SECONDS
        _drain(heap, None, out)
        return {"events": done, "next_song_events": n_next, "users": sum(self.seen), "matched_plays": n_matched}

    def _render(self, events: list, user_fragments: tuple, session_id: int,
                start: int) -> tuple[list[tuple[int, str]], int, int]:
        """The session's [(ts, line)] in order, its NextSong count and how many of those match the catalog."""
        ms = self.MS
        sid = str(session_id)
        out = []
        plays = matched = 0
        for item, (offset, page, logged_in, lv, play, is_match) in enumerate(events):
            if play is not None:
                plays += 1
                matched += is_match
            f1, f2, f3, f4, f5 = user_fragments if logged_in else _LOGGED_OUT_USER
            pm, status = _PAGE_FRAGMENT[page]
            artist, song, length = play[:3] if play is not None else _NO_PLAY
            ts = (start + offset) * 1000 + ms
            out.append((ts, (
                f'{{"artist":{artist},"auth":"{"Logged In" if logged_in else "Logged Out"}"{f1},'
                f'"itemInSession":{item}{f2},"length":{length},"level":"{lv}"{f3}{pm}{f4},"sessionId":{sid},'
                f'"song":{song},"status":{status},"ts":{ts}{f5}')))
        return out, plays, matched


def _level_after(event: tuple) -> int:
    """The user's level (0 free, 1 paid) after this event: a Submit page changes it for later events."""
    page, level = event[1], event[3]
    if page == "Submit Upgrade":
        return 1
    if page == "Submit Downgrade":
        return 0
    return 1 if level == "paid" else 0


def _drain(heap: list, before_ms: int | None, out: _DayFiles) -> None:
    """Write, in (ts, session) order, every pending event earlier than `before_ms` (all if None)."""
    write = out.write
    while heap and (before_ms is None or heap[0][0] < before_ms):
        ts, sid, idx, lines = heap[0]
        write(ts, lines[idx][1])
        idx += 1
        if idx < len(lines):
            heapq.heapreplace(heap, (lines[idx][0], sid, idx, lines))
        else:
            heapq.heappop(heap)


class _DayFiles:
    """Appends lines, in ts order, to log_data/YYYY/MM/YYYY-MM-DD-events.json (a newline between lines,
    none at the end)."""

    def __init__(self, root: Path, first_day: date, t_start: int):
        self.root, self.first_day, self.t_start = root, first_day, t_start
        self.day = -1
        self.day_end_ms = -1
        self.fh = None
        self.files = 0

    def write(self, ts: int, line: str) -> None:
        if ts >= self.day_end_ms:
            self._open((ts // 1000 - self.t_start) // 86400)
            self.fh.write(line)
        else:
            self.fh.write("\n" + line)

    def _open(self, d: int) -> None:
        self.close()
        day = self.first_day + timedelta(days=d)
        folder = self.root / f"{day:%Y}" / f"{day:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        self.fh = open(folder / f"{day:%Y-%m-%d}-events.json", "w", encoding="ascii", newline="",
                       buffering=1 << 20)
        self.files += 1
        self.day = d
        self.day_end_ms = (self.t_start + (d + 1) * 86400) * 1000

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
