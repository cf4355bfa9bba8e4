"""A real browser for the HTML report's tests: headless Chromium (Debian's `chromium` package), driven by
Playwright without any download."""

from __future__ import annotations

import os
import shutil

# As root Chromium needs --no-sandbox; the rest keep it from calling Google's services on start, which this
# machine's closed network refuses (many connections at a time) and which no test wants.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions"]


def chromium_path() -> str | None:
    """SPARKIFY_CHROMIUM, else chromium / chromium-browser on PATH."""
    for candidate in (os.environ.get("SPARKIFY_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None
