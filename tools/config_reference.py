"""Write or check the reference generated from dwh.cfg's key table (sparkify/config/keys.py).

    python tools/config_reference.py --write   rewrite dwh.cfg.example and the key tables of docs/configuration.md
    python tools/config_reference.py --check   exit 1, naming the files, if either differs from the table

Run --write after adding or changing a key; the tests fail until the generated files agree with the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sparkify.config import reference  # after the project directory is on sys.path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="config_reference.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated files")
    mode.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = p.parse_args(argv)
    if args.write:
        changed = reference.write_files()
        print("\n".join(f"wrote {path}" for path in changed) or "up to date")
        return 0
    stale = reference.stale_files()
    for path in stale:
        print(f"config_reference.py: {path} is out of date: run python tools/config_reference.py --write",
              file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
