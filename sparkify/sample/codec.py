"""The generator's reproducible randomness and id encoding: one random stream per (seed, kind, index), and
seeded bijections that turn indexes into distinct, random-looking ids."""

from __future__ import annotations

import json
import math
import random

from sparkify.sample.formats import SampleError

# Kinds of derived random streams: each (seed, kind, index) gets its own reproducible generator.
K_CODEC, K_SONG, K_ARTIST, K_OUTSIDE, K_USER, K_LOG = range(6)


def stream_seed(seed: int, kind: int, index: int) -> int:
    """An injective map (seed, kind, index) -> int, used as a random.Random seed."""
    return (seed << 72) | (kind << 64) | index


def js_string(value: str) -> str:
    """A JSON string literal written like the bucket's files: ASCII only, with '/' escaped as '\\/'."""
    return json.dumps(value).replace("/", "\\/")


def base_digits(x: int, alphabet: str, width: int) -> str:
    base = len(alphabet)
    out = []
    for _ in range(width):
        x, r = divmod(x, base)
        out.append(alphabet[r])
    return "".join(reversed(out))


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = "0123456789" + LETTERS


class Codec:
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
