"""Code the tests share: plain functions, classes and constants, imported by test modules and by the fixtures
(tests/fixtures/). Nothing here is a fixture, and nothing here imports a conftest or a test module.

The real udacity-dend files are read in place from ../shared/data/sparkify (SPARKIFY_REAL_DATA overrides it).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
REAL_DATA = Path(os.environ.get("SPARKIFY_REAL_DATA", PROJECT.parent / "shared" / "data" / "sparkify"))
