"""Build the optional C converter, sparkify/copy/native.c, at install time (`make build` runs this).

    python tools/build_native.py              sparkify/copy/_native.so: the only file the toolkit loads
    python tools/build_native.py --sanitize   build/sanitize/_native.so: AddressSanitizer + UndefinedBehaviorSanitizer,
                                              for the differential tests (tools/sanitize_tests.py, `make sanitize`)
    python tools/build_native.py --fuzz       build/fuzz/_native.so: the sanitizers plus coverage callbacks
                                              (tools/fuzz_native.py, `make fuzz`)

The compiler is $CC when set (so `make build CC=/nonexistent` simulates a machine without one), else the
compiler this Python was built with, else cc, gcc or clang on PATH. Without a compiler, or when the compiler
fails, it says why and exits 0: the toolkit then converts in pure Python (same results, slower) and says so
in one INFO line. Only the standard library is used, so any Python 3 can run it before the venv exists.

The library carries the SHA-256 of the native.c it was built from (-DSPARKIFY_SOURCE_HASH); the loader
(sparkify/copy/native.py) refuses a library built from another version of the source, so a `git pull` that
changed native.c without a `make build` falls back to pure Python instead of calling a stale ABI.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "sparkify" / "copy" / "native.c"
LIBRARY = ROOT / "sparkify" / "copy" / "_native.so"  # as sparkify.copy.native.LIBRARY
SANITIZE_LIBRARY = ROOT / "build" / "sanitize" / "_native.so"
FUZZ_LIBRARY = ROOT / "build" / "fuzz" / "_native.so"
FUZZ_COVERAGE = ROOT / "tools" / "fuzz_coverage.c"

CFLAGS = ["-O2", "-std=c99", "-fPIC", "-shared", "-Wall", "-Wextra"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
SANITIZE_CFLAGS = ["-O1", "-g", "-std=c99", "-fPIC", "-shared", *SANITIZE]


class NoCompiler(Exception):
    """No usable C compiler: not an error, the toolkit runs in pure Python."""


def source_hash(source: Path = SOURCE) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


def find_compiler(environ=os.environ) -> list[str]:
    """The compiler command: $CC if set (and then only $CC), else sysconfig's CC, else cc/gcc/clang."""
    if os.name == "nt":
        raise NoCompiler("the C converter is not built on Windows")
    explicit = environ.get("CC", "").strip()
    candidates = [explicit] if explicit else [sysconfig.get_config_var("CC") or "", "cc", "gcc", "clang"]
    for cand in candidates:
        parts = shlex.split(cand)
        if parts and shutil.which(parts[0]):
            return parts
    if explicit:
        raise NoCompiler(f"CC={explicit} is not an executable")
    raise NoCompiler("no C compiler found (cc, gcc or clang; or set CC)")


def compile_library(target: Path, cflags: list[str], cc: list[str], extra_sources: tuple[Path, ...] = (),
                    extra_objects_cflags: list[str] | None = None) -> None:
    """Compile native.c into `target`, atomically (a concurrent build or load never sees a partial file), mode
    0755 whatever the umask (the loader refuses a group- or world-writable library)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    define = f'-DSPARKIFY_SOURCE_HASH="{source_hash()}"'
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as tmp:
        objects = []
        for extra in extra_sources:  # compiled without the coverage flags (the coverage callbacks themselves)
            obj = Path(tmp) / (extra.stem + ".o")
            _run([*cc, *(extra_objects_cflags or []), "-c", "-o", str(obj), str(extra)])
            objects.append(str(obj))
        out = Path(tmp) / target.name
        _run([*cc, *cflags, define, "-o", str(out), str(SOURCE), *objects])
        os.chmod(out, 0o755)
        os.replace(out, target)


def _run(cmd: list[str]) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except OSError as exc:
        raise NoCompiler(f"{cmd[0]} could not be run: {exc.strerror}") from None
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)


def build(mode: str = "release", environ=os.environ) -> Path:
    """Build one variant; raises NoCompiler or subprocess.CalledProcessError."""
    cc = find_compiler(environ)
    if mode == "release":
        compile_library(LIBRARY, CFLAGS, cc)
        return LIBRARY
    if mode == "sanitize":
        compile_library(SANITIZE_LIBRARY, SANITIZE_CFLAGS, cc)
        return SANITIZE_LIBRARY
    if mode == "fuzz":
        compile_library(FUZZ_LIBRARY, [*SANITIZE_CFLAGS, "-fsanitize-coverage=trace-pc"], cc,
                        extra_sources=(FUZZ_COVERAGE,), extra_objects_cflags=["-O2", "-std=c99", "-fPIC"])
        return FUZZ_LIBRARY
    raise ValueError(mode)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="build_native.py", description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sanitize", action="store_true", help="the ASan + UBSan build, into build/sanitize/")
    g.add_argument("--fuzz", action="store_true", help="the sanitizer + coverage build, into build/fuzz/")
    args = p.parse_args(argv)
    mode = "sanitize" if args.sanitize else "fuzz" if args.fuzz else "release"
    target = {"release": LIBRARY, "sanitize": SANITIZE_LIBRARY, "fuzz": FUZZ_LIBRARY}[mode]
    if mode == "release" and target.exists():
        target.unlink()  # never leave a library from an older source behind a failed build
    try:
        built = build(mode)
    except NoCompiler as exc:
        print(f"build_native.py: {exc}: the C converter is not built; the toolkit converts in pure Python "
              "(same results, slower)", file=sys.stderr)
        return 0
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip()
        print(f"build_native.py: WARNING: {shlex.join(exc.cmd)} failed (exit {exc.returncode}); the C converter is "
              f"not built and the toolkit converts in pure Python (same results, slower):\n{detail[-4000:]}",
              file=sys.stderr)
        return 0 if mode == "release" else 1
    print(f"build_native.py: built {built.relative_to(ROOT)} from {SOURCE.relative_to(ROOT)} "
          f"(sha256 {source_hash()[:12]}…)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
