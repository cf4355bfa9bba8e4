"""Coverage-guided fuzzing of the C converter against the Python reference (`make fuzz`).

    python tools/fuzz_native.py [--minutes 30] [--seed N]

Builds build/fuzz/_native.so (tools/build_native.py --fuzz: native.c with AddressSanitizer, UndefinedBehavior-
Sanitizer and gcc's -fsanitize-coverage=trace-pc, plus tools/fuzz_coverage.c, which records the edges of
native.c each input reaches), re-runs itself with the sanitizer runtime preloaded, and then, until time is up:
  - takes an input from the corpus (tests/copy/fuzz_corpus/ and a few built-in seeds), mutates it (bit
    flips, interesting bytes, JSON and UTF-8 tokens, numbers at type bounds, long strings, deletions,
    duplications, splices with another input);
  - runs it through the C converter and the Python reference under every option set
    (tests/helpers/native_diff.py) and compares rows, rejections and line counts;
  - keeps it if it reached an edge (or an edge's hit-count bucket) no earlier input reached.
A divergence is minimized (bytes removed while the two paths still disagree) and saved as
tests/copy/fuzz_corpus/found-<hash>.json; fix native.c (the Python path is the reference). A sanitizer
report ends the process; the input that caused it is in build/fuzz/current.json.

At the end the corpus is reduced to a small set of inputs that together reach every edge reached, written
to tests/copy/fuzz_corpus/ (replayed by tests/copy/test_copy_fuzz.py under the normal and sanitizer builds).
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import mmap
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.build_native import FUZZ_LIBRARY, NoCompiler, build, find_compiler
from tools.sanitize_tests import sanitizer_runtime

CORPUS = ROOT / "tests" / "copy" / "fuzz_corpus"
WORK = ROOT / "build" / "fuzz"
MAX_INPUT = 8 * 1024  # bytes (a long string may make a mutant longer, up to LONG_MAX)
LONG_MAX = 80_000

SEEDS = [
    b'{"s8":"abc","txt":"hello","i2":1,"i4":2,"i8":3,"f8":1.5,"ts":1541030419796,"b":true,"nn":7}\n',
    (b'{"s8":"Jos\\u00e9","txt":"\\ud83c\\udfb5 \\u2603","i2":-32768,"i4":2147483647,"i8":-9223372036854775808,'
     b'"f8":-0.0,"ts":-62135596800000,"b":false,"nn":0}\n'),
    ('{"s8":"été","txt":"a\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti","i2":"39","i4":"","i8":null,"f8":1e5,"ts":253402300799999,'
     '"b":1,"nn":"7"}\n').encode(),
    b'  {  "nn" : 1 ,\t"zz":[1,{"x":2}], "s8" : "" , "txt":" ", "b":0}  \r\n{"nn":2}\n',
    b'{"s8":"12345678","nn":1}\n{"s8":"123456789","nn":1}\n{"s8":"\\u0002","nn":1}\n',
]
INTERESTING_BYTES = b'\x00\x01\x02\x08\x0b\x0c\x1f\x20\x22\x2b\x2d\x2e\x2f\x30\x31\x39\x3a\x45\x5b\x5c\x5d\x65' \
                    b'\x66\x6e\x74\x75\x7b\x7d\x7f\x80\xbf\xc0\xc1\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5\xff\x0a\x0d\x09'
TOKENS = [
    b"\\u0000", b"\\u0002", b"\\u001f", b"\\u007f", b"\\u0080", b"\\u07ff", b"\\u0800", b"\\uffff", b"\\ud800",
    b"\\udbff", b"\\udc00", b"\\udfff", b"\\ud800\\udc00", b"\\udbff\\udfff", b"\\ud83c\\udfb5", b"\\uD834\\uDD1E",
    b"\\u00e9", b"\\u20AC", b"\\", b"\\\\", b'\\"', b"\\/", b"\\b", b"\\f", b"\\n", b"\\r", b"\\t", b"\\u", b"\\x",
    b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x8e\xb5", b"\xf4\x8f\xbf\xbf", b"\xef\xbb\xbf", b"\xed\x9f\xbf",
    b"\xee\x80\x80", b"\xc0\x80", b"\xe0\x9f\xbf", b"\xed\xa0\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xff",
    b'"s8":', b'"txt":', b'"i2":', b'"i4":', b'"i8":', b'"f8":', b'"ts":', b'"b":', b'"nn":', b'"zz":', b'"S8":',
    b"true", b"false", b"null", b"tru", b"{}", b"[]", b'""', b'" "', b"{", b"}", b"[", b"]", b",", b":", b'"',
    b"0", b"-0", b"-", b"01", b"1.", b".5", b"1.5", b"e5", b"E-5", b"1e400", b"1e-400", b"32767", b"32768",
    b"-32768", b"-32769", b"2147483647", b"2147483648", b"-2147483649", b"9223372036854775807",
    b"9223372036854775808", b"-9223372036854775809", b"999999999999999999", b"1000000000000000000",
    b"253402300799999", b"253402300800000", b"-62135596800000", b"-62135596800001", b"1541030419796",
    b"\n", b"\r\n", b"\r", b" ", b"\t", b"\x0b", b"\x0c", b"\x02", b"\x00",
]
OPTION_SETS = ("plain", "etl", "acceptinvchars")


def _reexec_with_sanitizers() -> None:
    if os.environ.get("SPARKIFY_FUZZ_CHILD") == "1":
        return
    runtime = sanitizer_runtime(find_compiler())
    if runtime is None:
        sys.exit("fuzz_native.py: the compiler has no AddressSanitizer runtime (libasan)")
    env = {**os.environ, "SPARKIFY_FUZZ_CHILD": "1", "LD_PRELOAD": runtime,
           "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


class Coverage:
    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        self.reset = lib.sparkify_cov_reset
        self.new = lib.sparkify_cov_new
        self.total = lib.sparkify_cov_total
        self._edges = lib.sparkify_cov_edges
        self._edges.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._buf = (ctypes.c_int * (1 << 19))()

    def edges(self) -> frozenset[int]:
        n = self._edges(self._buf, len(self._buf))
        return frozenset(self._buf[:n])


class Fuzzer:
    def __init__(self, rng: random.Random, compare, cov: Coverage):
        self.rng = rng
        self.compare = compare
        self.cov = cov
        self.corpus: list[bytes] = []
        self.found: list[bytes] = []
        self.execs = 0
        fd = os.open(WORK / "current.json", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.ftruncate(fd, 4 + LONG_MAX + MAX_INPUT * 4)
        self.current = mmap.mmap(fd, 4 + LONG_MAX + MAX_INPUT * 4)
        os.close(fd)

    # ------------------------------------------------------------------ running one input
    def diverges(self, data: bytes, option_sets=OPTION_SETS) -> str | None:
        for options in option_sets:
            with_c, reference = self.compare(data, options)
            if with_c != reference:
                return options
        return None

    def run(self, data: bytes, option_sets=None) -> tuple[int, str | None]:
        """(new coverage, the option set under which C and Python disagree, if any); one option set drawn at
        random unless given (three times the executions per second)."""
        self.current[:4] = len(data).to_bytes(4, "little")
        self.current[4:4 + len(data)] = data
        self.cov.reset()
        diverged = self.diverges(data, option_sets or (self.rng.choice(OPTION_SETS),))
        self.execs += 1
        return self.cov.new(), diverged

    # ------------------------------------------------------------------ mutations
    def mutate(self, data: bytes) -> bytes:
        rng = self.rng
        buf = bytearray(data)
        for _ in range(1 << rng.randrange(4)):
            op = rng.randrange(10)
            n = len(buf)
            at = rng.randrange(n + 1)
            if op == 0 and n:
                buf[at % n] ^= 1 << rng.randrange(8)
            elif op == 1 and n:
                buf[at % n] = rng.choice(INTERESTING_BYTES)
            elif op in (2, 3):
                buf[at:at] = rng.choice(TOKENS)
            elif op == 4 and n:
                buf[at:at + rng.randrange(1, 16)] = b""
            elif op == 5 and n:
                start = rng.randrange(n)
                buf[at:at] = buf[start:start + rng.randrange(1, 32)]
            elif op == 6 and self.corpus:
                other = rng.choice(self.corpus)
                cut = rng.randrange(len(other) + 1)
                buf = buf[:at] + other[cut:cut + rng.randrange(1, 256)] + buf[at:]
            elif op == 7:  # a token replaces what is there
                token = rng.choice(TOKENS)
                buf[at:at + len(token)] = token
            elif op == 8:  # a string of a length around a limit
                char = rng.choice([b"x", "é".encode(), "€".encode(), "🎵".encode(), b"\\n", b" "])
                count = rng.choice([1, 2, 3, 4, 7, 8, 9, 255, 256, 257]) if rng.random() < 0.98 else \
                    rng.choice([4096, 65535, 65536])
                buf[at:at] = b'"' + char * count + b'"'
            elif op == 9 and n:  # a line break somewhere
                buf[at:at] = rng.choice([b"\n", b"\r\n", b"\n\n"])
        if len(buf) > MAX_INPUT and b'"' + b"x" * 4096 not in buf and rng.random() < 0.9:
            del buf[MAX_INPUT:]
        return bytes(buf[:LONG_MAX])

    # ------------------------------------------------------------------ divergences
    def minimize(self, data: bytes) -> bytes:
        """Remove chunks while C and Python still disagree (delta debugging)."""
        chunk = max(1, len(data) // 2)
        while chunk >= 1:
            i = 0
            while i < len(data):
                candidate = data[:i] + data[i + chunk:]
                if candidate and self.diverges(candidate):
                    data = candidate
                else:
                    i += chunk
            chunk //= 2
        return data

    def record_divergence(self, data: bytes, options: str) -> None:
        small = self.minimize(data)
        name = f"found-{hashlib.sha1(small).hexdigest()[:16]}.json"
        (CORPUS / name).write_bytes(small)
        with_c, reference = self.compare(small, options)
        print(f"\nDIVERGENCE ({options}) saved as {CORPUS / name}: {small!r}\n  C:      {with_c}\n"
              f"  Python: {reference}", flush=True)
        self.found.append(small)

    # ------------------------------------------------------------------ the loop
    def fuzz(self, seconds: float) -> None:
        started = last = time.monotonic()
        while time.monotonic() - started < seconds:
            parent = self.rng.choice(self.corpus)
            for _ in range(32):
                child = self.mutate(parent)
                new, diverged = self.run(child)
                if diverged:
                    self.record_divergence(child, diverged)
                elif new:
                    self.corpus.append(child)
            now = time.monotonic()
            if now - last >= 30:
                last = now
                print(f"{now - started:7.0f} s  {self.execs:9d} execs ({self.execs / (now - started):.0f}/s)  "
                      f"corpus {len(self.corpus)}  edges {self.cov.total()}  divergences {len(self.found)}",
                      flush=True)

    def edges(self, data: bytes) -> frozenset[int]:
        self.cov.reset()
        self.diverges(data)
        return self.cov.edges()

    def trim(self, data: bytes, keep: frozenset[int], budget: int = 300) -> bytes:
        """`data` with chunks removed while it still reaches every edge in `keep` (at most `budget` tries)."""
        chunk = max(1, len(data) // 2)
        while chunk >= 1 and budget > 0:
            i = 0
            while i < len(data) and budget > 0:
                candidate = data[:i] + data[i + chunk:]
                budget -= 1
                if candidate and keep <= self.edges(candidate):
                    data = candidate
                else:
                    i += chunk
            chunk //= 2
        return data

    def reduce(self) -> list[bytes]:
        """A small subset of the corpus reaching every edge the whole corpus reaches (greedy set cover;
        among equals, the shortest input), each input trimmed to what it needs for the edges it was kept for."""
        covers = {data: self.edges(data) for data in self.corpus}
        needed = set().union(*covers.values())
        kept = []
        while needed:
            best = max(covers, key=lambda d: (len(covers[d] & needed), -len(d)))
            gain = frozenset(covers[best] & needed)
            if not gain:
                break
            kept.append(self.trim(best, gain))
            needed -= gain
        return kept


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fuzz_native.py", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0,
                   help="how long to fuzz (default: %(default)s; 0: only reduce and trim the corpus)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    args = p.parse_args(argv)
    try:
        find_compiler()
    except NoCompiler as exc:
        print(f"fuzz_native.py: {exc}", file=sys.stderr)
        return 1
    if os.environ.get("SPARKIFY_FUZZ_CHILD") != "1":
        WORK.mkdir(parents=True, exist_ok=True)
        build("fuzz")
        _reexec_with_sanitizers()
    from sparkify.copy import native
    from tests.helpers.native_diff import compare

    native.use_library(FUZZ_LIBRARY)
    cov = Coverage(FUZZ_LIBRARY)
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"fuzz_native.py: seed {seed}, {args.minutes:g} minutes; a sanitizer report ends the run (input: "
          f"{WORK / 'current.json'})", flush=True)
    CORPUS.mkdir(parents=True, exist_ok=True)
    fuzzer = Fuzzer(random.Random(seed), compare, cov)
    initial = [p.read_bytes() for p in sorted(CORPUS.glob("*.json"))] + SEEDS
    for data in initial:
        _, diverged = fuzzer.run(data, OPTION_SETS)
        if diverged:
            fuzzer.record_divergence(data, diverged)
        fuzzer.corpus.append(data)
    print(f"initial corpus: {len(initial)} inputs, {cov.total()} edges", flush=True)
    try:
        if args.minutes > 0:
            fuzzer.fuzz(args.minutes * 60)
    except KeyboardInterrupt:
        print("interrupted: reducing the corpus", flush=True)
    kept = fuzzer.reduce()
    for old in CORPUS.glob("*.json"):
        if not old.name.startswith("found-"):
            old.unlink()
    for data in kept:
        (CORPUS / f"{hashlib.sha1(data).hexdigest()[:16]}.json").write_bytes(data)
    print(f"done: {fuzzer.execs} execs, {cov.total()} edges, {len(fuzzer.corpus)} inputs reduced to {len(kept)} "
          f"in {CORPUS}; {len(fuzzer.found)} divergences", flush=True)
    return 1 if fuzzer.found else 0


if __name__ == "__main__":
    raise SystemExit(main())
