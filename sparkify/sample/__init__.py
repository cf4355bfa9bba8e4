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

The parts: `formats` (what a sample is), `codec` (seeded streams and ids), `vocabulary`, `catalog` (songs and
artists), `events` (sessions and their log lines), `logfiles` (one file per day), `writer` (a sample's files),
`store` (samples on disk: generate, reuse, replace).
"""

from __future__ import annotations

from sparkify.sample.formats import (
                                     GENERATOR_VERSION,
                                     LOG_JSON_PATH_TEXT,
                                     LOG_KEYS,
                                     SAMPLE_FILE,
                                     SONG_KEYS,
                                     SampleError,
                                     SampleSummary,
)
from sparkify.sample.store import default_users, ensure_default_sample, ensure_sample, generate, read_sample

__all__ = ["GENERATOR_VERSION", "LOG_JSON_PATH_TEXT", "LOG_KEYS", "SAMPLE_FILE", "SONG_KEYS", "SampleError",
           "SampleSummary", "default_users", "ensure_default_sample", "ensure_sample", "generate", "read_sample"]
