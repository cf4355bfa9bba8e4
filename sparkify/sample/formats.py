"""What a sample is: the bucket's formats (keys, the JSONPaths file), the summary, and the generator's error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sparkify.errors import SparkifyError

GENERATOR_VERSION = 1  # bump when the output for the same parameters changes (invalidates cached samples)
SAMPLE_FILE = "SAMPLE.json"
PROGRESS_SECONDS = 5.0

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
