"""The song catalog: each catalog song, artist and song played outside the catalog is a pure function of
(seed, index), so nothing is stored and a play can refer to a song by its index."""

from __future__ import annotations

import random
from functools import lru_cache

from sparkify.sample.codec import (
    ALNUM,
    K_ARTIST,
    K_CODEC,
    K_OUTSIDE,
    K_SONG,
    LETTERS,
    Codec,
    base_digits,
    js_string,
    stream_seed,
)
from sparkify.sample.formats import SampleError
from sparkify.sample.vocabulary import (
    ARTIST_MIDDLES,
    BAND_ADJECTIVES,
    BAND_NOUNS,
    CITIES,
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    LAST_NAMES,
    LOCATION_ONLY,
    SONG_MIDDLES,
    TITLE_FORMS,
    TRACK_MIDDLES,
    WORDS,
)


class Catalog:
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
        codec_rng = random.Random(stream_seed(seed, K_CODEC, 0))
        self._track = Codec(codec_rng, 26**4 * 16**6)
        self._song = Codec(codec_rng, 26**5 * 16**6)
        self._artist = Codec(codec_rng, 36**5 * 16**5)
        self._rng_song = random.Random()
        self._rng_artist = random.Random()
        self._rng_outside = random.Random()
        self.artist_name = lru_cache(maxsize=16384)(self._artist_name)
        self.play = lru_cache(maxsize=32768)(self._catalog_play)
        self.outside_play = lru_cache(maxsize=65536)(self._outside_play)

    # artists -----------------------------------------------------------------------------------------------
    def _artist_stream(self, j: int) -> tuple[random.Random, str | int]:
        rng = self._rng_artist
        rng.seed(stream_seed(self.seed, K_ARTIST, j))
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
            location = rng.choice(LOCATION_ONLY)
        else:
            location, lat, lon = rng.choice(CITIES)
            if rng.random() < 0.3:
                lat = lon = None
        if rng.random() < self.NUMERIC:
            location = rng.choice((27, 108, 1, 90))
        p = self._artist(j)
        artist_id = "AR" + base_digits(p >> 20, ALNUM, 5) + rng.choice(ARTIST_MIDDLES) + f"{p & 0xFFFFF:05X}"
        return artist_id, name, location, lat, lon

    # catalog songs -----------------------------------------------------------------------------------------
    def _song_fields(self, i: int, full: bool) -> tuple:
        """(artist name, title, duration units) of catalog song i; with full, also
        (track_id, song_id, (artist_id, name, location, latitude, longitude), year)."""
        if not 0 <= i < self.size:
            raise SampleError(f"catalog song index {i} out of range 0..{self.size - 1}")
        rng = self._rng_song
        rng.seed(stream_seed(self.seed, K_SONG, i))
        shared = self.size > 1 and rng.random() < self.SHARED_ARTIST
        j = rng.randrange(self.size) if shared else i
        name = self.artist_name(j)
        other_place = None
        if shared and rng.random() < self.DISAGREE:   # this file describes the same artist differently
            if rng.random() < 0.6 or isinstance(name, int):
                other_place = rng.choice(CITIES) if rng.random() < 0.7 else ("", None, None)
            else:
                name = name[4:] if name.startswith("The ") else "The " + name
        title = _title(rng)
        units = _duration_units(rng, parity=0)
        if not full:
            return name, title, units
        year = 0 if rng.random() < 0.3 else min(2010, 2011 - int(rng.expovariate(1 / 9)))
        t = self._track(i)
        track_id = "TRA" + base_digits(t >> 24, LETTERS, 4) + rng.choice(TRACK_MIDDLES) + f"{t & 0xFFFFFF:06X}"
        s = self._song(i)
        song_id = "SO" + base_digits(s >> 24, LETTERS, 5) + rng.choice(SONG_MIDDLES) + f"{s & 0xFFFFFF:06X}"
        artist_id, _, location, lat, lon = self.artist(j)
        if other_place is not None:
            location, lat, lon = other_place
        return name, title, units, track_id, song_id, (artist_id, name, location, lat, lon), year

    def song_file(self, i: int) -> tuple[str, str]:
        """(track_id, the song file's exact text) of catalog song i."""
        _, title, units, track_id, song_id, (artist_id, name, location, lat, lon), year = self._song_fields(i, True)
        text = (f'{{"artist_id":"{artist_id}","artist_latitude":{_num(lat)},"artist_location":{_val(location)},'
                f'"artist_longitude":{_num(lon)},"artist_name":{_val(name)},"duration":{units / 100000!r},'
                f'"num_songs":1,"song_id":"{song_id}","title":{js_string(title)},"year":{year}}}')
        return track_id, text

    def _catalog_play(self, i: int) -> tuple[str, str, str, float] | None:
        """(artist, song, length) JSON fragments and the length of a play of catalog song i;
        None if its artist_name is a number."""
        name, title, units = self._song_fields(i, False)
        if isinstance(name, int):
            return None
        return js_string(name), js_string(title), repr(units / 100000), units / 100000

    def near_miss(self, i: int, rng: random.Random) -> tuple[str, str, str, float]:
        """A play with catalog song i's title and artist but another length (so it does not match)."""
        name, title, units = self._song_fields(i, False)
        length = (units + 2 * rng.randrange(1, 3000) + 1) / 100000
        return js_string(str(name)), js_string(title), repr(length), length

    # songs outside the catalog -----------------------------------------------------------------------------
    def _outside_play(self, k: int) -> tuple[str, str, str, float]:
        rng = self._rng_outside
        rng.seed(stream_seed(self.seed, K_OUTSIDE, k))
        if self.size and rng.random() < 0.3:   # another song by a catalog artist
            j = int(self.size * rng.random())
        else:                                   # an artist outside the catalog
            j = self.size + (k if rng.random() < 0.8 else int((k + 1) * rng.random()))
        name = self.artist_name(j)
        length = _duration_units(rng, parity=1) / 100000
        return js_string(str(name)), js_string(_title(rng)), repr(length), length


