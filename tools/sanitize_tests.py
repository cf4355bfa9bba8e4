"""The differential tests against the AddressSanitizer + UndefinedBehaviorSanitizer build (`make sanitize`;
`make test`, and so CI, runs it after the suite).

Builds build/sanitize/_native.so (tools/build_native.py --sanitize) and runs tests/copy/test_copy_native.py
and tests/copy/test_copy_fuzz.py (edge cases, the real data, the fuzz corpus, generated lines: C against the
Python reference) in a pytest process that loads that library (--native-lib, a test-session option) with the
sanitizer runtime preloaded. Any out-of-bounds read or write, use after free or undefined behaviour in
native.c ends the run with a report and a non-zero exit. Without a C compiler or a sanitizer runtime there is
nothing to check: it says so and exits 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.build_native import SANITIZE_LIBRARY, NoCompiler, build, find_compiler

TESTS = ["tests/copy/test_copy_native.py", "tests/copy/test_copy_fuzz.py"]


def sanitizer_runtime(cc: list[str]) -> str | None:
    """The shared AddressSanitizer runtime the compiler links against (to preload into Python), or None."""
    for name in ("libasan.so", f"libclang_rt.asan-{os.uname().machine}.so"):
        proc = subprocess.run([*cc, f"-print-file-name={name}"], capture_output=True, text=True, check=False)
        path = proc.stdout.strip()
        if proc.returncode == 0 and os.path.isabs(path) and os.path.exists(path):
            return path
    return None


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    try:
        cc = find_compiler()
    except NoCompiler as exc:
        print(f"sanitize_tests.py: skipped: {exc} (without a C compiler the toolkit has no C code to check)")
        return 0
    runtime = sanitizer_runtime(cc)
    if runtime is None:
        print(f"sanitize_tests.py: skipped: {' '.join(cc)} has no AddressSanitizer runtime (libasan)")
        return 0
    try:
        build("sanitize")
    except subprocess.CalledProcessError as exc:
        print(f"sanitize_tests.py: the sanitizer build failed:\n{exc.stderr or exc.stdout}", file=sys.stderr)
        return 1
    env = {**os.environ, "LD_PRELOAD": runtime,
           "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:print_summary=1",  # (Python's own allocations "leak")
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    # --capture=sys: a sanitizer report is written to file descriptor 2 just before the process ends, where
    # pytest's default (fd) capture would swallow it
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--capture=sys", "--native-lib",
           str(SANITIZE_LIBRARY), *TESTS, *extra]
    print(f"sanitize_tests.py: LD_PRELOAD={runtime} {' '.join(cmd[1:])}", flush=True)
    return subprocess.run(cmd, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