def _val(v: str | int) -> str:
    return str(v) if isinstance(v, int) else js_string(v)


def _num(v: float | None) -> str:
    return "null" if v is None else repr(v)


_TITLE_PARTS = tuple(tuple(form.split("{w}")) for form in TITLE_FORMS)


def _title(rng: random.Random) -> str:
    parts = _TITLE_PARTS[int(len(_TITLE_PARTS) * rng.random())]
    words = WORDS
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
        return f"{rng.choice(FIRST_NAMES_F + FIRST_NAMES_M)} {rng.choice(LAST_NAMES)}"
    if r < 0.6:
        return f"The {rng.choice(BAND_ADJECTIVES)} {rng.choice(BAND_NOUNS)}"
    if r < 0.75:
        return f"{rng.choice(BAND_ADJECTIVES)} {rng.choice(WORDS)}"
    if r < 0.85:
        return rng.choice(WORDS) + rng.choice(("", "s", " X", " 77", "ville"))
    if r < 0.92:
        return (f"{rng.choice(LAST_NAMES)} {rng.choice(('feat.', '/', '&', 'vs.'))} "
                f"{rng.choice(FIRST_NAMES_F + FIRST_NAMES_M)} {rng.choice(LAST_NAMES)}")
    return f"{rng.choice(WORDS)} {rng.choice(BAND_NOUNS)}"


def _duration_units(rng: random.Random, parity: int) -> int:
    """A song length in units of 10 microseconds (5 decimals of a second), 10 s .. 25 min, of the given parity."""
    seconds = min(1500.0, max(10.0, rng.lognormvariate(5.43, 0.38)))
    units = int(seconds * 100000)
    return units - (units % 2) + parity
